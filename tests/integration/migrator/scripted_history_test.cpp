// Acceptance of the migrator (issue 7): a scripted history (create → add/rename/delete →
// request_drop_event → drop_event → re-create) from a fake Blueprint replaying recorded
// responses, or from the local schema directory, against SQLite and PostgreSQL warehouses.
// After each step: the table's columns and types, its views, and infra.table_version. Each
// alter meets files of the old version still pending: the migrator waits for them, requests a
// force load, and only then migrates; the loaders never load a file of the new version
// before the migration, leaves none of the old one behind, and loads each into its own schema.

#include <algorithm>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "history_fixture.hpp"
#include "ingestdb/postgres_ingest_db.hpp"
#include "ingestdb/sqlite_ingest_db.hpp"
#include "registry/blueprint_registry.hpp"
#include "registry/local_registry.hpp"
#include "support/testdata.hpp"

namespace rsi::migrator::testing {
namespace {

using namespace std::chrono_literals;
using Loaded = std::vector<std::pair<std::string, int>>;

constexpr auto k_table = "minute_watched";

class ScriptedHistory : public MigratorHistoryTest {
protected:
  // The catalog's name of each type, per warehouse.
  [[nodiscard]] std::string timestamp() const {
    return is_postgres() ? "timestamp without time zone" : "timestamp";
  }
  [[nodiscard]] std::string varchar(int width) const {
    return is_postgres() ? fmt::format("character varying({})", width)
                         : fmt::format("varchar({})", width);
  }
  [[nodiscard]] std::string integer() const { return is_postgres() ? "integer" : "INTEGER"; }
  [[nodiscard]] std::string bigint() const { return "bigint"; }

  // One alter to `version`, met by a late file of `version - 1` (`late_row`, in the old
  // schema) and a file of `version` (`new_row`): wait, drain with a force load, migrate, load.
  void alter_with_late_files(int version, const std::string& late_row, const std::string& new_row) {
    arrive(k_table, version - 1, fmt::format("late{}", version), late_row);
    arrive(k_table, version, fmt::format("first{}", version), new_row);

    EXPECT_EQ(poll(k_table), StepOutcome::waiting_processor);
    EXPECT_EQ(load_eligible(), Loaded{}); // Too young and too few to load; v(n) waits anyway.
    m_clock.advance(3min);
    EXPECT_EQ(poll(k_table), StepOutcome::waiting_drain);
    EXPECT_TRUE(m_store->force_load_requested(k_table).value());
    EXPECT_EQ(m_versions.get(k_table), version - 1);
    // The force load takes the late file, in the old schema; the new version's file stays.
    EXPECT_EQ(load_eligible(), (Loaded{{k_table, version - 1}}));
    EXPECT_FALSE(pending(k_table, version - 1));
    EXPECT_TRUE(pending(k_table, version));
    EXPECT_EQ(poll(k_table), StepOutcome::migrated);
    EXPECT_EQ(m_versions.get(k_table), version);
    m_clock.advance(31min); // Past loadAgeSeconds: the new file becomes eligible.
    EXPECT_EQ(load_eligible(), (Loaded{{k_table, version}}));
    EXPECT_FALSE(pending(k_table, version));
  }

  std::vector<Row> rows(const std::string& columns, int count) {
    return query(fmt::format("SELECT {} FROM {} ORDER BY time", columns, table_ref(k_table)),
                 count);
  }
};

std::optional<std::string> v(const char* text) { return std::string(text); }
const std::optional<std::string> k_null;

TEST_P(ScriptedHistory, EveryStepLeavesTheExpectedSchema) {
  // v0: created at once, whatever the hour.
  arrive(k_table, 0, "first0", "2026-11-27 03:00:00\tchan-a\tdevice-a\t1\tUS\n");
  ASSERT_EQ(poll(k_table), StepOutcome::migrated);
  EXPECT_EQ(columns(k_table), (Columns{{"time", timestamp()},
                                       {"channel", varchar(25)},
                                       {"device_id", varchar(32)},
                                       {"minutes_logged", integer()},
                                       {"country", varchar(2)}}));
  EXPECT_TRUE(has_view(k_table));
  EXPECT_TRUE(has_full_view(k_table)); // It has the view column "time".
  EXPECT_EQ(version_history(k_table), (std::vector<int>{0}));
  m_clock.advance(31min);
  ASSERT_EQ(load_eligible(), (Loaded{{k_table, 0}}));

  // v1 (recorded): delete device_id, add platform and bytes, rename channel → channel_name.
  ASSERT_NO_FATAL_FAILURE(
      alter_with_late_files(1, "2026-11-27 03:01:00\tchan-b\tdevice-b\t2\tDE\n",
                            "2026-11-27 03:02:00\tchan-c\t3\tFR\tios\t12345\n"));
  EXPECT_EQ(columns(k_table), (Columns{{"time", timestamp()},
                                       {"channel_name", varchar(25)},
                                       {"minutes_logged", integer()},
                                       {"country", varchar(2)},
                                       {"platform", varchar(16)},
                                       {"bytes", bigint()}}));
  EXPECT_TRUE(has_view(k_table));
  EXPECT_EQ(version_history(k_table), (std::vector<int>{0, 1}));
  EXPECT_EQ(rows("channel_name, minutes_logged, platform, bytes", 4),
            (std::vector<Row>{{v("chan-a"), v("1"), k_null, k_null},
                              {v("chan-b"), v("2"), k_null, k_null},
                              {v("chan-c"), v("3"), v("ios"), v("12345")}}));

  // v2 (scripted): delete bytes, add city, rename minutes_logged → minutes.
  ASSERT_NO_FATAL_FAILURE(
      alter_with_late_files(2, "2026-11-27 03:03:00\tchan-d\t4\tUS\tweb\t99\n",
                            "2026-11-27 03:04:00\tchan-e\t5\tUS\tweb\tBerlin\n"));
  EXPECT_EQ(columns(k_table), (Columns{{"time", timestamp()},
                                       {"channel_name", varchar(25)},
                                       {"minutes", integer()},
                                       {"country", varchar(2)},
                                       {"platform", varchar(16)},
                                       {"city", varchar(64)}}));
  EXPECT_EQ(version_history(k_table), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(query(fmt::format("SELECT channel_name, minutes, city FROM {} ORDER BY time",
                              view_ref(k_table)),
                  3),
            (std::vector<Row>{{v("chan-a"), v("1"), k_null},
                              {v("chan-b"), v("2"), k_null},
                              {v("chan-c"), v("3"), k_null},
                              {v("chan-d"), v("4"), k_null},
                              {v("chan-e"), v("5"), v("Berlin")}}));

  // v3 (scripted): request_drop_event changes no column.
  ASSERT_NO_FATAL_FAILURE(alter_with_late_files(3,
                                                "2026-11-27 03:05:00\tchan-f\t6\tUS\tweb\tParis\n",
                                                "2026-11-27 03:06:00\tchan-g\t7\tUS\tweb\tRome\n"));
  EXPECT_EQ(columns(k_table).size(), 6U);
  EXPECT_EQ(version_history(k_table), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(query("SELECT count(*) FROM " + table_ref(k_table), 1), (std::vector<Row>{{v("7")}}));

  // The operator deletes the table, as Blueprint's drop request asks; then the event is dropped
  // (v4) and created again (v5). Files of v5 walk the migrator through both.
  ASSERT_NO_FATAL_FAILURE(drop_by_hand(k_table));
  arrive(k_table, 5, "first5", "2026-11-27 07:00:00\tchan-h\t42\n");
  EXPECT_EQ(poll(k_table), StepOutcome::waiting_processor);
  m_clock.advance(3min);
  ASSERT_EQ(poll(k_table), StepOutcome::migrated);
  EXPECT_EQ(m_versions.get(k_table), 4);
  EXPECT_TRUE(columns(k_table).empty()); // A drop_event creates nothing.
  EXPECT_FALSE(has_view(k_table));
  EXPECT_EQ(version_history(k_table), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(load_eligible(), Loaded{});

  EXPECT_EQ(poll(k_table), StepOutcome::waiting_processor);
  m_clock.advance(3min);
  ASSERT_EQ(poll(k_table), StepOutcome::migrated);
  EXPECT_EQ(columns(k_table),
            (Columns{{"time", timestamp()}, {"channel", varchar(64)}, {"viewers", integer()}}));
  EXPECT_TRUE(has_view(k_table));
  EXPECT_TRUE(
      has_full_view(k_table)); // "time" again: the original's rule needs no replaced column.
  EXPECT_EQ(version_history(k_table), (std::vector<int>{0, 1, 2, 3, 4, 5}));
  m_clock.advance(31min);
  EXPECT_EQ(load_eligible(), (Loaded{{k_table, 5}}));
  EXPECT_EQ(rows("channel, viewers", 2), (std::vector<Row>{{v("chan-h"), v("42")}}));
  EXPECT_TRUE(m_store->pending_versions().value().empty());
  EXPECT_NE(m_metrics.prometheus_text().find(
                "rsi_migrations_total{table=\"minute_watched\",result=\"applied\"} 6"),
            std::string::npos);
}

TEST_P(ScriptedHistory, ARegistryThatFailsMidHistoryIsRetried) {
  arrive(k_table, 0, "first0", "2026-11-27 03:00:00\tchan-a\tdevice-a\t1\tUS\n");
  arrive("nosuch", 0, "first0", "x\n");

  const auto report = m_migrator->poll_once(m_clock.now());

  ASSERT_TRUE(report) << report.error().message;
  ASSERT_EQ(report->steps.size(), 2U);
  EXPECT_EQ(report->steps[0].table, k_table);
  EXPECT_EQ(report->steps[0].outcome, StepOutcome::migrated);
  EXPECT_EQ(report->steps[1].outcome, StepOutcome::failed);
  EXPECT_NE(report->steps[1].error->message.find("No migration for table 'nosuch' to v0"),
            std::string::npos)
      << report->steps[1].error->message;
  EXPECT_EQ(version_history("nosuch"), std::vector<int>{});
}

TEST_P(ScriptedHistory, ADryRunLogsTheSqlAndChangesNothing) {
  arrive(k_table, 0, "first0", "2026-11-27 03:00:00\tchan-a\tdevice-a\t1\tUS\n");
  ASSERT_EQ(poll(k_table), StepOutcome::migrated);
  arrive(k_table, 0, "late1", "2026-11-27 03:01:00\tchan-b\tdevice-b\t2\tDE\n");
  arrive(k_table, 1, "first1", "2026-11-27 03:02:00\tchan-c\t3\tFR\tios\t12345\n");
  const Columns before = columns(k_table);
  Migrator dry_run(*m_warehouse, *m_store, *m_registry, *m_lock, m_versions, m_clock, m_metrics,
                   {.dry_run = true});

  ::testing::internal::CaptureStderr();
  const auto report = dry_run.poll_once(m_clock.now());
  const std::string logged = ::testing::internal::GetCapturedStderr();

  ASSERT_TRUE(report) << report.error().message;
  ASSERT_EQ(report->steps.size(), 1U);
  EXPECT_EQ(report->steps[0].outcome, StepOutcome::planned);
  EXPECT_EQ(columns(k_table), before);
  EXPECT_EQ(version_history(k_table), (std::vector<int>{0}));
  EXPECT_FALSE(m_store->force_load_requested(k_table).value());
  const std::string alter =
      is_postgres() ? R"(ALTER TABLE "logs"."minute_watched" DROP COLUMN "device_id" CASCADE)"
                    : R"(ALTER TABLE "minute_watched" DROP COLUMN "device_id")";
  nlohmann::json sql;
  std::istringstream lines(logged);
  for (std::string line; std::getline(lines, line);) {
    const auto entry = nlohmann::json::parse(line, nullptr, false);
    if (!entry.is_discarded() && entry.value("msg", "") == "dry run: migration not applied") {
      sql = entry.at("sql");
    }
  }
  ASSERT_TRUE(sql.is_array()) << logged;
  EXPECT_NE(std::find(sql.begin(), sql.end(), alter), sql.end()) << sql.dump();
  // What a dry run renders against a warehouse that moved on is a lost race, as applying is.
  const auto stale = m_warehouse->migration_statements(k_table, 3, std::vector<core::Operation>{});
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().kind, ErrorKind::conflict);
}

TEST_P(ScriptedHistory, ASecondProcessTakesOverWhenTheMigratorDies) {
  arrive(k_table, 0, "first0", "2026-11-27 03:00:00\tchan-a\tdevice-a\t1\tUS\n");
  ASSERT_EQ(poll(k_table), StepOutcome::migrated);
  auto second_lock =
      is_postgres()
          ? ingestdb::make_postgres_migrator_lock({.conninfo = m_ingester_schema->conninfo()})
          : ingestdb::make_sqlite_migrator_lock({.path = m_dir.path("ingester.db")});
  ASSERT_TRUE(second_lock) << second_lock.error().message;
  VersionCache second_versions;
  Migrator second(*m_loader_warehouse, *m_store, *m_registry, **second_lock, second_versions,
                  m_clock, m_metrics, {});
  arrive(k_table, 1, "first1", "2026-11-27 03:02:00\tchan-c\t3\tFR\tios\t12345\n");

  const auto standby = second.poll_once(m_clock.now());
  m_migrator.reset();
  m_lock.reset(); // The holder goes (migrator_lock_test SIGKILLs a real one).
  const auto took_over = second.poll_once(m_clock.now());

  ASSERT_TRUE(standby) << standby.error().message;
  EXPECT_FALSE(standby->holds_lock);
  EXPECT_TRUE(standby->steps.empty());
  EXPECT_EQ(second_versions.get(k_table), 0); // Its loaders know the table all the same.
  ASSERT_TRUE(took_over) << took_over.error().message;
  EXPECT_TRUE(took_over->holds_lock);
  ASSERT_EQ(took_over->steps.size(), 1U);
  EXPECT_EQ(took_over->steps[0].outcome, StepOutcome::waiting_processor);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, ScriptedHistory,
    ::testing::Values(HistoryParam{"sqlite_blueprint", false, RegistryKind::blueprint},
                      HistoryParam{"sqlite_local", false, RegistryKind::local},
                      HistoryParam{"postgres_blueprint", true, RegistryKind::blueprint},
                      HistoryParam{"postgres_local", true, RegistryKind::local}),
    param_name);

// Both registries describe the scripted history with exactly the same steps.
TEST(ScriptedHistoryRegistries, TheLocalDirectoryDerivesBlueprintsSteps) {
  RSI_REQUIRE_TESTDATA(recordings, test::spec_file("blueprint"));
  test::TempDir dir;
  test::FakeBlueprint blueprint;
  script_blueprint(blueprint, recordings);
  write_local_schemas(dir.path("schemas"), recordings);
  auto remote = registry::make_blueprint_registry({.host = blueprint.url()}).value();
  auto local = registry::make_local_registry({.root = dir.path("schemas")}).value();

  for (int version = 0; version <= 5; ++version) {
    const auto from_blueprint = remote->migration(k_table, version);
    const auto from_files = local->migration(k_table, version);

    ASSERT_TRUE(from_blueprint) << from_blueprint.error().message;
    ASSERT_TRUE(from_files) << from_files.error().message;
    EXPECT_EQ(core::encode_migration(*from_files), core::encode_migration(*from_blueprint))
        << "v" << version;
  }
}

} // namespace
} // namespace rsi::migrator::testing
