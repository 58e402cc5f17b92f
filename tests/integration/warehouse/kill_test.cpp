// Exactly once under SIGKILL: a child process loads a batch and is killed at a random moment
// (connecting, writing the ledger row, streaming COPY data, committing, or after it finished).
// Each time, check_load must say whether the batch committed, the table must hold the batch
// completely or not at all accordingly, and a retry must load it only when it had not committed.

#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/uuid.hpp"
#include "warehouse_fixture.hpp"

namespace rsi::warehouse::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int k_runs = 25;
constexpr int k_files = 4;
constexpr int k_rows_per_file = 40000;

std::string file_text(int file) {
  std::string text;
  text.reserve(static_cast<std::size_t>(k_rows_per_file) * 120);
  for (int row = 0; row < k_rows_per_file; ++row) {
    text += fmt::format(
        "\"2016-07-29 22:{:02}:{:02}\"\t\"device-{}-{}\"\t\"{}\"\t\"true\"\t\"{}.25\"\t\"some "
        "longer text to make the rows heavier {}\"\n",
        row / 60 % 60, row % 60, file, row, row, row % 1000, row);
  }
  return text;
}

class KillDuringLoadTest : public WarehouseTest {
protected:
  void SetUp() override {
    WarehouseTest::SetUp();
    if (!m_warehouse) {
      return;
    }
    create("events", {add_column("time", "f@timestamp@unix", "", 0),
                      add_column("device", "varchar", "(32)", 0), add_column("n", "bigint", "", 0),
                      add_column("flag", "bool", "", 0), add_column("ratio", "float", "", 0),
                      add_column("note", "varchar", "(64)", 0)});
    for (int file = 0; file < k_files; ++file) {
      m_files.push_back(put_file(fmt::format("batch/{}.gz", file), file_text(file)));
    }
  }

  // Loads `uuid` in a child process; returns its pid.
  pid_t spawn_load(const std::string& uuid) {
    const pid_t pid = fork();
    if (pid == 0) {
      // The child: its own warehouse and connection; no test teardown, no destructors.
      std::freopen("/dev/null", "w", stderr);
      auto warehouse = make(default_layout());
      if (!warehouse) {
        _exit(2);
      }
      const auto loaded =
          (*warehouse)
              ->load_batch({.manifest = uuid, .table = "events", .version = 0, .files = m_files});
      _exit(loaded ? 0 : 1);
    }
    return pid;
  }

  // check_load, waiting (bounded) while the server still winds the killed load down.
  core::LoadStatus settled_status(const std::string& uuid) {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (true) {
      const auto status = m_warehouse->check_load(uuid);
      EXPECT_TRUE(status) << status.error().message;
      if (!status || *status != core::LoadStatus::in_progress || Clock::now() > deadline) {
        return status.value_or(core::LoadStatus::not_found);
      }
      ++m_in_progress_seen;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  std::vector<core::ObjectLocation> m_files;
  int m_in_progress_seen = 0;
};

TEST_P(KillDuringLoadTest, EveryKilledLoadCommittedCompletelyOrNotAtAll) {
  const std::int64_t batch_rows = static_cast<std::int64_t>(k_files) * k_rows_per_file;
  // How long an undisturbed load takes (the slower of two), so kills land across all of it.
  std::chrono::microseconds duration{0};
  int exit_status = 0;
  for (int calibration = 0; calibration < 2; ++calibration) {
    const auto started = Clock::now();
    const std::string uuid = new_uuid();
    const pid_t child = spawn_load(uuid);
    ASSERT_EQ(waitpid(child, &exit_status, 0), child);
    ASSERT_TRUE(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 0)
        << "an undisturbed load failed";
    duration = std::max(
        duration, std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started));
    ASSERT_EQ(m_warehouse->check_load(uuid).value(), core::LoadStatus::complete);
  }
  std::int64_t expected_rows = 2 * batch_rows;
  ASSERT_EQ(count(table_ref("events")), expected_rows);

  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  int committed = 0;
  int rolled_back = 0;
  int finished_before_kill = 0;
  for (int run = 0; run < k_runs; ++run) {
    SCOPED_TRACE(fmt::format("run {} (seed {})", run, seed));
    const std::string uuid = new_uuid();
    // Kills land across 1.5 times the load's duration as last known: a load that finished
    // before its kill took at most that delay, so a calibration slowed by a busy machine does
    // not leave every later kill after the commit.
    const auto delay = std::chrono::microseconds(
        std::uniform_int_distribution<std::int64_t>(0, duration.count() * 3 / 2)(rng));

    const pid_t child = spawn_load(uuid);
    std::this_thread::sleep_for(delay);
    kill(child, SIGKILL);
    ASSERT_EQ(waitpid(child, &exit_status, 0), child);
    if (WIFEXITED(exit_status)) {
      ++finished_before_kill;
      duration = std::min(duration, std::max(delay, std::chrono::microseconds(1000)));
    }

    const core::LoadStatus status = settled_status(uuid);
    const std::int64_t rows = count(table_ref("events"));
    if (status == core::LoadStatus::complete) {
      ++committed;
      expected_rows += batch_rows;
      EXPECT_EQ(rows, expected_rows) << "committed, but the batch is not there exactly once";
      const auto retry =
          m_warehouse->load_batch({.manifest = uuid, .table = "events", .files = m_files});
      ASSERT_FALSE(retry);
      EXPECT_EQ(retry.error().kind, ErrorKind::conflict);
    } else {
      ++rolled_back;
      EXPECT_EQ(status, core::LoadStatus::not_found);
      EXPECT_EQ(rows, expected_rows) << "not committed, but rows of the batch are there";
      const auto retry =
          m_warehouse->load_batch({.manifest = uuid, .table = "events", .files = m_files});
      ASSERT_TRUE(retry) << retry.error().message;
      expected_rows += batch_rows;
      EXPECT_EQ(m_warehouse->check_load(uuid).value(), core::LoadStatus::complete);
    }
    EXPECT_EQ(count(table_ref("events")), expected_rows);
  }

  EXPECT_EQ(count(table_ref("events")), (k_runs + 2) * batch_rows);
  std::printf(
      "%s: load %.0f ms at the end; %d kills: %d committed (%d had exited), %d rolled back; "
      "in_progress answers %d\n",
      GetParam().name.c_str(), static_cast<double>(duration.count()) / 1000.0, k_runs, committed,
      finished_before_kill, rolled_back, m_in_progress_seen);
  // Kills that land mid-load are the point: many runs must catch one.
  EXPECT_GE(rolled_back, k_runs / 4);
}

INSTANTIATE_TEST_SUITE_P(Backends, KillDuringLoadTest, ::testing::Values(k_sqlite, k_postgres),
                         backend_name);

} // namespace
} // namespace rsi::warehouse::testing
