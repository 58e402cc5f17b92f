// Many claimers on one ingester database: 2 processes × 4 threads claim, fail, retry and
// complete batches of 500 tables × 20 files. Every file must end in exactly one completed
// batch, none lost (checked by count and by key).
#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "integration/ingestdb/store_fixture.hpp"
#include "pg/connection.hpp"

namespace rsi::ingestdb {
namespace {

using namespace std::chrono_literals;
using testing::StoreTest;

constexpr int k_tables = 500;
constexpr int k_files_per_table = 20;
constexpr int k_threads = 4;

std::string key_of(int table, int index) {
  return fmt::format("bucket/t{:03}/file-{:02}.gz", table, index);
}

// One claimer thread: claim or retry, then fail ~10% of batches (retried later) and complete
// the rest, writing "manifest key" lines for completed batches. Returns false on any error.
bool drain(IngestDb& store, std::ofstream& log, std::mutex& log_mutex, unsigned seed) {
  std::mt19937 rng(seed);
  VersionMap versions;
  for (int table = 0; table < k_tables; ++table) {
    versions[fmt::format("t{:03}", table)] = 0;
  }
  const ClaimPolicy policy{.count_trigger = 5, .age_trigger = 3600s, .lease = 600s};
  while (true) {
    const TimePoint now = std::chrono::system_clock::now();
    auto claimed = store.claim_batch(versions, policy, now);
    if (!claimed) {
      ADD_FAILURE() << claimed.error().message;
      return false;
    }
    std::optional<Batch> batch = std::move(claimed->batch);
    if (!batch) {
      auto retry = store.claim_retryable_batch(1000, 600s, now);
      if (!retry) {
        ADD_FAILURE() << retry.error().message;
        return false;
      }
      batch = std::move(*retry);
    }
    if (!batch) {
      auto pending = store.pending_versions();
      if (!pending) {
        ADD_FAILURE() << pending.error().message;
        return false;
      }
      if (pending->empty()) {
        return true;
      }
      std::this_thread::sleep_for(1ms); // Other claimers hold the rest; poll again.
      continue;
    }
    if (rng() % 10 == 0) {
      if (!store.fail_batch(batch->manifest, "injected failure", now - 1s)) {
        return false;
      }
      continue;
    }
    auto done = store.complete_batch(batch->manifest, now);
    if (!done || !*done) {
      ADD_FAILURE() << "complete " << batch->manifest << ": "
                    << (done ? "unknown batch" : done.error().message);
      return false;
    }
    const std::lock_guard lock(log_mutex);
    for (const auto& key : batch->keys) {
      log << batch->manifest << ' ' << key << '\n';
    }
  }
}

class ConcurrencyTest : public StoreTest {
protected:
  void record_all() {
    std::vector<std::thread> writers;
    std::atomic<int> failures{0};
    for (int worker = 0; worker < k_threads; ++worker) {
      writers.emplace_back([&, worker] {
        for (int table = worker; table < k_tables; table += k_threads) {
          for (int index = 0; index < k_files_per_table; ++index) {
            auto recorded = m_store->record_file(
                {.key_name = key_of(table, index), .table = fmt::format("t{:03}", table)},
                std::chrono::system_clock::now());
            if (!recorded || *recorded != RecordOutcome::recorded) {
              failures.fetch_add(1);
            }
          }
        }
      });
    }
    for (auto& writer : writers) {
      writer.join();
    }
    ASSERT_EQ(failures.load(), 0);
  }

  // Run `k_threads` claimers in this process, logging to `path`.
  bool run_claimers(const std::filesystem::path& path, unsigned seed) {
    auto store = open();
    if (!store) {
      ADD_FAILURE() << store.error().message;
      return false;
    }
    std::ofstream log(path);
    std::mutex log_mutex;
    std::atomic<bool> ok{true};
    std::vector<std::thread> threads;
    for (int thread = 0; thread < k_threads; ++thread) {
      threads.emplace_back([&, thread] {
        if (!drain(**store, log, log_mutex, seed * 100 + static_cast<unsigned>(thread))) {
          ok = false;
        }
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    return ok.load();
  }

  void verify(const std::vector<std::filesystem::path>& logs) {
    std::map<std::string, int> seen;
    std::map<std::string, std::string> batch_of;
    for (const auto& path : logs) {
      std::ifstream in(path);
      std::string manifest;
      std::string key;
      while (in >> manifest >> key) {
        seen[key] += 1;
        batch_of[key] = manifest;
      }
    }
    ASSERT_EQ(seen.size(), static_cast<std::size_t>(k_tables * k_files_per_table))
        << "every file completed";
    for (int table = 0; table < k_tables; ++table) {
      for (int index = 0; index < k_files_per_table; ++index) {
        ASSERT_EQ(seen[key_of(table, index)], 1)
            << key_of(table, index) << " in exactly one completed batch";
      }
    }
    EXPECT_TRUE(m_store->pending_versions().value().empty());
    EXPECT_TRUE(
        m_store->orphaned_batches(std::chrono::system_clock::now() + 3600s).value().empty());
    EXPECT_TRUE(m_store->stale_batches(1000).value().empty());
    EXPECT_EQ(m_store->last_loads().value().size(), static_cast<std::size_t>(k_tables));
    // Every loaded key is remembered: a redelivery is recognised.
    EXPECT_EQ(m_store
                  ->record_file({.key_name = key_of(7, 3), .table = "t007"},
                                std::chrono::system_clock::now())
                  .value(),
              RecordOutcome::recently_loaded);
  }
};

TEST_P(ConcurrencyTest, ClaimersNeverShareAFileAndLoseNone) {
  record_all();
  std::vector<std::filesystem::path> logs;
  if (is_postgres()) {
    // Two processes, each with its own connections and four threads.
    std::vector<pid_t> children;
    for (int process = 0; process < 2; ++process) {
      logs.push_back(m_dir.path(fmt::format("claims-{}.log", process)));
      const pid_t pid = fork();
      ASSERT_NE(pid, -1);
      if (pid == 0) {
        const bool ok = run_claimers(logs.back(), static_cast<unsigned>(process + 1));
        _exit(ok ? 0 : 1);
      }
      children.push_back(pid);
    }
    for (const pid_t child : children) {
      int status = 0;
      ASSERT_EQ(waitpid(child, &status, 0), child);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "claimer process failed";
    }
  } else {
    // SQLite serves one process: four threads.
    logs.push_back(m_dir.path("claims.log"));
    ASSERT_TRUE(run_claimers(logs.back(), 1));
  }
  verify(logs);
}

// Advisory locks belong to the whole PostgreSQL database: a claim of table "t" in one schema
// must not hold back a claim of "t" in another. The other schema's claimer is played by a
// transaction holding its claim lock; the same lock on this schema's "t" does hold it back.
TEST_P(ConcurrencyTest, AClaimInAnotherSchemaDoesNotHoldThisOneBack) {
  if (!is_postgres()) {
    GTEST_SKIP()
        << "advisory locks are PostgreSQL's; a SQLite ingester database serves one process";
  }
  for (int index = 0; index < 6; ++index) {
    ASSERT_TRUE(m_store->record_file({.key_name = key_of(0, index), .table = "t"},
                                     std::chrono::system_clock::now()));
  }
  const ClaimPolicy policy{.count_trigger = 5, .age_trigger = 3600s, .lease = 600s};
  const auto claim = [&] {
    auto claimed = m_store->claim_batch({{"t", 0}}, policy, std::chrono::system_clock::now());
    EXPECT_TRUE(claimed) << claimed.error().message;
    return claimed && claimed->batch.has_value();
  };
  auto holder = pg::Connection::connect(m_schema->conninfo());
  ASSERT_TRUE(holder) << holder.error().message;
  const auto hold = [&](const std::string& schema) {
    ASSERT_TRUE(holder->exec("BEGIN"));
    ASSERT_TRUE(holder->exec("SELECT pg_advisory_xact_lock($1, hashtext($2))",
                             {std::to_string(k_claim_lock_class), schema + ".t"}));
  };

  hold(m_schema->name());
  EXPECT_FALSE(claim()) << "a claimer of this schema's t is at work";
  ASSERT_TRUE(holder->exec("ROLLBACK"));

  hold(m_schema->name() + "_other");
  EXPECT_TRUE(claim()) << "the lock of another schema's t";
  ASSERT_TRUE(holder->exec("ROLLBACK"));
}

INSTANTIATE_TEST_SUITE_P(Backends, ConcurrencyTest,
                         ::testing::Values(testing::k_sqlite, testing::k_postgres),
                         testing::backend_name);

} // namespace
} // namespace rsi::ingestdb
