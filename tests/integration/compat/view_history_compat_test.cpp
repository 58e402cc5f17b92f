// Compatibility with the original rs_ingester: a deployment's -config (views with a view column, a
// filter, a full view and replacements that carry their own aliases) migrates a scripted Blueprint
// history through this project's migrator, and after every step the warehouse holds what the
// original's code would have made of it.
//
// `Original` below is a model of the original's code (backend/redshift_backend.go of
// twitchscience/rs_ingester: getCreationForm, CreateTable, ApplyOperations, buildCreateViewString,
// and Blueprint's schema for the view columns, which a drop_event empties). It gives the statements
// the original sent for each step; the Redshift dialect must send the same text, but for the two
// differences docs/migrating.md lists (each statement sent on its own; DROP VIEW IF EXISTS for the
// plain view too). On PostgreSQL (types translated) the resulting tables, columns and views are
// compared instead. Runs on PostgreSQL dressed as Redshift and on PostgreSQL.
#include <map>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ingestdb/migrator_lock.hpp"
#include "ingestdb/sqlite_ingest_db.hpp"
#include "migrator/migrator.hpp"
#include "objectstore/local_object_store.hpp"
#include "pg/connection.hpp"
#include "registry/blueprint_registry.hpp"
#include "support/fake_blueprint.hpp"
#include "support/fake_clock.hpp"
#include "support/redshift_shims.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"
#include "warehouse/batch_files.hpp"
#include "warehouse/factory.hpp"
#include "warehouse/postgres_warehouse.hpp"
#include "warehouse/redshift_warehouse.hpp"

namespace rsi {
namespace {

using namespace std::chrono_literals;
using core::Action;
using core::Operation;

// A deployment's config file, as the original read it.
constexpr std::string_view k_config = R"json({
  "url": "postgres://loader@cluster:5439/events",
  "physicalSchema": "logs",
  "viewSchema": "views",
  "viewColumn": "time",
  "viewFilter": "WHERE \"time\" > '2015-01-01'",
  "fullViewSchema": "fullviews",
  "fullViewReplacements": {"city": "NULL::varchar(64) AS city", "asn": "'redacted'::varchar(128) AS asn"}
})json";

const std::string k_table = "video_play";

std::string quote(std::string_view name) { return fmt::format("\"{}\"", name); }

// The original, as its code reads (see the file comment).
class Original {
public:
  explicit Original(warehouse::Layout layout) : m_layout(std::move(layout)) {}

  // The statements migrating to a version with `ops` would send, in order (the version check,
  // the timeout and the version row left out), given whether the table exists.
  std::vector<std::string> statements(const std::vector<Operation>& ops, bool table_exists) {
    apply_to_blueprint_schema(ops);
    std::vector<std::string> out;
    if (!table_exists) {
      if (std::any_of(ops.begin(), ops.end(),
                      [](const Operation& op) { return op.action == Action::drop_event; })) {
        return out; // buildNewTable: a drop_event creates nothing.
      }
      std::vector<std::string> definitions;
      for (const auto& op : ops) {
        definitions.push_back(creation_form(op));
        m_table_columns.push_back(op.name);
      }
      out.push_back(fmt::format("CREATE TABLE {}.{}({});", quote(m_layout.physical_schema),
                                quote(k_table), fmt::join(definitions, ",")));
      append_views(out);
      return out;
    }
    out.push_back(
        fmt::format("DROP VIEW {}.{} CASCADE", quote(m_layout.view_schema), quote(k_table)));
    out.push_back(fmt::format("DROP VIEW IF EXISTS {}.{} CASCADE", quote(m_layout.full_view_schema),
                              quote(k_table)));
    const std::string table = fmt::format("{}.{}", quote(m_layout.physical_schema), quote(k_table));
    for (const auto& op : ops) {
      switch (op.action) {
      case Action::add:
        out.push_back(fmt::format("ALTER TABLE {} ADD COLUMN {}", table, creation_form(op)));
        m_table_columns.push_back(op.name);
        break;
      case Action::delete_column:
        out.push_back(fmt::format("ALTER TABLE {} DROP COLUMN {} CASCADE", table, quote(op.name)));
        std::erase(m_table_columns, op.name);
        break;
      case Action::rename:
        out.push_back(fmt::format("ALTER TABLE {} RENAME COLUMN {} TO {}", table, quote(op.name),
                                  quote(op.new_outbound)));
        std::replace(m_table_columns.begin(), m_table_columns.end(), op.name, op.new_outbound);
        break;
      default:
        break;
      }
    }
    append_views(out);
    return out;
  }

  // An operator dropped the table (and its views) by hand.
  void table_dropped() { m_table_columns.clear(); }

  // The warehouse table's columns, and with them the plain view's (SELECT *).
  [[nodiscard]] const std::vector<std::string>& table_columns() const { return m_table_columns; }
  // Whether Blueprint's columns after the last step (what the original built views from; a
  // drop_event empties them) include the view column.
  [[nodiscard]] bool has_view_column() const {
    return std::find(m_columns.begin(), m_columns.end(), m_layout.view_column) != m_columns.end();
  }
  // The full view's output columns: a replacement is named by the alias it carries.
  [[nodiscard]] std::vector<std::string> full_view_columns() const {
    std::vector<std::string> out;
    for (const auto& column : m_columns) {
      const auto replacement = m_layout.full_view_replacements.find(column);
      out.push_back(replacement == m_layout.full_view_replacements.end()
                        ? column
                        : replacement->second.substr(replacement->second.rfind(" AS ") + 4));
    }
    return out;
  }

private:
  // getCreationForm: the transformer map, then column_options when longer than one byte.
  static std::string creation_form(const Operation& op) {
    static const std::map<std::string, std::string> k_types{
        {"ipCity", "varchar(64)"},      {"ipCountry", "varchar(2)"}, {"ipRegion", "varchar(64)"},
        {"ipAsn", "varchar(128)"},      {"ipAsnInteger", "int"},     {"f@timestamp", "datetime"},
        {"userIDWithMapping", "bigint"}};
    std::string type = op.column_type;
    if (const auto mapped = k_types.find(type); mapped != k_types.end()) {
      type = mapped->second;
    } else if (type.starts_with("f@")) {
      if (const auto functional = k_types.find(type.substr(0, type.rfind('@')));
          functional != k_types.end()) {
        type = functional->second;
      }
    }
    return fmt::format("{} {}{}", quote(op.name), type,
                       op.column_options.size() > 1 ? op.column_options : "");
  }

  // Blueprint's ApplyOperation.
  void apply_to_blueprint_schema(const std::vector<Operation>& ops) {
    for (const auto& op : ops) {
      switch (op.action) {
      case Action::add:
        m_columns.push_back(op.name);
        break;
      case Action::delete_column:
        std::erase(m_columns, op.name);
        break;
      case Action::rename:
        std::replace(m_columns.begin(), m_columns.end(), op.name, op.new_outbound);
        break;
      case Action::drop_event:
        m_columns.clear();
        break;
      default:
        break;
      }
    }
  }

  // buildCreateViewString, its two statements apart.
  void append_views(std::vector<std::string>& out) const {
    const std::string table = fmt::format("{}.{}", quote(m_layout.physical_schema), quote(k_table));
    out.push_back(fmt::format("CREATE VIEW {}.{} AS SELECT * FROM {} {};",
                              quote(m_layout.view_schema), quote(k_table), table,
                              has_view_column() ? m_layout.view_filter : ""));
    if (!has_view_column()) {
      return;
    }
    std::vector<std::string> select;
    for (const auto& column : m_columns) {
      const auto replacement = m_layout.full_view_replacements.find(column);
      select.push_back(replacement == m_layout.full_view_replacements.end() ? quote(column)
                                                                            : replacement->second);
    }
    out.push_back(fmt::format("CREATE VIEW {}.{} AS SELECT {} FROM {}",
                              quote(m_layout.full_view_schema), quote(k_table),
                              fmt::join(select, ", "), table));
  }

  warehouse::Layout m_layout;
  std::vector<std::string> m_columns; // Blueprint's.
  std::vector<std::string> m_table_columns;
};

struct Backend {
  std::string name;
  bool redshift = false;

  friend void PrintTo(const Backend& backend, std::ostream* out) { *out << backend.name; }
};

class ViewHistoryCompat : public ::testing::TestWithParam<Backend> {
protected:
  void SetUp() override {
    const auto base = test::postgres_conninfo();
    RSI_REQUIRE_SERVICE(base.has_value(), "PostgreSQL (RSI_TEST_PG)");
    m_database.emplace(*base);
    m_admin.emplace(pg::Connection::connect(m_database->conninfo()).value());
    auto section = warehouse::parse_redshift_section(std::string(k_config));
    ASSERT_TRUE(section) << section.error().message;
    m_layout = section->layout;
    m_objects = objectstore::make_local_object_store({.root = m_dir.path("objects")})
                    .value(); // Never read here.
    if (GetParam().redshift) {
      ASSERT_TRUE(m_admin->exec_script(test::k_redshift_shims));
      auto made = warehouse::make_redshift_warehouse(
          {.conninfo = m_database->conninfo(),
           .layout = m_layout,
           .manifests = m_objects.get(),
           .manifest_bucket = "manifests",
           .credentials = http::make_static_credentials_provider(
               {.access_key_id = "AKIDEXAMPLE", .secret_access_key = "secret"})});
      ASSERT_TRUE(made) << made.error().message;
      m_warehouse = std::move(*made);
    } else {
      auto made = warehouse::make_postgres_warehouse(
          {.conninfo = m_database->conninfo(),
           .layout = m_layout,
           .files = warehouse::locate_in_bucket_folders(*m_objects)});
      ASSERT_TRUE(made) << made.error().message;
      m_warehouse = std::move(*made);
    }
    m_store = ingestdb::make_sqlite_ingest_db({.path = m_dir.path("ingester.db")}).value();
    m_lock = ingestdb::make_sqlite_migrator_lock({.path = m_dir.path("ingester.db")}).value();
    m_registry = registry::make_blueprint_registry({.host = m_blueprint.url()}).value();
    m_clock.set(std::chrono::sys_days{std::chrono::year{2026} / 12 / 6} +
                4h); // Off-peak (03:00 + 8 h).
    m_migrator = std::make_unique<migrator::Migrator>(
        *m_warehouse, *m_store, *m_registry, *m_lock, m_versions, m_clock, m_metrics,
        migrator::MigratorConfig{.wait_processor_period = 0s});
  }

  // Blueprint serves `ops` as version `version`; a file of that version arrives.
  void publish(int version, std::vector<Operation> ops) {
    for (std::size_t index = 0; index < ops.size(); ++index) {
      ops[index].version = version;
      ops[index].ordering = static_cast<int>(index);
    }
    m_blueprint.set_migration(k_table, version, ops);
    m_steps[version] = std::move(ops);
    const core::FilePointer file{.key_name = fmt::format("spade/{}/v{}/f.gz", k_table, version),
                                 .table = k_table,
                                 .version = version};
    ASSERT_EQ(m_store->record_file(file, m_clock.now()).value(), ingestdb::RecordOutcome::recorded);
  }

  // The files of `version` were loaded (what lets the migrator move past it).
  void drain(int version) {
    auto claimed = m_store->claim_batch({{k_table, version}},
                                        {.count_trigger = 0, .age_trigger = 0s}, m_clock.now());
    ASSERT_TRUE(claimed && claimed->batch) << "no file of v" << version;
    ASSERT_TRUE(m_store->complete_batch(claimed->batch->manifest, m_clock.now()).value());
  }

  // Polls the migrator until it took the table to `version`, checking first that the statements
  // it is about to run are the original's.
  void migrate_to(int version) {
    const bool table_exists = m_warehouse->table_exists(k_table).value();
    const auto expected = m_original.statements(m_steps.at(version), table_exists);
    const auto planned = m_warehouse->migration_statements(k_table, version, m_steps.at(version));
    ASSERT_TRUE(planned) << planned.error().message;
    if (GetParam().redshift) {
      std::vector<std::string> original = expected;
      for (auto& statement : original) {
        // The one deliberate difference: the plain view may be missing (made by hand, or by an
        // earlier release) without failing the migration.
        if (statement.starts_with("DROP VIEW \"views\"")) {
          statement.insert(std::string("DROP VIEW ").size(), "IF EXISTS ");
        }
      }
      EXPECT_EQ(*planned, original) << "v" << version;
    }
    for (int poll = 0; poll < 5 && cached_version() != version; ++poll) {
      auto report = m_migrator->poll_once(m_clock.now());
      ASSERT_TRUE(report) << report.error().message;
      for (const auto& step : report->steps) {
        ASSERT_FALSE(step.error) << "v" << version << ": " << step.error->message;
      }
      m_clock.advance(1s);
    }
    ASSERT_EQ(cached_version(), version);
    expect_state(version);
  }

  std::optional<int> cached_version() {
    const auto versions = m_versions.snapshot();
    const auto found = versions.find(k_table);
    return found == versions.end() ? std::nullopt : std::optional<int>(found->second);
  }

  std::vector<std::string> strings(const std::string& sql) {
    std::vector<std::string> out;
    auto rows = m_admin->exec(sql);
    EXPECT_TRUE(rows) << sql << ": " << rows.error().message;
    for (int row = 0; rows && row < rows->size(); ++row) {
      out.push_back(rows->text(row, 0));
    }
    return out;
  }

  std::vector<std::string> relation_columns(const std::string& schema) {
    return strings(fmt::format(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = '{}' AND "
        "table_name = '{}' ORDER BY ordinal_position",
        schema, k_table));
  }

  void expect_state(int version) {
    const std::string context = fmt::format("after v{}", version);
    EXPECT_EQ(relation_columns("logs"), m_original.table_columns()) << context;
    const auto view = strings(fmt::format(
        "SELECT definition FROM pg_views WHERE schemaname = 'views' AND viewname = '{}'", k_table));
    ASSERT_EQ(view.size(), 1U) << context << ": every table has its view";
    EXPECT_EQ(relation_columns("views"), m_original.table_columns()) << context;
    EXPECT_EQ(view[0].find("2015-01-01") != std::string::npos, m_original.has_view_column())
        << context << ": the filter applies exactly when the table has the view column\n"
        << view[0];
    if (m_original.has_view_column()) {
      EXPECT_EQ(relation_columns("fullviews"), m_original.full_view_columns()) << context;
    } else {
      EXPECT_TRUE(relation_columns("fullviews").empty())
          << context << ": no full view without the view column";
    }
  }

  test::TempDir m_dir;
  std::optional<test::PostgresDatabase> m_database;
  std::optional<pg::Connection> m_admin;
  warehouse::Layout m_layout;
  std::unique_ptr<objectstore::ObjectStore> m_objects;
  Original m_original{parse_layout()};
  std::unique_ptr<warehouse::Warehouse> m_warehouse;
  std::unique_ptr<ingestdb::IngestDb> m_store;
  std::unique_ptr<ingestdb::MigratorLock> m_lock;
  test::FakeBlueprint m_blueprint;
  std::unique_ptr<registry::SchemaRegistry> m_registry;
  test::FakeClock m_clock;
  telemetry::Metrics m_metrics{"ingester"};
  migrator::VersionCache m_versions;
  std::unique_ptr<migrator::Migrator> m_migrator;
  std::map<int, std::vector<Operation>> m_steps;

private:
  static warehouse::Layout parse_layout() {
    return warehouse::parse_redshift_section(std::string(k_config))->layout;
  }
};

Operation add(std::string name, std::string type, std::string options = "") {
  return test::add_step(std::move(name), std::move(type), std::move(options), 0, 0);
}

TEST_P(ViewHistoryCompat, AScriptedHistoryLeavesWhatTheOriginalWouldHave) {
  // v0: create with every transformer.
  publish(0, {add("time", "f@timestamp@unix"), add("user_id", "userIDWithMapping"),
              add("city", "ipCity"), add("country", "ipCountry"), add("region", "ipRegion"),
              add("asn", "ipAsn"), add("asn_id", "ipAsnInteger"), add("label", "varchar", "(32)"),
              add("n", "bigint")});
  migrate_to(0);
  drain(0);
  // v1: add; v2: delete.
  publish(1, {add("referrer", "varchar", "(128)"), add("score", "float")});
  migrate_to(1);
  drain(1);
  publish(2, {test::delete_step("n", 0, 0)});
  migrate_to(2);
  drain(2);
  // v3: the view column renamed away, and a rename to a reserved word; v4: back again.
  publish(3, {test::rename_step("time", "event_time", 0, 0),
              test::rename_step("label", "order", 0, 0)});
  migrate_to(3);
  drain(3);
  publish(4, {test::rename_step("event_time", "time", 0, 0)});
  migrate_to(4);
  drain(4);
  // v5: Blueprint asks for the drop; an operator drops the table; v6: drop_event; v7: re-created.
  publish(5, {test::event_step(Action::request_drop_event, "retired", 0, 0)});
  migrate_to(5);
  drain(5);
  publish(6, {test::event_step(Action::drop_event, "retired", 0, 0)});
  migrate_to(6);
  drain(6);
  ASSERT_TRUE(m_admin->exec("DROP TABLE logs.video_play CASCADE"));
  m_original.table_dropped();
  publish(7, {add("time", "f@timestamp@unix"), add("city", "ipCity"), add("viewers", "int")});
  migrate_to(7);
  drain(7);
  // v8 and v9 at once: files of both arrive before the migrator looks.
  publish(8, {add("platform", "varchar", "(16)")});
  publish(9, {test::rename_step("viewers", "viewer_count", 0, 0)});
  migrate_to(8);
  drain(8);
  migrate_to(9);
}

INSTANTIATE_TEST_SUITE_P(Warehouses, ViewHistoryCompat,
                         ::testing::Values(Backend{"redshift_on_postgres", true},
                                           Backend{"postgres", false}),
                         [](const ::testing::TestParamInfo<Backend>& param) {
                           return param.param.name;
                         });

} // namespace
} // namespace rsi
