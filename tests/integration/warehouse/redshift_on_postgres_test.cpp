// The Redshift backend against PostgreSQL, with the few Redshift names it uses stood in for
// (tests/support/redshift_shims.hpp). Everything but the COPY from S3 itself runs for real:
// bootstrap, versions, migrations with views, lock check, the ledger pre-check, the manifest
// object, transaction handling around a failing COPY, the system-table fallback, and how a failed
// COPY is pinned on a file and rejected rows are kept. COPY is played by test::FakeRedshiftCopy
// (tests/support/fake_redshift_copy.hpp) through RedshiftConfig::run_copy_for_test. The COPY's
// exact text is golden-tested in tests/unit/warehouse/redshift_sql_test.cpp.

#include "support/redshift_on_postgres.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/uuid.hpp"
#include "http/credentials.hpp"
#include "objectstore/local_object_store.hpp"
#include "pg/connection.hpp"
#include "support/fake_redshift_copy.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"
#include "warehouse/redshift_privileges.hpp"
#include "warehouse/redshift_warehouse.hpp"
#include "warehouse_fixture.hpp"

namespace rsi::warehouse::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view k_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::string_view k_load_failed =
    "Load into table 'pg_event' failed.  Check 'stl_load_errors' system table for details.";

using test::BadLine;
using test::CopyFailure;

struct Open {
  bool fallback = true;    // RedshiftConfig::system_table_fallback
  bool serverless = false; // RedshiftConfig::serverless
  bool fake_copy = true;   // COPY is played by the fake; false: sent to PostgreSQL, which fails.
};

class RedshiftOnPostgresTest : public test::RedshiftOnPostgresFixture {
protected:
  void SetUp() override {
    RedshiftOnPostgresFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) {
      return;
    }
    m_copy->insert_row = "INSERT INTO logs.pg_event (n, s) VALUES (1, left($1, 10))";
    open();
  }

  void open(Open how = {}) {
    m_copy->serverless = how.serverless;
    RedshiftConfig config{
        .conninfo = m_database->conninfo(),
        .layout = default_layout(),
        .manifests = m_manifests.get(),
        .manifest_bucket = "manifests",
        .credentials = http::make_static_credentials_provider(
            {.access_key_id = "AKIAIOSFODNN7EXAMPLE", .secret_access_key = std::string(k_secret)}),
        .system_table_fallback = how.fallback,
        .serverless = how.serverless};
    if (how.fake_copy) {
      config.run_copy_for_test = fake_copy();
    }
    auto warehouse = make_redshift_warehouse(config);
    ASSERT_TRUE(warehouse) << warehouse.error().message;
    m_warehouse = std::move(*warehouse);
  }

  std::unique_ptr<Warehouse> m_warehouse;
};

const std::vector<core::Operation> k_pg_event = {
    add_column("time", "f@timestamp@unix", "", 0), add_column("country", "ipCountry", "", 0),
    add_column("n", "bigint", "", 0), add_column("s", "varchar", "(10)", 0)};

TEST_F(RedshiftOnPostgresTest, BootstrapKeepsAnExistingDeploymentsTables) {
  ASSERT_TRUE(
      m_admin->exec("INSERT INTO infra.table_version (name, version) VALUES ('old_table', 4)"));

  open(); // A restart runs the bootstrap again.

  EXPECT_EQ(m_warehouse->table_versions().value(), (TableVersions{{"old_table", 4}}));
  EXPECT_NE(scalar("SELECT ts FROM infra.table_version WHERE name = 'old_table'"),
            "NULL"); // GETDATE() default.
}

// A user without the privileges the backend needs: start-up reads the catalog and the privilege
// functions before any DDL and fails once, listing the statements to run; once they have run,
// the backend starts without running DDL in infra (whose tables exist).
TEST_F(RedshiftOnPostgresTest, MissingPrivilegesAreReportedAtStartWithTheGrantsToRun) {
  const std::string role = test::unique_name("rsi_limited");
  const std::string grantee = fmt::format("\"{}\"", role); // As libpq quotes it.
  ASSERT_TRUE(m_admin->exec_script(fmt::format("CREATE ROLE {} LOGIN", role)));
  const std::string conninfo = m_database->conninfo() + " user=" + role;
  const auto open_as_role = [&] {
    return make_redshift_warehouse({.conninfo = conninfo,
                                    .layout = default_layout(),
                                    .manifests = m_manifests.get(),
                                    .manifest_bucket = "manifests",
                                    .iam_role = "default"});
  };
  const auto reports = [&] {
    auto conn = pg::Connection::connect(conninfo).value();
    return redshift::check_privileges(
               conn, SqlNames(
                         Dialect::redshift,
                         [&](std::string_view name) { return conn.quote_identifier(name); },
                         default_layout()))
        .value();
  };

  const auto refused = open_as_role();

  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::permanent);
  const std::vector<std::string> grants = {
      fmt::format("GRANT USAGE ON SCHEMA infra TO {};", grantee),
      fmt::format("GRANT SELECT, INSERT ON infra.table_version TO {};", grantee),
      fmt::format("GRANT SELECT, INSERT ON infra.load_manifest TO {};", grantee),
      fmt::format("GRANT SELECT, INSERT ON infra.rejected_row TO {};", grantee),
      fmt::format("GRANT USAGE, CREATE ON SCHEMA \"logs\" TO {};", grantee),
      fmt::format("GRANT USAGE, CREATE ON SCHEMA \"views\" TO {};", grantee),
      fmt::format("GRANT USAGE, CREATE ON SCHEMA \"fullviews\" TO {};", grantee)};
  EXPECT_EQ(refused.error().message,
            fmt::format("redshift warehouse: the user {} lacks what it needs; as an "
                        "administrator, run:\n  {}",
                        role, fmt::join(grants, "\n  ")));
  EXPECT_EQ(reports().advice, std::vector<std::string>{fmt::format(
                                  "ALTER USER {} SYSLOG ACCESS UNRESTRICTED;", grantee)});

  for (const std::string& grant : grants) { // As the operator would: the statements as printed.
    ASSERT_TRUE(m_admin->exec_script(grant)) << grant;
  }
  ASSERT_TRUE(m_admin->exec("INSERT INTO rsi_syslog_unrestricted VALUES ($1)", {role}));
  const auto started = open_as_role();

  ASSERT_TRUE(started) << started.error().message;
  EXPECT_TRUE(reports().grants.empty());
  EXPECT_TRUE(reports().advice.empty());
  const auto created = (*started)->apply_migration("by_role", 0, k_pg_event, 60000ms);
  EXPECT_TRUE(created) << created.error().message;
  EXPECT_EQ((*started)->table_versions().value().count("by_role"), 1U);
  ASSERT_TRUE(
      m_admin->exec_script(fmt::format("DROP OWNED BY {} CASCADE; DROP ROLE {}", role, role)));
}

TEST_F(RedshiftOnPostgresTest, MissingInfraTablesNeedCreateThereAndAreCreatedOnce) {
  const std::string role = test::unique_name("rsi_creator");
  ASSERT_TRUE(m_admin->exec_script(fmt::format(
      "DROP TABLE infra.rejected_row; CREATE ROLE {0} LOGIN; GRANT USAGE ON SCHEMA infra, logs, "
      "views, fullviews TO {0}; GRANT CREATE ON SCHEMA logs, views, fullviews TO {0}; GRANT "
      "SELECT, INSERT ON infra.table_version, infra.load_manifest TO {0}",
      role)));
  const std::string conninfo = m_database->conninfo() + " user=" + role;
  const RedshiftConfig config{.conninfo = conninfo,
                              .layout = default_layout(),
                              .manifests = m_manifests.get(),
                              .manifest_bucket = "manifests",
                              .iam_role = "default"};

  const auto refused = make_redshift_warehouse(config);

  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find(
                fmt::format("run:\n  GRANT CREATE ON SCHEMA infra TO \"{}\";", role)),
            std::string::npos)
      << refused.error().message;
  ASSERT_TRUE(m_admin->exec_script(fmt::format("GRANT CREATE ON SCHEMA infra TO {}", role)));
  const auto started = make_redshift_warehouse(config);
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_EQ(scalar("SELECT tableowner FROM pg_tables WHERE schemaname = 'infra' AND tablename = "
                   "'rejected_row'"),
            role);
  ASSERT_TRUE(
      m_admin->exec_script(fmt::format("DROP OWNED BY {} CASCADE; DROP ROLE {}", role, role)));
}

TEST_F(RedshiftOnPostgresTest, MigrationsRunWithViewsAndVersions) {
  const auto created = m_warehouse->apply_migration("pg_event", 0, k_pg_event, 600000ms);
  ASSERT_TRUE(created) << created.error().message;
  const std::vector<core::Operation> v1 = {
      delete_column("n", 1), add_column("city", "ipCity", "", 1), rename_column("s", "label", 1)};

  const auto altered = m_warehouse->apply_migration("pg_event", 1, v1, 10800000ms);

  ASSERT_TRUE(altered) << altered.error().message;
  EXPECT_EQ(m_warehouse->table_versions().value(), (TableVersions{{"pg_event", 1}}));
  EXPECT_EQ(scalar("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM "
                   "information_schema.columns "
                   "WHERE table_schema = 'views' AND table_name = 'pg_event'"),
            "time,country,label,city");
  EXPECT_EQ(scalar("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                   "'logs.pg_event'::regclass "
                   "AND attname = 'time'"),
            "datetime");
  EXPECT_EQ(
      scalar("SELECT count(*) FROM infra.table_version WHERE name = 'pg_event' AND ts IS NOT NULL"),
      "2");
  EXPECT_EQ(m_warehouse->increment_version("pg_event").error().kind, ErrorKind::conflict);
  EXPECT_EQ(m_warehouse->increment_version("gone").value(), 0);
}

// Redshift folds identifiers to lowercase (the shims rename what DDL creates in upper case, as
// Redshift would have named it): an event named in mixed case lives as one lowercase table, and
// every catalog lookup must find it under that name.
TEST_F(RedshiftOnPostgresTest, AMixedCaseTableLivesAsItsLowercaseName) {
  const auto columns = [&] {
    return scalar("SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE "
                  "attrelid = 'logs.myevent'::regclass AND attnum > 0 AND NOT attisdropped");
  };
  const std::vector<core::Operation> v0 = {add_column("time", "f@timestamp@unix", "", 0),
                                           add_column("userID", "bigint", "", 0)};
  ASSERT_TRUE(m_admin->exec("CREATE TEMP TABLE probe (x int)")); // Folding leaves others alone.

  const auto created = m_warehouse->apply_migration("MyEvent", 0, v0, 60000ms);

  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(columns(), "time,userid");
  // The table, its view and its full view.
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_class WHERE relname = 'myevent'"), "3");
  EXPECT_TRUE(m_warehouse->table_exists("MyEvent").value());
  EXPECT_TRUE(m_warehouse->table_exists("myevent").value()) << "the same table in Redshift";
  EXPECT_EQ(m_warehouse->table_versions().value(), (TableVersions{{"MyEvent", 0}}))
      << "the bookkeeping keeps the event's name, as the original did";

  // Add, rename, drop: each step finds the table (the bug: v1 issued CREATE TABLE again).
  const auto added =
      m_warehouse->apply_migration("MyEvent", 1, {{add_column("newCol", "int", "", 1)}}, 60000ms);
  ASSERT_TRUE(added) << added.error().message;
  EXPECT_EQ(columns(), "time,userid,newcol");
  const auto renamed =
      m_warehouse->apply_migration("MyEvent", 2, {{rename_column("newCol", "Label", 2)}}, 60000ms);
  ASSERT_TRUE(renamed) << renamed.error().message;
  EXPECT_EQ(columns(), "time,userid,label");
  const auto dropped =
      m_warehouse->apply_migration("MyEvent", 3, {{delete_column("userID", 3)}}, 60000ms);
  ASSERT_TRUE(dropped) << dropped.error().message;
  EXPECT_EQ(columns(), "time,label");
  EXPECT_EQ(scalar("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM "
                   "information_schema.columns WHERE table_schema = 'views' AND table_name = "
                   "'myevent'"),
            "time,label");
  EXPECT_EQ(m_warehouse->migration_statements("MyEvent", 4, {{add_column("x", "int", "", 4)}})
                .value()
                .at(2),
            R"(ALTER TABLE "logs"."myevent" ADD COLUMN "x" int)");

  // A lock on the table is seen under either spelling.
  auto other = pg::Connection::connect(m_database->conninfo());
  ASSERT_TRUE(other) << other.error().message;
  ASSERT_TRUE(other->exec("BEGIN"));
  ASSERT_TRUE(other->exec("LOCK TABLE logs.MyEvent IN ACCESS SHARE MODE")); // Unquoted: folded.
  EXPECT_TRUE(m_warehouse->table_locked("MyEvent").value());
  ASSERT_TRUE(other->exec("COMMIT"));

  // Loads go into the folded table; the ledger keeps the event's name.
  m_copy->insert_row = "INSERT INTO logs.myevent (label) VALUES (length($1))";
  const LoadRequest request{.manifest = new_uuid(),
                            .table = "MyEvent",
                            .version = 3,
                            .files = {core::ObjectLocation{"spade", "m/1.gz"}}};
  const auto loaded = m_warehouse->load_batch(request);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_NE(m_copy->copies.back().statement.find(R"(COPY "logs"."myevent" FROM )"),
            std::string::npos);
  EXPECT_EQ(scalar("SELECT table_name FROM infra.load_manifest"), "MyEvent");
  EXPECT_EQ(m_warehouse->check_load(request.manifest).value(), core::LoadStatus::complete);

  // Retiring the event needs the table gone; once an operator dropped it, the event can be
  // retired, and later created again from its add steps.
  EXPECT_EQ(m_warehouse->increment_version("MyEvent").error().kind, ErrorKind::conflict);
  ASSERT_TRUE(m_admin->exec("DROP TABLE logs.MyEvent CASCADE"));
  EXPECT_FALSE(m_warehouse->table_exists("MyEvent").value());
  EXPECT_EQ(m_warehouse->increment_version("MyEvent").value(), 4);
  const auto recreated = m_warehouse->apply_migration(
      "MyEvent", 5,
      {{add_column("time", "f@timestamp@unix", "", 5), add_column("Ok", "int", "", 5)}}, 60000ms);
  ASSERT_TRUE(recreated) << recreated.error().message;
  EXPECT_EQ(columns(), "time,ok");
  EXPECT_EQ(m_warehouse->table_versions().value(), (TableVersions{{"MyEvent", 5}}));
}

TEST_F(RedshiftOnPostgresTest, TwoEventsThatFoldAlikeAreRefusedBeforeAnyDdl) {
  ASSERT_TRUE(m_warehouse->apply_migration("MyEvent", 0, k_pg_event, 60000ms));
  const std::vector<core::Operation> v0 = {add_column("other", "int", "", 0)};

  const auto clash = m_warehouse->apply_migration("myevent", 0, v0, 60000ms);
  const auto retire = m_warehouse->increment_version("MYEVENT");

  for (const auto* error : {&clash.error(), &retire.error()}) {
    EXPECT_EQ(error->kind, ErrorKind::permanent);
    EXPECT_NE(error->message.find("\"MyEvent\""), std::string::npos) << error->message;
    EXPECT_NE(error->message.find("logs.myevent"), std::string::npos) << error->message;
  }
  EXPECT_EQ(m_warehouse->table_versions().value(), (TableVersions{{"MyEvent", 0}}));
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_attribute WHERE attrelid = 'logs.myevent'::regclass "
                   "AND attname = 'other'"),
            "0");
}

// The key columns come from PG_TABLE_DEF (entered here: PostgreSQL has no such keys), read in the
// migration's transaction with the physical schema on the search path; a step that breaks a
// key rule fails permanent before any DDL, and the table and its version stay as they were.
TEST_F(RedshiftOnPostgresTest, KeyColumnRulesRefuseTheStepBeforeAnyDdl) {
  ASSERT_TRUE(m_warehouse->apply_migration("pg_event", 0, k_pg_event, 60000ms));
  ASSERT_TRUE(m_admin->exec("INSERT INTO pg_table_def (schemaname, tablename, \"column\", "
                            "distkey, sortkey) VALUES ('logs', 'pg_event', 'n', true, 0), "
                            "('logs', 'pg_event', 'time', false, 1), "
                            "('logs', 'other', 'country', true, 0)"));
  const auto columns = [&] {
    return scalar("SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE "
                  "attrelid = 'logs.pg_event'::regclass AND attnum > 0 AND NOT attisdropped");
  };

  const auto drop_distkey = m_warehouse->apply_migration(
      "pg_event", 1, {{add_column("x", "int", "", 1), delete_column("n", 1)}}, 60000ms);
  const auto drop_sortkey =
      m_warehouse->migration_statements("pg_event", 1, {{delete_column("time", 1)}});
  const auto add_sortkey = m_warehouse->apply_migration(
      "pg_event", 1, {{add_column("y", "int", " sortkey", 1)}}, 60000ms);

  ASSERT_FALSE(drop_distkey);
  EXPECT_EQ(drop_distkey.error().kind, ErrorKind::permanent);
  EXPECT_NE(drop_distkey.error().message.find(
                "delete \"n\": the column is the table's distribution key (distkey)"),
            std::string::npos)
      << drop_distkey.error().message;
  ASSERT_FALSE(drop_sortkey);
  EXPECT_NE(drop_sortkey.error().message.find("delete \"time\": the column is one of the "
                                              "table's sort key columns (sortkey)"),
            std::string::npos)
      << drop_sortkey.error().message;
  ASSERT_FALSE(add_sortkey);
  EXPECT_NE(add_sortkey.error().message.find("add \"y\": sortkey: ADD COLUMN cannot add"),
            std::string::npos)
      << add_sortkey.error().message;
  EXPECT_EQ(columns(), "time,country,n,s");
  EXPECT_EQ(m_warehouse->table_versions().value(), (TableVersions{{"pg_event", 0}}));
  // Another table's keys are not this one's.
  const auto dropped =
      m_warehouse->apply_migration("pg_event", 1, {{delete_column("country", 1)}}, 60000ms);
  ASSERT_TRUE(dropped) << dropped.error().message;
  EXPECT_EQ(columns(), "time,n,s");
}

TEST_F(RedshiftOnPostgresTest, TableLockedSeesAnotherSessionsLock) {
  ASSERT_TRUE(m_warehouse->apply_migration("pg_event", 0, k_pg_event, 60000ms));
  EXPECT_FALSE(m_warehouse->table_locked("pg_event").value());
  auto connected = pg::Connection::connect(m_database->conninfo());
  ASSERT_TRUE(connected) << connected.error().message;
  pg::Connection& other = *connected;
  ASSERT_TRUE(other.exec("BEGIN"));
  ASSERT_TRUE(other.exec("LOCK TABLE logs.pg_event IN ACCESS SHARE MODE"));

  EXPECT_TRUE(m_warehouse->table_locked("pg_event").value());
  ASSERT_TRUE(other.exec("COMMIT"));
  EXPECT_FALSE(m_warehouse->table_locked("pg_event").value());
}

TEST_F(RedshiftOnPostgresTest, LoadWritesTheManifestAndAFailedCopyLeavesNoLedgerRowNorSecret) {
  open({.fake_copy = false});
  ASSERT_TRUE(m_warehouse->apply_migration("pg_event", 0, k_pg_event, 60000ms));
  const LoadRequest batch{
      .manifest = new_uuid(),
      .table = "pg_event",
      .version = 0,
      .files = {core::ObjectLocation{"spade", "a/1.gz"}, core::ObjectLocation{"spade", "a/2.gz"}}};

  const auto loaded = m_warehouse->load_batch(batch);

  // PostgreSQL cannot run Redshift's COPY FROM S3: the statement fails, permanently, and a syntax
  // error is not about the data.
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::permanent);
  EXPECT_FALSE(loaded.error().data);
  EXPECT_NE(loaded.error().message.find("load " + batch.manifest + " into pg_event"),
            std::string::npos)
      << loaded.error().message;
  EXPECT_EQ(loaded.error().message.find(k_secret), std::string::npos);
  EXPECT_EQ(
      objectstore::get_string(*m_manifests, batch.manifest + ".json").value(),
      R"({"entries":[{"url":"s3://spade/a/1.gz","mandatory":true},{"url":"s3://spade/a/2.gz","mandatory":true}]})");
  EXPECT_EQ(scalar("SELECT count(*) FROM infra.load_manifest"), "0");
  EXPECT_EQ(m_warehouse->check_load(batch.manifest).value(), core::LoadStatus::not_found);
}

TEST_F(RedshiftOnPostgresTest, AManifestInTheLedgerIsNotLoadedAgain) {
  ASSERT_TRUE(m_warehouse->apply_migration("pg_event", 0, k_pg_event, 60000ms));
  const std::string uuid = new_uuid();
  ASSERT_TRUE(m_admin->exec(
      "INSERT INTO infra.load_manifest VALUES ($1, 'pg_event', 0, 1, 10, now())", {uuid}));

  const auto loaded = m_warehouse->load_batch(
      {.manifest = uuid, .table = "pg_event", .files = {core::ObjectLocation{"spade", "a.gz"}}});

  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::conflict);
  EXPECT_FALSE(objectstore::get_string(*m_manifests, uuid + ".json").value().has_value());
  EXPECT_EQ(m_warehouse->check_load(uuid).value(), core::LoadStatus::complete);
}

TEST_F(RedshiftOnPostgresTest, AnotherVersionIsAConflictBeforeAnythingRuns) {
  ASSERT_TRUE(m_warehouse->apply_migration("pg_event", 0, k_pg_event, 60000ms));

  const auto loaded = m_warehouse->load_batch({.manifest = new_uuid(),
                                               .table = "pg_event",
                                               .version = 1,
                                               .files = {core::ObjectLocation{"spade", "a.gz"}}});

  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::conflict);
}

TEST_F(RedshiftOnPostgresTest, LoadsOfTheOriginalAreFoundInTheQueryLogs) {
  const std::string running = new_uuid();
  const std::string committed = new_uuid();
  const std::string aborted = new_uuid();
  const std::string never = new_uuid();
  const auto copy_text = [](const std::string& uuid) {
    return fmt::format(
        "COPY \"logs\".\"t\" FROM 's3://manifests/{}.json' WITH CREDENTIALS '' removequotes ...",
        uuid);
  };
  ASSERT_TRUE(
      m_admin->exec("INSERT INTO stv_recents VALUES ($1, 'Running')", {copy_text(running)}));
  ASSERT_TRUE(m_admin->exec("INSERT INTO stl_query VALUES (7, $1, 0), (8, $2, 1)",
                            {copy_text(committed), copy_text(aborted)}));
  ASSERT_TRUE(m_admin->exec("INSERT INTO stl_utilitytext VALUES (7, 'COMMIT'), (8, 'ROLLBACK')"));

  EXPECT_EQ(m_warehouse->check_load(running).value(), core::LoadStatus::in_progress);
  EXPECT_EQ(m_warehouse->check_load(committed).value(), core::LoadStatus::complete);
  EXPECT_EQ(m_warehouse->check_load(aborted).value(), core::LoadStatus::failed);
  EXPECT_EQ(m_warehouse->check_load(never).value(), core::LoadStatus::not_found);
  open({.fallback = false});
  EXPECT_EQ(m_warehouse->check_load(committed).value(), core::LoadStatus::not_found);
}

// Three files of pg_event, version 0.
LoadRequest batch(std::uint32_t max_bad_rows = 0) {
  return {.manifest = new_uuid(),
          .table = "pg_event",
          .version = 0,
          .files = {core::ObjectLocation{"spade", "a/1.gz"},
                    core::ObjectLocation{"spade", "a/2.gz"},
                    core::ObjectLocation{"spade", "a/3.gz"}},
          .max_bad_rows = max_bad_rows};
}

const BadLine k_invalid_digit{.url = "s3://spade/a/2.gz",
                              .line = 17,
                              .column = "n",
                              .code = 1207,
                              .reason = "Invalid digit, Value 'x', Pos 0, Type: Long"};

TEST_F(RedshiftOnPostgresTest, AFailedCopyIsPinnedOnTheFileStlLoadErrorsNames) {
  ASSERT_TRUE(m_warehouse->apply_migration("pg_event", 0, k_pg_event, 60000ms));
  m_copy->bad = {k_invalid_digit};
  const LoadRequest request = batch();

  const auto loaded = m_warehouse->load_batch(request);

  ASSERT_FALSE(loaded);
  const LoadError& error = loaded.error();
  EXPECT_EQ(error.kind, ErrorKind::permanent);
  EXPECT_TRUE(error.data);
  ASSERT_TRUE(error.fault);
  EXPECT_EQ(error.fault->file, 1U);
  EXPECT_EQ(error.fault->kind, FileFaultKind::bad_value);
  EXPECT_EQ(error.fault->line, 17U);
  EXPECT_EQ(error.fault->column, 3U);
  EXPECT_EQ(error.message,
            fmt::format("load {} into pg_event: s3://spade/a/2.gz line 17 column 3 (\"n\"): "
                        "Invalid digit, Value 'x', Pos 0, Type: Long (Redshift load error 1207)",
                        request.manifest));
  EXPECT_EQ(m_copy->copies.back().statement.find("maxerror"), std::string::npos);
  EXPECT_EQ(scalar("SELECT count(*) FROM infra.load_manifest"), "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM logs.pg_event"), "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM infra.rejected_row"), "0");
}

TEST_F(RedshiftOnPostgresTest, ServerlessReadsSysLoadErrorDetail) {
  open({.fallback = false, .serverless = true});
  ASSERT_TRUE(m_admin->exec("DROP TABLE stl_load_errors")); // Serverless has no STL tables.
  ASSERT_TRUE(m_warehouse->apply_migration("pg_event", 0, k_pg_event, 60000ms));
  m_copy->bad = {{.url = "s3://spade/a/1.gz",
                  .line = 5,
                  .column = "s",
                  .code = 1220,
                  .reason = "String contains invalid or unsupported UTF8 codepoints. Bad UTF8 "
                            "hex sequence: a4 (error 3)"}};

  const auto loaded = m_warehouse->load_batch(batch());

  ASSERT_FALSE(loaded);
  EXPECT_TRUE(loaded.error().data);
  ASSERT_TRUE(loaded.error().fault) << loaded.error().message;
  EXPECT_EQ(loaded.error().fault->file, 0U);
  EXPECT_EQ(loaded.error().fault->kind, FileFaultKind::invalid_characters);
  EXPECT_EQ(loaded.error().fault->line, 5U);
  EXPECT_EQ(loaded.error().fault->column, 4U);
}

TEST_F(RedshiftOnPostgresTest, WithoutLoggedRowsRedshiftsWordsForBadDataLeaveTheFileToBisection) {
  ASSERT_TRUE(m_warehouse->apply_migration("pg_event", 0, k_pg_event, 60000ms));
  m_copy->failure = CopyFailure{.message = std::string(k_load_failed), .began_loading = true};

  const auto nothing_logged = m_warehouse->load_batch(batch());
  ASSERT_TRUE(m_admin->exec("DROP TABLE stl_load_errors"));
  const auto unreadable = m_warehouse->load_batch(batch());

  for (const auto& loaded : {nothing_logged, unreadable}) {
    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error().kind, ErrorKind::permanent);
    EXPECT_TRUE(loaded.error().data) << loaded.error().message;
    EXPECT_FALSE(loaded.error().fault);
    EXPECT_NE(loaded.error().message.find(k_load_failed), std::string::npos);
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM infra.load_manifest"), "0");
}

TEST_F(RedshiftOnPostgresTest, AFileNamedInTheMessageIsAtFault) {
  ASSERT_TRUE(m_warehouse->apply_migration("pg_event", 0, k_pg_event, 60000ms));
  m_copy->failure = CopyFailure{
      .message = "S3ServiceException:The specified key does not exist.,Status 404,Error "
                 "NoSuchKey,Rid 4442587FB7D0A2F9\n  context: s3://spade/a/3.gz"};

  const auto loaded = m_warehouse->load_batch(batch());

  ASSERT_FALSE(loaded);
  EXPECT_TRUE(loaded.error().data);
  ASSERT_TRUE(loaded.error().fault) << loaded.error().message;
  EXPECT_EQ(loaded.error().fault->file, 2U);
  EXPECT_EQ(loaded.error().fault->kind, FileFaultKind::missing_object);
}

TEST_F(RedshiftOnPostgresTest, APermissionFailureIsNotAboutTheDataNorBlamedOnAnEarlierCopy) {
  ASSERT_TRUE(m_warehouse->apply_migration("pg_event", 0, k_pg_event, 60000ms));
  m_copy->bad = {k_invalid_digit};
  const auto earlier = m_warehouse->load_batch(batch()); // Logs a row for a/2.gz.
  ASSERT_FALSE(earlier);
  ASSERT_TRUE(earlier.error().fault);
  // Fails before reading data, so pg_last_copy_id() is still the earlier COPY's.
  m_copy->failure =
      CopyFailure{.message = "permission denied for relation pg_event", .sqlstate = "42501"};

  const auto loaded = m_warehouse->load_batch(batch());

  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::permanent);
  EXPECT_FALSE(loaded.error().data) << loaded.error().message;
  EXPECT_FALSE(loaded.error().fault);
  EXPECT_NE(loaded.error().message.find("permission denied"), std::string::npos);
}

TEST_F(RedshiftOnPostgresTest, ATransientCopyFailureStaysTransient) {
  ASSERT_TRUE(m_warehouse->apply_migration("pg_event", 0, k_pg_event, 60000ms));
  m_copy->transient = true;

  const auto loaded = m_warehouse->load_batch(batch());

  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::transient);
  EXPECT_FALSE(loaded.error().data);
  m_copy->transient = false;
  EXPECT_TRUE(m_warehouse->load_batch(batch())) << "the next load reconnects";
}

TEST_F(RedshiftOnPostgresTest, RedshiftsPassingFailuresUnderXx000AreTransientNotTheData) {
  ASSERT_TRUE(m_warehouse->apply_migration("pg_event", 0, k_pg_event, 60000ms));
  // Error 1023 as Redshift reports it (SQLSTATE XX000, the code as the message), and S3
  // throttling the COPY: a retry gets past both, and neither is the files' fault.
  const std::vector<CopyFailure> passing = {
      {.message = "1023",
       .detail = "Serializable isolation violation on table - 156014, transactions forming the "
                 "cycle are: 1196, 1193 (pid:28045)"},
      {.message = "S3ServiceException:Please reduce your request rate.,Status 503,Error "
                  "SlowDown,Rid 5B2C8A2F0C1D3E4F,ExtRid Zm9vYmFy,CanRetry 1",
       .detail = "error:  S3ServiceException:Please reduce your request rate.,Status 503,Error "
                 "SlowDown\n  code:      8001\n  context:   s3://spade/a/2.gz",
       .began_loading = true}};
  for (const CopyFailure& failure : passing) {
    m_copy->failure = failure;

    const auto loaded = m_warehouse->load_batch(batch());

    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error().kind, ErrorKind::transient) << loaded.error().message;
    EXPECT_FALSE(loaded.error().data);
    EXPECT_FALSE(loaded.error().fault);
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM infra.load_manifest"), "0");
  m_copy->failure.reset();
  EXPECT_TRUE(m_warehouse->load_batch(batch())) << "the retry loads";
}

TEST_F(RedshiftOnPostgresTest, RowsRejectedUnderMaxBadRowsAreKeptWithTheBatch) {
  ASSERT_TRUE(m_warehouse->apply_migration("pg_event", 0, k_pg_event, 60000ms));
  m_copy->bad = {k_invalid_digit};
  const LoadRequest request = batch(2);

  const auto loaded = m_warehouse->load_batch(request);

  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_TRUE(m_copy->copies.back().statement.ends_with(" trimblanks maxerror 2;"));
  EXPECT_EQ(loaded->rows, 3U);
  EXPECT_EQ(loaded->rejected_rows, 1U);
  EXPECT_EQ(scalar("SELECT count(*) FROM logs.pg_event"), "3");
  EXPECT_EQ(scalar(fmt::format("SELECT row_count FROM infra.load_manifest WHERE uuid = '{}'",
                               request.manifest)),
            "3");
  const auto kept = m_admin->exec(
      "SELECT manifest_uuid, table_name, file_url, line_number, column_name, raw_line, reason, "
      "rejected_at IS NOT NULL FROM infra.rejected_row");
  ASSERT_TRUE(kept) << kept.error().message;
  ASSERT_EQ(kept->size(), 1);
  EXPECT_EQ(kept->text(0, 0), request.manifest);
  EXPECT_EQ(kept->text(0, 1), "pg_event");
  EXPECT_EQ(kept->text(0, 2), "s3://spade/a/2.gz");
  EXPECT_EQ(kept->text(0, 3), "17");
  EXPECT_EQ(kept->text(0, 4), "n");
  EXPECT_EQ(kept->text(0, 5), "2016-01-01 00:00:00\tUS\tline 17\tx");
  EXPECT_EQ(kept->text(0, 6), "Invalid digit, Value 'x', Pos 0, Type: Long");
  EXPECT_EQ(kept->text(0, 7), "t");
}

TEST_F(RedshiftOnPostgresTest, ServerlessKeepsRejectedRowsWithoutTheirText) {
  open({.fallback = false, .serverless = true});
  ASSERT_TRUE(m_warehouse->apply_migration("pg_event", 0, k_pg_event, 60000ms));
  m_copy->bad = {
      k_invalid_digit,
      {.url = "s3://spade/a/3.gz", .line = 2, .code = 1214, .reason = "Delimiter not found"}};

  const auto loaded = m_warehouse->load_batch(batch(5));

  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->rejected_rows, 2U);
  EXPECT_EQ(scalar("SELECT string_agg(file_url || ':' || line_number || ':' || "
                   "coalesce(column_name, '-') || ':' || coalesce(raw_line, 'NULL'), ',' "
                   "ORDER BY file_url) FROM infra.rejected_row"),
            "s3://spade/a/2.gz:17:n:NULL,s3://spade/a/3.gz:2:-:NULL");
}

TEST_F(RedshiftOnPostgresTest, MoreRejectedRowsThanAllowedBlameTheFileWithTheMost) {
  ASSERT_TRUE(m_warehouse->apply_migration("pg_event", 0, k_pg_event, 60000ms));
  m_copy->bad = {{.url = "s3://spade/a/1.gz", .line = 2, .column = "n", .code = 1207},
                 {.url = "s3://spade/a/3.gz", .line = 9, .column = "n", .code = 1207},
                 {.url = "s3://spade/a/3.gz", .line = 4, .column = "n", .code = 1207}};

  const auto loaded = m_warehouse->load_batch(batch(1));

  ASSERT_FALSE(loaded);
  EXPECT_TRUE(loaded.error().data);
  ASSERT_TRUE(loaded.error().fault) << loaded.error().message;
  EXPECT_EQ(loaded.error().fault->file, 2U);
  EXPECT_EQ(loaded.error().fault->kind, FileFaultKind::too_many_bad_rows);
  EXPECT_EQ(loaded.error().fault->line, 4U);
  EXPECT_EQ(scalar("SELECT count(*) FROM infra.rejected_row"), "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM infra.load_manifest"), "0");
}

} // namespace
} // namespace rsi::warehouse::testing
