// The Redshift backend against PostgreSQL, with the few Redshift names it uses stood in for
// (GETDATE(), the datetime type, pg_last_copy_count(), SVV_TRANSACTIONS, and the query-log
// tables STV_RECENTS, STL_QUERY, STL_UTILITYTEXT). Everything but the COPY from S3 itself runs
// for real: bootstrap, versions, migrations with views, lock check, the ledger pre-check, the
// manifest object, transaction handling around a failing COPY, and the system-table fallback.
// The COPY's exact text is golden-tested in tests/unit/warehouse/redshift_sql_test.cpp.

#include <chrono>

#include <fmt/format.h>

#include "common/uuid.hpp"
#include "http/credentials.hpp"
#include "objectstore/local_object_store.hpp"
#include "pg/connection.hpp"
#include "support/redshift_shims.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"
#include "warehouse/redshift_warehouse.hpp"
#include "warehouse_fixture.hpp"

namespace rsi::warehouse::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view k_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

class RedshiftOnPostgresTest : public ::testing::Test {
protected:
  void SetUp() override {
    const auto base = test::postgres_conninfo();
    RSI_REQUIRE_SERVICE(base.has_value(), "PostgreSQL (RSI_TEST_PG)");
    m_database.emplace(*base);
    m_admin.emplace(pg::Connection::connect(m_database->conninfo()).value());
    ASSERT_TRUE(m_admin->exec_script(test::k_redshift_shims));
    m_manifests = objectstore::make_local_object_store({.root = m_dir.path("manifests")}).value();
    open(true);
  }

  void open(bool fallback) {
    auto warehouse = make_redshift_warehouse(
        {.conninfo = m_database->conninfo(),
         .layout = default_layout(),
         .manifests = m_manifests.get(),
         .manifest_bucket = "manifests",
         .credentials = http::make_static_credentials_provider(
             {.access_key_id = "AKIAIOSFODNN7EXAMPLE", .secret_access_key = std::string(k_secret)}),
         .system_table_fallback = fallback});
    ASSERT_TRUE(warehouse) << warehouse.error().message;
    m_warehouse = std::move(*warehouse);
  }

  std::string scalar(const std::string& sql) {
    const auto rows = m_admin->exec(sql);
    EXPECT_TRUE(rows) << rows.error().message;
    return rows && !rows->empty() && !rows->is_null(0, 0) ? rows->text(0, 0) : "NULL";
  }

  test::TempDir m_dir;
  std::optional<test::PostgresDatabase> m_database;
  std::optional<pg::Connection> m_admin;
  std::unique_ptr<objectstore::ObjectStore> m_manifests;
  std::unique_ptr<Warehouse> m_warehouse;
};

const std::vector<core::Operation> k_pg_event = {
    add_column("time", "f@timestamp@unix", "", 0), add_column("country", "ipCountry", "", 0),
    add_column("n", "bigint", "", 0), add_column("s", "varchar", "(10)", 0)};

TEST_F(RedshiftOnPostgresTest, BootstrapKeepsAnExistingDeploymentsTables) {
  ASSERT_TRUE(
      m_admin->exec("INSERT INTO infra.table_version (name, version) VALUES ('old_table', 4)"));

  open(true); // A restart runs the bootstrap again.

  EXPECT_EQ(m_warehouse->table_versions().value(), (TableVersions{{"old_table", 4}}));
  EXPECT_NE(scalar("SELECT ts FROM infra.table_version WHERE name = 'old_table'"),
            "NULL"); // GETDATE() default.
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
  ASSERT_TRUE(m_warehouse->apply_migration("pg_event", 0, k_pg_event, 60000ms));
  const LoadRequest batch{
      .manifest = new_uuid(),
      .table = "pg_event",
      .version = 0,
      .files = {core::ObjectLocation{"spade", "a/1.gz"}, core::ObjectLocation{"spade", "a/2.gz"}}};

  const auto loaded = m_warehouse->load_batch(batch);

  // PostgreSQL cannot run Redshift's COPY FROM S3: the statement fails, permanently.
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::permanent);
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
  open(false);
  EXPECT_EQ(m_warehouse->check_load(committed).value(), core::LoadStatus::not_found);
}

} // namespace
} // namespace rsi::warehouse::testing
