// The summary of the waiting files (pending_group: per table and version, how many unclaimed
// files and the oldest one's time), which claims and status read instead of the files, on every
// backend: it always says what the files say, through every way a file comes and goes, and an
// ingester database from before it gets it from its files. SQLite always, PostgreSQL when
// scripts/test started one.
#include <atomic>
#include <map>
#include <thread>
#include <tuple>

#include <gtest/gtest.h>

#include "integration/ingestdb/store_fixture.hpp"
#include "pg/connection.hpp"
#include "sqlite/database.hpp"
#include "support/fake_clock.hpp"

namespace rsi::ingestdb {
namespace {

using namespace std::chrono_literals;
using testing::StoreTest;

// (table, version) → (files, oldest as the backend stores it, in text).
using Groups = std::map<std::pair<std::string, int>, std::pair<std::int64_t, std::string>>;

core::FilePointer summary_file(const std::string& table, int index, int version = 0) {
  return {.key_name = fmt::format("b/{}/v{}/f{:03}.gz", table, version, index),
          .table = table,
          .version = version};
}

class PendingSummary : public StoreTest {
protected:
  // The rows of `sql` (table, version, files, oldest), read directly from the database.
  Groups groups(const std::string& sql) {
    Groups found;
    if (is_postgres()) {
      auto conn = pg::Connection::connect(m_schema->conninfo());
      EXPECT_TRUE(conn) << conn.error().message;
      auto rows = conn->exec(sql);
      EXPECT_TRUE(rows) << rows.error().message;
      for (int row = 0; rows && row < rows->size(); ++row) {
        found[{rows->text(row, 0), static_cast<int>(rows->integer(row, 1))}] = {
            rows->integer(row, 2), rows->text(row, 3)};
      }
    } else {
      auto db = sqlite::Database::open(m_dir.path("ingester.db"));
      EXPECT_TRUE(db) << db.error().message;
      auto query = db->prepare(sql);
      EXPECT_TRUE(query) << query.error().message;
      while (query && query->step().value_or(false)) {
        found[{std::string(query->text(0)), static_cast<int>(query->integer(1))}] = {
            query->integer(2), std::string(query->text(3))};
      }
    }
    return found;
  }

  // The summary, after PostgreSQL folded what changed (as every read of it does).
  Groups summary() {
    if (is_postgres()) {
      exec("SELECT rsi_fold_pending()");
    }
    return groups("SELECT tablename, tableversion, files, oldest FROM pending_group");
  }

  // What the files say.
  Groups files() {
    return groups("SELECT tablename, tableversion, count(*), min(ts) FROM tsv "
                  "WHERE manifest_uuid IS NULL GROUP BY tablename, tableversion");
  }

  void exec(const std::string& sql) {
    if (is_postgres()) {
      auto conn = pg::Connection::connect(m_schema->conninfo());
      ASSERT_TRUE(conn) << conn.error().message;
      auto done = conn->exec_script(sql);
      ASSERT_TRUE(done) << done.error().message;
    } else {
      auto db = sqlite::Database::open(m_dir.path("ingester.db"));
      ASSERT_TRUE(db) << db.error().message;
      auto done = db->exec_script(sql);
      ASSERT_TRUE(done) << done.error().message;
    }
  }

  void record(const std::string& table, int count, int version = 0, int first = 0) {
    std::vector<core::FilePointer> pointers;
    for (int index = first; index < first + count; ++index) {
      pointers.push_back(summary_file(table, index, version));
    }
    ASSERT_TRUE(m_store->record_files(pointers, m_clock.now()));
    m_clock.advance(1s);
  }

  std::optional<Batch> claim(const VersionMap& versions, std::size_t max_files = 0) {
    m_clock.advance(2s); // Past PostgreSQL's candidate cache: each claim searches.
    auto claimed = m_store->claim_batch(
        versions, {.count_trigger = 0, .age_trigger = 1800s, .lease = 60s, .max_files = max_files},
        m_clock.now());
    EXPECT_TRUE(claimed) << claimed.error().message;
    return claimed ? claimed->batch : std::nullopt;
  }

  test::FakeClock m_clock;
};

TEST_P(PendingSummary, SaysWhatTheFilesSayThroughEveryWayAFileComesAndGoes) {
  const VersionMap versions{{"a", 0}, {"b", 0}, {"c", 1}};
  record("a", 6);
  record("b", 4);
  record("c", 3, 1);
  record("a", 3, 0, 10);
  record("d", 2, 5); // A version the warehouse does not have: waits, never claimed.
  EXPECT_EQ(summary(), files());

  // Claimed in part, then completed.
  const auto part = claim(versions, 4);
  ASSERT_TRUE(part);
  EXPECT_EQ(summary(), files());
  ASSERT_TRUE(m_store->complete_batch(part->manifest, m_clock.now()).value());
  EXPECT_EQ(summary(), files());

  // Claimed whole, split: a file quarantined, some loaded now, the rest put back as a batch.
  const auto whole = claim(versions);
  ASSERT_TRUE(whole);
  ASSERT_GE(whole->keys.size(), 3U);
  const auto next = m_store->split_batch(
      whole->manifest,
      {.quarantine = {{.key = whole->keys[0], .kind = "bad_value", .error = "x"}},
       .load_now = {whole->keys[1]}},
      m_clock.now(), m_clock.now() + 60s);
  ASSERT_TRUE(next && *next) << (next ? "no batch" : next.error().message);
  EXPECT_EQ(summary(), files());

  // The quarantined file comes back as a new pending file.
  ASSERT_EQ(m_store->retry_quarantined({}, "ops", m_clock.now()).value().size(), 1U);
  EXPECT_EQ(summary(), files());

  // Released, failed, skipped: batches, not waiting files.
  ASSERT_TRUE(m_store->release_batch((**next).manifest, m_clock.now()).value());
  const auto failed = claim(versions);
  ASSERT_TRUE(failed);
  ASSERT_TRUE(m_store->fail_batch(failed->manifest, "boom", m_clock.now()).value());
  ASSERT_TRUE(m_store->skip_batch(failed->manifest, "ops", m_clock.now()).value());
  EXPECT_EQ(summary(), files());

  // Rows written directly (an older version, or an operator): the same.
  exec("DELETE FROM tsv WHERE keyname = 'b/c/v1/f000.gz'");
  EXPECT_EQ(summary(), files());

  // Everything claimable drains; what cannot load stays counted.
  while (auto batch = claim(versions)) {
    ASSERT_TRUE(m_store->complete_batch(batch->manifest, m_clock.now()).value());
  }
  while (auto retry = m_store->claim_retryable_batch(5, 60s, m_clock.now()).value()) {
    ASSERT_TRUE(m_store->complete_batch(retry->manifest, m_clock.now()).value());
  }
  EXPECT_EQ(summary(), files());
  EXPECT_EQ(files().size(), 1U) << "only d v5 waits";
}

TEST_P(PendingSummary, ADatabaseFromBeforeItGetsItFromItsFiles) {
  record("a", 3);
  record("b", 7);
  const auto batch = claim({{"b", 0}}, 2);
  ASSERT_TRUE(batch);
  // The database as the previous version left it: no summary, its migration not applied, files
  // recorded meanwhile by that version.
  if (is_postgres()) {
    exec(R"sql(
      DROP TRIGGER rsi_tsv_insert ON tsv; DROP TRIGGER rsi_tsv_update ON tsv;
      DROP TRIGGER rsi_tsv_delete ON tsv; DROP TRIGGER rsi_tsv_truncate ON tsv;
      DROP TABLE pending_group; DROP TABLE pending_delta;
      DELETE FROM rsi_schema_migrations WHERE name = 'pending_summary';
      INSERT INTO tsv (tablename, keyname, tableversion, ts)
        VALUES ('c', 'b/c/old.gz', 0, '2016-07-29 22:00:00');)sql");
  } else {
    exec(R"sql(
      DROP TRIGGER tsv_pending_insert; DROP TRIGGER tsv_pending_join;
      DROP TRIGGER tsv_pending_leave; DROP TRIGGER tsv_pending_delete;
      DROP TABLE pending_group;
      DELETE FROM rsi_schema_migrations WHERE name = 'pending_summary';
      INSERT INTO tsv (tablename, keyname, tableversion, ts)
        VALUES ('c', 'b/c/old.gz', 0, 1469829600000000);)sql");
  }
  auto upgraded = open();
  ASSERT_TRUE(upgraded) << upgraded.error().message;
  m_store = std::move(*upgraded);
  EXPECT_EQ(summary(), files());
  EXPECT_EQ(files().size(), 3U);
  const auto oldest = claim({{"a", 0}, {"b", 0}, {"c", 0}});
  ASSERT_TRUE(oldest);
  EXPECT_EQ(oldest->table, "c") << "the file the previous version recorded in 2016";
}

TEST_P(PendingSummary, ReadsDoNotWaitForAWriteInProgress) {
  if (is_postgres()) {
    GTEST_SKIP() << "PostgreSQL reads and writes run on connections of a pool";
  }
  record("a", 6);
  // Another connection holds the write lock: the store's next write waits for it (holding the
  // writer connection), and the store's reads go on meanwhile, on the reader connection.
  auto other = sqlite::Database::open(m_dir.path("ingester.db"));
  ASSERT_TRUE(other) << other.error().message;
  ASSERT_TRUE(other->exec_script("BEGIN IMMEDIATE"));
  std::atomic<bool> written{false};
  std::thread writer([&] {
    EXPECT_TRUE(m_store->record_file(summary_file("b", 0), m_clock.now()));
    written = true;
  });
  std::this_thread::sleep_for(200ms); // The write is waiting for the lock by now.
  const auto stats = m_store->pending_stats({{"a", 0}}, 5);
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_EQ(stats->size(), 1U);
  EXPECT_EQ(stats->front().count, 6);
  EXPECT_TRUE(m_store->in_flight_batches(m_clock.now()).value().empty());
  EXPECT_FALSE(written) << "the write still waits";
  ASSERT_TRUE(other->exec_script("ROLLBACK"));
  writer.join();
  EXPECT_TRUE(written);
  EXPECT_EQ(m_store->pending_versions().value(), (VersionMap{{"a", 0}, {"b", 0}}));
}

INSTANTIATE_TEST_SUITE_P(Backends, PendingSummary,
                         ::testing::Values(testing::k_sqlite, testing::k_postgres),
                         testing::backend_name);

} // namespace
} // namespace rsi::ingestdb
