// The migrator's decisions, driven by a fake clock against the embedded backends (SQLite
// ingester database and warehouse), a scripted registry and a lock held on demand.

#include "migrator/migrator.hpp"

#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ingestdb/sqlite_ingest_db.hpp"
#include "migrator_fakes.hpp"
#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"
#include "telemetry/metrics.hpp"
#include "warehouse/sqlite_warehouse.hpp"

namespace rsi::migrator {
namespace {

using namespace std::chrono_literals;
using testing::FakeLock;
using testing::ScriptedRegistry;
using testing::ScriptedWarehouse;

// 04:00 UTC: inside the default off-peak window (03:00 for 8 hours).
const TimePoint k_offpeak = std::chrono::sys_days{std::chrono::year{2026} / 11 / 27} + 4h;
// 14:00 UTC: on-peak.
const TimePoint k_onpeak = std::chrono::sys_days{std::chrono::year{2026} / 11 / 27} + 14h;

core::Operation add(std::string name, std::string type, int version, int ordering) {
  return {.action = core::Action::add,
          .name = std::move(name),
          .version = version,
          .ordering = ordering,
          .inbound = "in",
          .column_type = std::move(type)};
}

class MigratorTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto real = warehouse::make_sqlite_warehouse(
        {.path = m_dir.path("warehouse.db"),
         .layout = {.physical_schema = "logs", .view_schema = "views"},
         .files = testing::no_files});
    ASSERT_TRUE(real) << real.error().message;
    m_real_warehouse = std::move(*real);
    m_warehouse = std::make_unique<ScriptedWarehouse>(*m_real_warehouse);
    auto store = ingestdb::make_sqlite_ingest_db({.path = m_dir.path("ingester.db")});
    ASSERT_TRUE(store) << store.error().message;
    m_store = std::move(*store);
    m_registry.set("t", 0, {add("time", "f@timestamp@unix", 0, 0), add("a", "int", 0, 1)});
    m_registry.set("t", 1, {add("b", "bigint", 1, 0)});
    m_registry.set("t", 2, {add("c", "varchar", 2, 0)});
    m_registry.set("u", 0, {add("x", "int", 0, 0)});
    m_clock.set(k_offpeak);
    rebuild();
  }

  void rebuild() {
    m_migrator = std::make_unique<Migrator>(*m_warehouse, *m_store, m_registry, m_lock, m_versions,
                                            m_clock, m_metrics, m_config);
  }

  void record(const std::string& table, int version, const std::string& key) {
    const auto recorded = m_store->record_file(
        {.key_name = "spade/" + key, .table = table, .version = version}, m_clock.now());
    ASSERT_TRUE(recorded) << recorded.error().message;
  }

  PollReport poll() {
    auto report = m_migrator->poll_once(m_clock.now());
    EXPECT_TRUE(report) << report.error().message;
    return report.value_or(PollReport{});
  }

  // The one step the poll took for `table`.
  StepOutcome poll_outcome(const std::string& table) {
    const PollReport report = poll();
    for (const auto& taken : report.steps) {
      if (taken.table == table) {
        return taken.outcome;
      }
    }
    ADD_FAILURE() << "no step for " << table;
    return StepOutcome::failed;
  }

  // What a loader does: claim with the cache's versions and complete each batch.
  void load_everything_loadable() {
    while (true) {
      auto claimed =
          m_store->claim_batch(m_versions.snapshot(), {.count_trigger = 0}, m_clock.now());
      ASSERT_TRUE(claimed) << claimed.error().message;
      if (!claimed->batch) {
        return;
      }
      EXPECT_EQ(claimed->batch->version, m_versions.get(claimed->batch->table));
      ASSERT_TRUE(m_store->complete_batch(claimed->batch->manifest, m_clock.now()));
    }
  }

  test::TempDir m_dir;
  std::unique_ptr<warehouse::Warehouse> m_real_warehouse;
  std::unique_ptr<ScriptedWarehouse> m_warehouse;
  std::unique_ptr<ingestdb::IngestDb> m_store;
  ScriptedRegistry m_registry;
  FakeLock m_lock;
  VersionCache m_versions;
  test::FakeClock m_clock;
  telemetry::Metrics m_metrics{"ingester"};
  MigratorConfig m_config;
  std::unique_ptr<Migrator> m_migrator;
};

TEST_F(MigratorTest, CreatesATableOnPeakWithoutWaiting) {
  m_clock.set(k_onpeak);
  record("t", 0, "t/v0/a.gz");

  const StepOutcome outcome = poll_outcome("t");

  EXPECT_EQ(outcome, StepOutcome::migrated);
  EXPECT_EQ(m_versions.get("t"), 0);
  EXPECT_EQ(m_real_warehouse->table_versions().value(), (warehouse::TableVersions{{"t", 0}}));
  EXPECT_EQ(m_warehouse->timeouts, (std::vector<std::chrono::milliseconds>{600'000ms}));
  EXPECT_NE(
      m_metrics.prometheus_text().find("rsi_migrations_total{table=\"t\",result=\"applied\"} 1"),
      std::string::npos)
      << m_metrics.prometheus_text();
}

TEST_F(MigratorTest, ATableWithoutVersionStartsAtZeroWhateverItsFilesSay) {
  record("t", 2, "t/v2/a.gz");

  const PollReport report = poll();

  ASSERT_EQ(report.steps.size(), 1U);
  EXPECT_EQ(report.steps[0].target_version, 0);
  EXPECT_EQ(report.steps[0].outcome, StepOutcome::migrated);
}

TEST_F(MigratorTest, AlterWaitsForTheProcessorThenDrainsTheOldVersionThenApplies) {
  record("t", 0, "t/v0/a.gz");
  ASSERT_EQ(poll_outcome("t"), StepOutcome::migrated);
  record("t", 0, "t/v0/b.gz"); // Still pending when version 1 arrives.
  record("t", 1, "t/v1/a.gz");

  const StepOutcome first_sight = poll_outcome("t");
  m_clock.advance(2min + 59s);
  const StepOutcome still_waiting = poll_outcome("t");
  m_clock.advance(1s);
  const StepOutcome draining = poll_outcome("t");
  const bool forced = m_store->force_load_requested("t").value();
  m_clock.advance(1min);
  const StepOutcome still_draining = poll_outcome("t");

  EXPECT_EQ(first_sight, StepOutcome::waiting_processor);
  EXPECT_EQ(still_waiting, StepOutcome::waiting_processor);
  EXPECT_EQ(draining, StepOutcome::waiting_drain);
  EXPECT_TRUE(forced);
  EXPECT_EQ(still_draining, StepOutcome::waiting_drain);
  EXPECT_EQ(m_versions.get("t"), 0);
  EXPECT_EQ(m_warehouse->applies, 1); // Only the create.

  load_everything_loadable(); // Loads v0 only: v1 waits for its schema.
  EXPECT_TRUE(m_store->has_files("t", 1).value());
  const StepOutcome applied = poll_outcome("t");

  EXPECT_EQ(applied, StepOutcome::migrated);
  EXPECT_EQ(m_versions.get("t"), 1);
  EXPECT_EQ(m_warehouse->timeouts.back(), 10'800'000ms);
  load_everything_loadable();
  EXPECT_FALSE(m_store->has_files("t", 1).value());
}

TEST_F(MigratorTest, OnPeakAnAlterNeedsAForceLoadAndNoLocks) {
  record("t", 0, "t/v0/a.gz");
  ASSERT_EQ(poll_outcome("t"), StepOutcome::migrated);
  load_everything_loadable();
  m_clock.set(k_onpeak);
  record("t", 1, "t/v1/a.gz");

  const StepOutcome without_force_load = poll_outcome("t");
  ASSERT_TRUE(m_store->request_force_load("t", "operator", m_clock.now()));
  m_warehouse->locked = true;
  const StepOutcome locked = poll_outcome("t");
  m_warehouse->locked = false;
  const StepOutcome admitted = poll_outcome("t");
  load_everything_loadable(); // The loader takes the force load: none is waiting any more.
  m_clock.advance(3min);
  const StepOutcome applied = poll_outcome("t");

  EXPECT_EQ(without_force_load, StepOutcome::waiting_offpeak);
  EXPECT_EQ(locked, StepOutcome::table_locked);
  EXPECT_EQ(admitted, StepOutcome::waiting_processor);
  EXPECT_EQ(applied, StepOutcome::migrated);
  EXPECT_EQ(m_warehouse->timeouts.back(), 600'000ms);
}

TEST_F(MigratorTest, OnPeakLocksThatAppearDuringTheWaitHoldTheAlterBack) {
  record("t", 0, "t/v0/a.gz");
  ASSERT_EQ(poll_outcome("t"), StepOutcome::migrated);
  m_clock.set(k_onpeak);
  record("t", 1, "t/v1/a.gz");
  ASSERT_TRUE(m_store->request_force_load("t", "operator", m_clock.now()));
  ASSERT_EQ(poll_outcome("t"), StepOutcome::waiting_processor);
  load_everything_loadable();
  m_clock.advance(3min);
  m_warehouse->locked = true;

  const StepOutcome locked = poll_outcome("t");

  EXPECT_EQ(locked, StepOutcome::table_locked);
  EXPECT_EQ(m_versions.get("t"), 0);
}

TEST_F(MigratorTest, ItsOwnDrainRequestDoesNotAdmitAnAlterOnPeak) {
  record("t", 0, "t/v0/a.gz");
  ASSERT_EQ(poll_outcome("t"), StepOutcome::migrated);
  record("t", 0, "t/v0/b.gz");
  record("t", 1, "t/v1/a.gz");
  ASSERT_EQ(poll_outcome("t"), StepOutcome::waiting_processor);
  m_clock.advance(3min);
  ASSERT_EQ(poll_outcome("t"), StepOutcome::waiting_drain); // Requested a force load itself.
  m_clock.set(k_onpeak);                                    // The window closed meanwhile.

  const StepOutcome own_request = poll_outcome("t");
  load_everything_loadable(); // A loader takes the migrator's force load,
  ASSERT_EQ(poll_outcome("t"), StepOutcome::waiting_offpeak); // which the next poll notices.
  ASSERT_TRUE(m_store->request_force_load("t", "operator", m_clock.now()));
  const StepOutcome operators_request = poll_outcome("t");

  EXPECT_EQ(own_request, StepOutcome::waiting_offpeak);
  EXPECT_EQ(operators_request, StepOutcome::migrated); // It had waited and drained already.
  EXPECT_EQ(m_warehouse->timeouts.back(), 600'000ms);
}

TEST_F(MigratorTest, AFailingTableIsCountedRetriedAndBlocksNoOther) {
  m_registry.set("t", 0, {add("time", "no_such_type", 0, 0)});
  record("t", 0, "t/v0/a.gz");
  record("u", 0, "u/v0/a.gz");

  const PollReport report = poll();

  ASSERT_EQ(report.steps.size(), 2U);
  EXPECT_EQ(report.steps[0].table, "t");
  EXPECT_EQ(report.steps[0].outcome, StepOutcome::failed);
  ASSERT_TRUE(report.steps[0].error.has_value());
  EXPECT_EQ(report.steps[0].error->kind, ErrorKind::permanent);
  EXPECT_EQ(report.steps[1].outcome, StepOutcome::migrated);
  EXPECT_FALSE(m_versions.get("t").has_value());
  EXPECT_NE(
      m_metrics.prometheus_text().find("rsi_migrations_total{table=\"t\",result=\"failed\"} 1"),
      std::string::npos);

  m_registry.set("t", 0, {add("time", "f@timestamp@unix", 0, 0)});
  EXPECT_EQ(poll_outcome("t"), StepOutcome::migrated);
}

TEST_F(MigratorTest, ARegistryOutageIsRetriedNextPoll) {
  record("t", 0, "t/v0/a.gz");
  m_registry.down = true;

  const PollReport down = poll();
  m_registry.down = false;
  const StepOutcome recovered = poll_outcome("t");

  ASSERT_EQ(down.steps.size(), 1U);
  EXPECT_EQ(down.steps[0].error->kind, ErrorKind::transient);
  EXPECT_EQ(recovered, StepOutcome::migrated);
}

TEST_F(MigratorTest, TheCacheMovesOnlyAfterACommit) {
  record("t", 0, "t/v0/a.gz");
  m_warehouse->apply_error = Error{ErrorKind::transient, "connection reset"};

  const StepOutcome failed = poll_outcome("t");

  EXPECT_EQ(failed, StepOutcome::failed);
  EXPECT_FALSE(m_versions.get("t").has_value());
  EXPECT_TRUE(m_real_warehouse->table_versions().value().empty());
}

TEST_F(MigratorTest, ALostRaceIsSettledByReReadingTheWarehouse) {
  record("t", 0, "t/v0/a.gz");
  m_warehouse->apply_error =
      Error{ErrorKind::conflict, "migration of t: the warehouse holds version 0"};
  ASSERT_EQ(poll_outcome("t"), StepOutcome::failed);
  // Meanwhile another process did create it.
  ASSERT_TRUE(m_real_warehouse->apply_migration(
      "t", 0, std::vector{add("time", "f@timestamp@unix", 0, 0)}, 1min));

  const PollReport report = poll();

  EXPECT_TRUE(report.steps.empty());
  EXPECT_EQ(m_versions.get("t"), 0);
}

TEST_F(MigratorTest, OnlyTheLockHolderMigratesButEveryoneRefreshesTheCache) {
  ASSERT_TRUE(m_real_warehouse->apply_migration("u", 0, std::vector{add("x", "int", 0, 0)}, 1min));
  record("t", 0, "t/v0/a.gz");
  m_lock.available = false;

  const PollReport standby = poll();

  EXPECT_FALSE(standby.holds_lock);
  EXPECT_TRUE(standby.steps.empty());
  EXPECT_EQ(m_versions.get("u"), 0);
  EXPECT_FALSE(m_versions.get("t").has_value());

  m_lock.available = true; // The holder died.
  const PollReport took_over = poll();

  EXPECT_TRUE(took_over.holds_lock);
  ASSERT_EQ(took_over.steps.size(), 1U);
  EXPECT_EQ(took_over.steps[0].outcome, StepOutcome::migrated);
}

TEST_F(MigratorTest, LosingTheLockRestartsTheWait) {
  record("t", 0, "t/v0/a.gz");
  ASSERT_EQ(poll_outcome("t"), StepOutcome::migrated);
  load_everything_loadable();
  record("t", 1, "t/v1/a.gz");
  ASSERT_EQ(poll_outcome("t"), StepOutcome::waiting_processor);
  m_lock.available = false;
  m_clock.advance(2min);
  ASSERT_TRUE(poll().steps.empty());
  m_lock.available = true;
  m_clock.advance(2min);

  const StepOutcome regained = poll_outcome("t");

  EXPECT_EQ(regained, StepOutcome::waiting_processor);
}

TEST_F(MigratorTest, AnUnreachableIngesterDatabaseFailsThePoll) {
  m_lock.unreachable = true;

  const auto report = m_migrator->poll_once(m_clock.now());

  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().kind, ErrorKind::transient);
  EXPECT_EQ(report.error().message, "migrator lock: connect: connection refused");
}

TEST_F(MigratorTest, IncrementVersionIsSerialisedWithMigrationsAndRaisesTheCache) {
  record("t", 0, "t/v0/a.gz");
  std::atomic<int> incremented{0};
  std::thread control([&] {
    for (int version = 0; version < 20; ++version) {
      if (m_migrator->increment_version("retired").value_or(-1) == version) {
        ++incremented;
      }
    }
  });
  for (int polls = 0; polls < 20; ++polls) {
    poll();
  }
  control.join();

  EXPECT_EQ(incremented, 20);
  EXPECT_EQ(m_versions.get("retired"), 19);
  EXPECT_EQ(m_versions.get("t"), 0);
  const auto existing = m_migrator->increment_version("t");
  ASSERT_FALSE(existing);
  EXPECT_EQ(existing.error().kind, ErrorKind::conflict);
}

TEST_F(MigratorTest, ADryRunLogsTheSqlOnceAndChangesNothing) {
  m_config.dry_run = true;
  rebuild();
  ASSERT_TRUE(m_real_warehouse->apply_migration(
      "t", 0, std::vector{add("time", "f@timestamp@unix", 0, 0)}, 1min));
  record("t", 0, "t/v0/old.gz");
  record("t", 1, "t/v1/a.gz");
  record("u", 0, "u/v0/a.gz");
  m_clock.set(k_onpeak);

  ::testing::internal::CaptureStderr();
  const PollReport first = poll();
  const PollReport second = poll();
  const std::string logged = ::testing::internal::GetCapturedStderr();

  ASSERT_EQ(first.steps.size(), 2U);
  EXPECT_EQ(first.steps[0].outcome, StepOutcome::planned);
  EXPECT_EQ(first.steps[1].outcome, StepOutcome::planned);
  EXPECT_EQ(second.steps.size(), 2U);
  EXPECT_EQ(m_lock.tries, 0);
  EXPECT_EQ(m_warehouse->applies, 0);
  EXPECT_FALSE(m_store->force_load_requested("t").value());
  EXPECT_EQ(m_real_warehouse->table_versions().value(), (warehouse::TableVersions{{"t", 0}}));
  EXPECT_FALSE(m_real_warehouse->table_exists("u").value());
  std::vector<nlohmann::json> plans;
  std::istringstream lines(logged);
  for (std::string line; std::getline(lines, line);) {
    const auto entry = nlohmann::json::parse(line, nullptr, false);
    if (!entry.is_discarded() && entry.value("msg", "") == "dry run: migration not applied") {
      plans.push_back(entry);
    }
  }
  ASSERT_EQ(plans.size(), 2U) << logged; // Once per step, not once per poll.
  EXPECT_EQ(plans[0]["table"], "t");
  EXPECT_EQ(plans[0]["version"], 1);
  EXPECT_EQ(plans[0]["allowed_now"], false);
  EXPECT_EQ(plans[0]["sql"], (nlohmann::json{"DROP VIEW IF EXISTS \"views.t\"",
                                             "ALTER TABLE \"t\" ADD COLUMN \"b\" bigint",
                                             "CREATE VIEW \"views.t\" AS SELECT * FROM \"t\" ;"}));
  EXPECT_EQ(plans[1]["table"], "u");
  EXPECT_EQ(plans[1]["allowed_now"], true);
}

TEST(MigratorConfigTest, RejectsImpossibleSettings) {
  EXPECT_TRUE(check_config({}));
  EXPECT_FALSE(check_config({.offpeak = {.start_hour = 24}}));
  EXPECT_FALSE(check_config({.offpeak = {.duration_hours = 25}}));
  EXPECT_FALSE(check_config({.poll_period = 0ms}));
  EXPECT_FALSE(check_config({.onpeak_timeout = -1ms}));
  EXPECT_FALSE(check_config({.wait_processor_period = -1ms}));
  EXPECT_TRUE(check_config({.wait_processor_period = 0ms}));
}

} // namespace
} // namespace rsi::migrator
