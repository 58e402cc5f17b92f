#include "history_fixture.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/gzip.hpp"
#include "ingestdb/postgres_ingest_db.hpp"
#include "ingestdb/sqlite_ingest_db.hpp"
#include "objectstore/local_object_store.hpp"
#include "pg/connection.hpp"
#include "registry/blueprint_registry.hpp"
#include "registry/local_registry.hpp"
#include "sqlite/database.hpp"
#include "support/testdata.hpp"
#include "warehouse/batch_files.hpp"
#include "warehouse/postgres_warehouse.hpp"
#include "warehouse/sqlite_warehouse.hpp"

namespace rsi::migrator::testing {
namespace {

using namespace std::chrono_literals;

// 03:00 UTC: the default off-peak window (03:00 for 8 hours) has just opened.
const TimePoint k_start = std::chrono::sys_days{std::chrono::year{2026} / 11 / 27} + 3h;

warehouse::Layout layout() {
  return {.physical_schema = "logs",
          .view_schema = "views",
          .view_column = "time",
          .full_view_schema = "fullviews",
          .full_view_replacements = {{"country", "'--' AS country"}}};
}

std::string recorded_body(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  const std::string raw = contents.str();
  return raw.substr(raw.find("\r\n\r\n") + 4);
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

constexpr auto k_v2_columns = R"json([
  {"InboundName":"time","OutboundName":"time","Transformer":"f@timestamp@unix","ColumnCreationOptions":" sortkey"},
  {"InboundName":"channel","OutboundName":"channel_name","Transformer":"varchar","ColumnCreationOptions":"(25)"},
  {"InboundName":"minutes","OutboundName":"minutes","Transformer":"int"},
  {"InboundName":"ip","OutboundName":"country","Transformer":"ipCountry"},
  {"InboundName":"platform","OutboundName":"platform","Transformer":"varchar","ColumnCreationOptions":"(16)"},
  {"InboundName":"ip","OutboundName":"city","Transformer":"ipCity"}])json";

} // namespace

std::string param_name(const ::testing::TestParamInfo<HistoryParam>& param) {
  return param.param.name;
}

void script_blueprint(test::FakeBlueprint& blueprint, const std::filesystem::path& recordings) {
  blueprint.load_recordings(recordings);
  core::Operation city = test::add_step("city", "ipCity", "", 2, 1);
  city.inbound = "ip";
  blueprint.set_migration("minute_watched", 2,
                          {test::delete_step("bytes", 2, 0), city,
                           test::rename_step("minutes_logged", "minutes", 2, 2)});
  blueprint.set_migration("minute_watched", 3,
                          {test::event_step(core::Action::request_drop_event, "unused", 3, 0)});
  blueprint.set_migration("minute_watched", 4,
                          {test::event_step(core::Action::drop_event, "retired", 4, 0)});
  blueprint.set_migration("minute_watched", 5,
                          {test::add_step("time", "f@timestamp@unix", " sortkey", 5, 0),
                           test::add_step("channel", "varchar", "(64)", 5, 1),
                           test::add_step("viewers", "int", "", 5, 2)});
}

void write_local_schemas(const std::filesystem::path& root,
                         const std::filesystem::path& recordings) {
  const auto dir = root / "minute_watched";
  write_file(dir / "v0.json", recorded_body(recordings / "schema_minute_watched_version_0.http"));
  std::string v1 = recorded_body(recordings / "schema_minute_watched_version_1.http");
  v1.insert(v1.rfind('}'), R"(,"Renames":{"channel":"channel_name"})");
  write_file(dir / "v1.json", v1);
  write_file(
      dir / "v2.json",
      fmt::format(R"({{"Columns":{},"Renames":{{"minutes_logged":"minutes"}}}})", k_v2_columns));
  write_file(
      dir / "v3.json",
      fmt::format(R"({{"Columns":{},"DropRequested":true,"Reason":"unused"}})", k_v2_columns));
  write_file(dir / "v4.json", R"({"Dropped":true,"Reason":"retired"})");
  write_file(dir / "v5.json", R"json({"Columns":[
    {"OutboundName":"time","Transformer":"f@timestamp@unix","ColumnCreationOptions":" sortkey"},
    {"OutboundName":"channel","Transformer":"varchar","ColumnCreationOptions":"(64)"},
    {"OutboundName":"viewers","Transformer":"int"}]})json");
}

void MigratorHistoryTest::SetUp() {
  if (is_postgres()) {
    const auto base = test::postgres_conninfo();
    RSI_REQUIRE_SERVICE(base.has_value(), "PostgreSQL (RSI_TEST_PG)");
    m_ingester_schema.emplace(*base);
    m_warehouse_database.emplace(*base);
  }
  auto objects = objectstore::make_local_object_store({.root = m_dir.path("objects")});
  ASSERT_TRUE(objects) << objects.error().message;
  m_objects = std::move(*objects);
  for (auto* target : {&m_warehouse, &m_loader_warehouse}) {
    auto made = is_postgres() ? warehouse::make_postgres_warehouse(
                                    {.conninfo = m_warehouse_database->conninfo(),
                                     .layout = layout(),
                                     .files = warehouse::locate_in_bucket_folders(*m_objects)})
                              : warehouse::make_sqlite_warehouse(
                                    {.path = m_dir.path("warehouse.db"),
                                     .layout = layout(),
                                     .files = warehouse::locate_in_bucket_folders(*m_objects)});
    ASSERT_TRUE(made) << made.error().message;
    *target = std::move(*made);
  }
  auto store = is_postgres()
                   ? ingestdb::make_postgres_ingest_db({.conninfo = m_ingester_schema->conninfo()})
                   : ingestdb::make_sqlite_ingest_db({.path = m_dir.path("ingester.db")});
  ASSERT_TRUE(store) << store.error().message;
  m_store = std::move(*store);
  auto lock =
      is_postgres()
          ? ingestdb::make_postgres_migrator_lock({.conninfo = m_ingester_schema->conninfo()})
          : ingestdb::make_sqlite_migrator_lock({.path = m_dir.path("ingester.db")});
  ASSERT_TRUE(lock) << lock.error().message;
  m_lock = std::move(*lock);
  ASSERT_NO_FATAL_FAILURE(make_registry());
  m_clock.set(k_start);
  m_migrator = std::make_unique<Migrator>(*m_warehouse, *m_store, *m_registry, *m_lock, m_versions,
                                          m_clock, m_metrics, MigratorConfig{});
  m_loader = std::make_unique<loader::Loader>(
      *m_store, [this] { return m_versions.shared(); }, m_clock, m_metrics, loader::LoaderConfig{});
}

void MigratorHistoryTest::make_registry() {
  RSI_REQUIRE_TESTDATA(recordings, test::spec_file("blueprint"));
  if (GetParam().registry == RegistryKind::blueprint) {
    m_blueprint.emplace();
    script_blueprint(*m_blueprint, recordings);
    auto registry = registry::make_blueprint_registry({.host = m_blueprint->url()});
    ASSERT_TRUE(registry) << registry.error().message;
    m_registry = std::move(*registry);
    return;
  }
  write_local_schemas(m_dir.path("schemas"), recordings);
  auto registry = registry::make_local_registry({.root = m_dir.path("schemas")});
  ASSERT_TRUE(registry) << registry.error().message;
  m_registry = std::move(*registry);
}

void MigratorHistoryTest::arrive(const std::string& table, int version, const std::string& name,
                                 const std::string& tsv) {
  const std::string key = fmt::format("spade/{}/v{}/{}.gz", table, version, name);
  ASSERT_TRUE(m_objects->put(key, gzip(tsv).value()));
  const auto recorded =
      m_store->record_file({.key_name = key, .table = table, .version = version}, m_clock.now());
  ASSERT_TRUE(recorded) << recorded.error().message;
}

StepOutcome MigratorHistoryTest::poll(const std::string& table) {
  auto report = m_migrator->poll_once(m_clock.now());
  EXPECT_TRUE(report) << report.error().message;
  if (!report) {
    return StepOutcome::failed;
  }
  EXPECT_TRUE(report->holds_lock);
  for (const auto& step : report->steps) {
    if (step.table == table) {
      EXPECT_FALSE(step.error) << step.error->message;
      return step.outcome;
    }
  }
  return StepOutcome::failed;
}

std::vector<std::pair<std::string, int>> MigratorHistoryTest::load_eligible() {
  while (m_loader->work_once(*m_loader_warehouse, std::stop_token())) {
  }
  const std::string ledger = is_postgres() ? "infra.load_manifest" : "\"infra.load_manifest\"";
  std::vector<std::pair<std::string, int>> loaded;
  const std::string sql = fmt::format(
      "SELECT uuid, table_name, table_version FROM {} ORDER BY loaded_at, uuid", ledger);
  for (const auto& row : query(sql, 3)) {
    if (m_loaded_manifests.insert(row.at(0).value_or("")).second) {
      loaded.emplace_back(row.at(1).value_or(""), std::stoi(row.at(2).value_or("-1")));
    }
  }
  return loaded;
}

bool MigratorHistoryTest::pending(const std::string& table, int version) {
  return m_store->has_files(table, version).value();
}

std::vector<Row> MigratorHistoryTest::query(const std::string& sql, int column_count) {
  std::vector<Row> rows;
  if (is_postgres()) {
    auto conn = pg::Connection::connect(m_warehouse_database->conninfo());
    EXPECT_TRUE(conn) << conn.error().message;
    auto result = conn ? conn->exec(sql) : fail(conn.error());
    EXPECT_TRUE(result) << sql << ": " << result.error().message;
    for (int row = 0; result && row < result->size(); ++row) {
      Row values;
      for (int column = 0; column < column_count; ++column) {
        values.push_back(result->is_null(row, column) ? std::nullopt
                                                      : std::optional(result->text(row, column)));
      }
      rows.push_back(std::move(values));
    }
    return rows;
  }
  auto db = sqlite::Database::open(m_dir.path("warehouse.db"));
  EXPECT_TRUE(db) << db.error().message;
  auto statement = db->prepare(sql);
  EXPECT_TRUE(statement) << sql << ": " << statement.error().message;
  while (statement && statement->step().value_or(false)) {
    Row values;
    for (int column = 0; column < column_count; ++column) {
      values.push_back(statement->is_null(column)
                           ? std::nullopt
                           : std::optional(std::string(statement->text(column))));
    }
    rows.push_back(std::move(values));
  }
  return rows;
}

Columns MigratorHistoryTest::columns(const std::string& table) {
  const std::string sql =
      is_postgres()
          ? fmt::format(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = "
                "c.relnamespace "
                "WHERE n.nspname = 'logs' AND c.relname = '{}' AND a.attnum > 0 AND NOT "
                "a.attisdropped "
                "ORDER BY a.attnum",
                table)
          : fmt::format("SELECT name, type FROM pragma_table_info('{}')", table);
  Columns out;
  for (const auto& row : query(sql, 2)) {
    out.emplace_back(row.at(0).value_or(""), row.at(1).value_or(""));
  }
  return out;
}

std::string MigratorHistoryTest::table_ref(const std::string& table) const {
  return is_postgres() ? fmt::format("\"logs\".\"{}\"", table) : fmt::format("\"{}\"", table);
}

std::string MigratorHistoryTest::view_ref(const std::string& table) const {
  return is_postgres() ? fmt::format("\"views\".\"{}\"", table)
                       : fmt::format("\"views.{}\"", table);
}

bool MigratorHistoryTest::has_view(const std::string& table) {
  const std::string sql =
      is_postgres()
          ? fmt::format("SELECT 1 FROM pg_views WHERE schemaname = 'views' AND viewname = '{}'",
                        table)
          : fmt::format("SELECT 1 FROM sqlite_master WHERE type = 'view' AND name = 'views.{}'",
                        table);
  return !query(sql, 1).empty();
}

bool MigratorHistoryTest::has_full_view(const std::string& table) {
  const std::string sql =
      is_postgres()
          ? fmt::format("SELECT 1 FROM pg_views WHERE schemaname = 'fullviews' AND viewname = '{}'",
                        table)
          : fmt::format("SELECT 1 FROM sqlite_master WHERE type = 'view' AND name = 'fullviews.{}'",
                        table);
  return !query(sql, 1).empty();
}

std::vector<int> MigratorHistoryTest::version_history(const std::string& table) {
  const std::string relation = is_postgres() ? "infra.table_version" : "\"infra.table_version\"";
  std::vector<int> versions;
  for (const auto& row :
       query(fmt::format("SELECT version FROM {} WHERE name = '{}' ORDER BY version", relation,
                         table),
             1)) {
    versions.push_back(std::stoi(row.at(0).value_or("-1")));
  }
  return versions;
}

void MigratorHistoryTest::drop_by_hand(const std::string& table) {
  const std::string script =
      is_postgres()
          ? fmt::format("DROP TABLE \"logs\".\"{}\" CASCADE", table)
          : fmt::format("DROP VIEW IF EXISTS \"views.{0}\"; DROP VIEW IF EXISTS \"fullviews.{0}\"; "
                        "DROP TABLE \"{0}\"",
                        table);
  if (is_postgres()) {
    auto conn = pg::Connection::connect(m_warehouse_database->conninfo());
    ASSERT_TRUE(conn) << conn.error().message;
    ASSERT_TRUE(conn->exec_script(script));
    return;
  }
  auto db = sqlite::Database::open(m_dir.path("warehouse.db"));
  ASSERT_TRUE(db) << db.error().message;
  ASSERT_TRUE(db->exec_script(script));
}

} // namespace rsi::migrator::testing
