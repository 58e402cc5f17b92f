// The off-peak window, by UTC hour, across midnight, and an alter held until the window opens.

#include "migrator/offpeak.hpp"

#include <gtest/gtest.h>

#include "ingestdb/sqlite_ingest_db.hpp"
#include "migrator/migrator.hpp"
#include "migrator_fakes.hpp"
#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"
#include "warehouse/sqlite_warehouse.hpp"

namespace rsi::migrator {
namespace {

using namespace std::chrono_literals;

const auto k_day = std::chrono::sys_days{std::chrono::year{2026} / 12 / 31};

TimePoint at(std::chrono::hours hour, std::chrono::minutes minute = 0min,
             std::chrono::days day = std::chrono::days(0)) {
  return k_day + day + hour + minute;
}

TEST(OffpeakWindowTest, TheOriginalsDefaultIsThreeToElevenUtc) {
  const OffpeakWindow window;

  EXPECT_FALSE(window.contains(at(2h, 59min)));
  EXPECT_TRUE(window.contains(at(3h)));
  EXPECT_TRUE(window.contains(at(10h, 59min)));
  EXPECT_FALSE(window.contains(at(11h)));
  EXPECT_FALSE(window.contains(at(23h, 59min)));
}

TEST(OffpeakWindowTest, AWindowWrapsPastMidnight) {
  const OffpeakWindow window{.start_hour = 22, .duration_hours = 8};

  EXPECT_FALSE(window.contains(at(21h, 59min)));
  EXPECT_TRUE(window.contains(at(22h)));
  EXPECT_TRUE(window.contains(at(23h, 59min)));
  EXPECT_TRUE(window.contains(at(0h, 0min, std::chrono::days(1)))); // New Year's Day.
  EXPECT_TRUE(window.contains(at(5h, 59min, std::chrono::days(1))));
  EXPECT_FALSE(window.contains(at(6h, 0min, std::chrono::days(1))));
  EXPECT_FALSE(window.contains(at(12h)));
}

TEST(OffpeakWindowTest, EdgeDurations) {
  EXPECT_FALSE((OffpeakWindow{.start_hour = 5, .duration_hours = 0}.contains(at(5h))));
  EXPECT_TRUE((OffpeakWindow{.start_hour = 5, .duration_hours = 24}.contains(at(4h, 59min))));
  EXPECT_TRUE((OffpeakWindow{.start_hour = 23, .duration_hours = 1}.contains(at(23h, 30min))));
  EXPECT_FALSE((OffpeakWindow{.start_hour = 23, .duration_hours = 1}.contains(
      at(0h, 0min, std::chrono::days(1)))));
  EXPECT_TRUE((OffpeakWindow{.start_hour = 0, .duration_hours = 1}.contains(
      at(0h, 0min, std::chrono::days(1)))));
}

TEST(OffpeakWindowTest, ChecksItsSettings) {
  EXPECT_TRUE((OffpeakWindow{.start_hour = 0, .duration_hours = 24}.check()));
  EXPECT_FALSE((OffpeakWindow{.start_hour = -1}.check()));
  EXPECT_FALSE((OffpeakWindow{.start_hour = 24}.check()));
  EXPECT_FALSE((OffpeakWindow{.duration_hours = -1}.check()));
  EXPECT_FALSE((OffpeakWindow{.duration_hours = 25}.check()));
}

// An alter seen at 21:00 with a 22:00-06:00 window: held until 22:00, waits the processor
// period, applies after midnight; the next version, seen at 05:58, waits into 06:00 and is held
// until the next night.
TEST(OffpeakMigratorTest, AnAlterIsHeldUntilTheWindowAcrossMidnight) {
  test::TempDir dir;
  auto real = warehouse::make_sqlite_warehouse(
                  {.path = dir.path("warehouse.db"), .files = testing::no_files})
                  .value();
  testing::ScriptedWarehouse warehouse(*real);
  auto store = ingestdb::make_sqlite_ingest_db({.path = dir.path("ingester.db")}).value();
  testing::ScriptedRegistry registry;
  const auto add = [](std::string name, int version) {
    return core::Operation{.action = core::Action::add,
                           .name = std::move(name),
                           .version = version,
                           .inbound = "in",
                           .column_type = "int"};
  };
  registry.set("t", 1, {add("b", 1)});
  registry.set("t", 2, {add("c", 2)});
  testing::FakeLock lock;
  VersionCache versions;
  test::FakeClock clock(at(21h));
  telemetry::Metrics metrics{"ingester"};
  Migrator migrator(
      warehouse, *store, registry, lock, versions, clock, metrics,
      {.wait_processor_period = 30min, .offpeak = {.start_hour = 22, .duration_hours = 8}});
  ASSERT_TRUE(real->apply_migration("t", 0, std::vector{add("a", 0)}, 1min));
  ASSERT_TRUE(
      store->record_file({.key_name = "b/t/v1/x.gz", .table = "t", .version = 1}, clock.now()));
  const auto outcome = [&] {
    auto report = migrator.poll_once(clock.now());
    EXPECT_TRUE(report && report->steps.size() == 1);
    return report && !report->steps.empty() ? report->steps[0].outcome : StepOutcome::failed;
  };

  EXPECT_EQ(outcome(), StepOutcome::waiting_offpeak); // 21:00
  clock.set(at(21h, 59min));
  EXPECT_EQ(outcome(), StepOutcome::waiting_offpeak);
  clock.set(at(23h, 45min));
  EXPECT_EQ(outcome(), StepOutcome::waiting_processor); // First sight in the window.
  clock.set(at(0h, 14min, std::chrono::days(1)));
  EXPECT_EQ(outcome(), StepOutcome::waiting_processor);
  clock.set(at(0h, 15min, std::chrono::days(1)));
  EXPECT_EQ(outcome(), StepOutcome::migrated);
  EXPECT_EQ(warehouse.timeouts.back(), 10'800'000ms);

  // A loader loads the version 1 file.
  const auto claimed = store->claim_batch(versions.snapshot(), {.count_trigger = 0}, clock.now());
  ASSERT_TRUE(claimed && claimed->batch);
  ASSERT_TRUE(store->complete_batch(claimed->batch->manifest, clock.now()));
  ASSERT_TRUE(
      store->record_file({.key_name = "b/t/v2/x.gz", .table = "t", .version = 2}, clock.now()));
  clock.set(at(5h, 58min, std::chrono::days(1)));
  EXPECT_EQ(outcome(), StepOutcome::waiting_processor);
  clock.set(at(6h, 28min, std::chrono::days(1)));
  EXPECT_EQ(outcome(), StepOutcome::waiting_offpeak); // The window closed during the wait.
  clock.set(at(22h, 0min, std::chrono::days(1)));
  EXPECT_EQ(outcome(), StepOutcome::migrated); // Waited long enough already.
  EXPECT_EQ(versions.get("t"), 2);
}

} // namespace
} // namespace rsi::migrator
