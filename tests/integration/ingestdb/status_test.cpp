// The status snapshot (status/status.hpp) read from each ingester-database backend: what the
// control API, `rs_ingester status` and `--until-idle` see.
#include "status/status.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "integration/ingestdb/store_fixture.hpp"
#include "support/fake_clock.hpp"

namespace rsi::status {
namespace {

using namespace std::chrono_literals;
using ingestdb::testing::StoreTest;

class StatusTest : public StoreTest {
protected:
  void record(const std::string& table, int count, int version, int first_index = 0) {
    for (int index = first_index; index < first_index + count; ++index) {
      const core::FilePointer file{.key_name =
                                       fmt::format("bucket/{}/v{}/{}.gz", table, version, index),
                                   .table = table,
                                   .version = version};
      ASSERT_EQ(m_store->record_file(file, m_clock.now()).value(),
                ingestdb::RecordOutcome::recorded);
      m_clock.advance(1s);
    }
  }

  std::optional<ingestdb::Batch> claim(const ingestdb::VersionMap& versions) {
    auto claimed = m_store->claim_batch(
        versions, {.count_trigger = 0, .age_trigger = 0s, .lease = 600s}, m_clock.now());
    EXPECT_TRUE(claimed) << claimed.error().message;
    return claimed ? claimed->batch : std::nullopt;
  }

  Snapshot take(ingestdb::VersionMap versions,
                std::optional<queue::QueueDepth> queue = std::nullopt) {
    Sources sources{.store = m_store.get(), .versions = std::move(versions), .max_load_retry = 1};
    if (queue) {
      sources.queue_depth = [queue] { return Result<queue::QueueDepth>(*queue); };
    }
    auto snapshot = take_snapshot(sources, m_clock.now());
    EXPECT_TRUE(snapshot) << snapshot.error().message;
    return snapshot ? std::move(*snapshot) : Snapshot{};
  }

  static const TableStatus& table(const Snapshot& snapshot, const std::string& name) {
    const auto found = std::ranges::find(snapshot.tables, name, &TableStatus::table);
    EXPECT_NE(found, snapshot.tables.end()) << name;
    static const TableStatus k_missing;
    return found == snapshot.tables.end() ? k_missing : *found;
  }

  test::FakeClock m_clock;
};

TEST_P(StatusTest, AnEmptyDatabaseWithAnEmptyQueueIsNotBusy) {
  const Snapshot snapshot = take({{"known", 2}}, queue::QueueDepth{});

  EXPECT_FALSE(snapshot.busy());
  ASSERT_EQ(snapshot.tables.size(), 1U) << "every warehouse table shows, with or without files";
  EXPECT_EQ(table(snapshot, "known").current_version, 2);
  EXPECT_FALSE(table(snapshot, "known").migration_target());
}

TEST_P(StatusTest, MessagesInTheQueueAreWork) {
  EXPECT_TRUE(take({}, queue::QueueDepth{.waiting = 1}).busy());
  EXPECT_TRUE(take({}, queue::QueueDepth{.in_flight = 1}).busy()) << "received, not yet recorded";
  EXPECT_FALSE(take({}).busy()) << "a queue this process cannot see counts nothing";
}

TEST_P(StatusTest, WaitingLoadingAndMigratingFilesAreWork) {
  record("waiting", 2, 0);
  record("loading", 2, 0);
  record("new_table", 1, 0);
  record("newer", 3, 1);
  const ingestdb::VersionMap versions{{"waiting", 0}, {"loading", 0}, {"newer", 0}};
  auto batch = claim({{"loading", 0}});
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->table, "loading");

  const Snapshot snapshot = take(versions);

  EXPECT_TRUE(snapshot.busy());
  EXPECT_EQ(table(snapshot, "waiting").waiting_files, 2);
  EXPECT_EQ(table(snapshot, "loading").waiting_files, 2)
      << "claimed files still wait for their load";
  ASSERT_EQ(table(snapshot, "loading").in_flight.size(), 1U);
  EXPECT_EQ(table(snapshot, "loading").in_flight[0].manifest, batch->manifest);
  EXPECT_EQ(table(snapshot, "new_table").migration_target(), 0)
      << "no table yet: the migrator creates v0";
  EXPECT_EQ(table(snapshot, "newer").migration_files, 3);
  EXPECT_EQ(table(snapshot, "newer").migration_target(), 1);
  EXPECT_EQ(table(snapshot, "newer").oldest, m_clock.now() - 3s);
}

TEST_P(StatusTest, StaleBatchesAndOutdatedFilesAreLeftBehindNotWork) {
  record("stuck", 2, 0);
  record("old", 1, 0);
  auto batch = claim({{"stuck", 0}});
  ASSERT_TRUE(batch);
  ASSERT_TRUE(m_store->fail_batch(batch->manifest, "bad gzip", m_clock.now()));
  m_clock.advance(1s);
  ASSERT_TRUE(m_store->claim_retryable_batch(1, 60s, m_clock.now()).value());
  ASSERT_TRUE(m_store->fail_batch(batch->manifest, "bad gzip again", m_clock.now()));

  const Snapshot snapshot = take({{"stuck", 0}, {"old", 1}}, queue::QueueDepth{});

  EXPECT_FALSE(snapshot.busy());
  EXPECT_EQ(snapshot.stale_batches(), 1);
  EXPECT_EQ(snapshot.stale_files(), 2);
  ASSERT_EQ(table(snapshot, "stuck").stale.size(), 1U);
  EXPECT_EQ(table(snapshot, "stuck").stale[0].last_error, "bad gzip again");
  EXPECT_EQ(table(snapshot, "old").outdated_files, 1) << "a v0 file for a table at v1 never loads";
  EXPECT_EQ(snapshot.outdated_files(), 1);
}

TEST_P(StatusTest, AFailedBatchAwaitingItsRetryIsWork) {
  record("t", 1, 0);
  auto batch = claim({{"t", 0}});
  ASSERT_TRUE(batch);
  ASSERT_TRUE(m_store->fail_batch(batch->manifest, "warehouse said no", m_clock.now() + 60s));

  const Snapshot snapshot = take({{"t", 0}});

  EXPECT_TRUE(snapshot.busy());
  ASSERT_EQ(table(snapshot, "t").retrying.size(), 1U);
  EXPECT_TRUE(table(snapshot, "t").stale.empty());
}

TEST_P(StatusTest, AQueueThatCannotBeCountedIsNotedNotFatal) {
  auto snapshot = take_snapshot(
      {.store = m_store.get(),
       .queue_depth = [] { return Result<queue::QueueDepth>(fail(ErrorKind::transient, "down")); },
       .max_load_retry = 1},
      m_clock.now());

  ASSERT_TRUE(snapshot) << snapshot.error().message;
  EXPECT_FALSE(snapshot->queue);
  EXPECT_EQ(snapshot->queue_error, "down");
}

TEST_P(StatusTest, MessagesWaitingForEventMetadataAreShownButAreNotWork) {
  const TimePoint sent = m_clock.now() - 30s;
  ASSERT_TRUE(m_store->note_awaiting_metadata("m1", "new_event", sent, m_clock.now() + 60s, 1));
  ASSERT_TRUE(
      m_store->note_awaiting_metadata("m2", "new_event", m_clock.now(), m_clock.now() + 60s, 1));
  ASSERT_TRUE(m_store->note_awaiting_metadata("m1", "new_event", sent, m_clock.now() + 120s, 2))
      << "once per message";

  const Snapshot waiting = take({}, queue::QueueDepth{.in_flight = 2});

  EXPECT_EQ(table(waiting, "new_event").awaiting_metadata, 2);
  EXPECT_EQ(table(waiting, "new_event").awaiting_since, sent);
  EXPECT_FALSE(waiting.busy()) << "the queue holds only messages waiting for metadata";
  EXPECT_TRUE(take({}, queue::QueueDepth{.waiting = 1, .in_flight = 2}).busy());

  ASSERT_TRUE(m_store->forget_awaiting_metadata("m1"));
  ASSERT_TRUE(m_store->forget_awaiting_metadata("never-noted"));
  EXPECT_EQ(table(take({}), "new_event").awaiting_metadata, 1);
  m_clock.advance(2h); // Its retry is long overdue: the message was deleted elsewhere.
  EXPECT_TRUE(take({}).tables.empty());
}

TEST_P(StatusTest, LastLoadsShowPerTable) {
  record("t", 1, 0);
  auto batch = claim({{"t", 0}});
  ASSERT_TRUE(batch);
  const TimePoint loaded_at = m_clock.now();
  ASSERT_TRUE(m_store->complete_batch(batch->manifest, loaded_at).value());

  const Snapshot snapshot = take({{"t", 0}});

  EXPECT_FALSE(snapshot.busy());
  EXPECT_EQ(table(snapshot, "t").last_load, loaded_at);
}

TEST_P(StatusTest, RejectedMessagesAreCountedFromAPointInTime) {
  const TimePoint before = m_clock.now();
  ASSERT_TRUE(m_store->reject_message(
      {.message_id = "a", .reason = "malformed", .body = "x", .received_at = before}));
  m_clock.advance(10s);
  const TimePoint since = m_clock.now();
  ASSERT_TRUE(m_store->reject_message(
      {.message_id = "b", .reason = "malformed", .body = "y", .received_at = since}));

  EXPECT_EQ(m_store->count_rejected(before).value(), 2);
  EXPECT_EQ(m_store->count_rejected(since).value(), 1);
  EXPECT_EQ(m_store->count_rejected(since + 1s).value(), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, StatusTest,
                         ::testing::Values(ingestdb::testing::k_sqlite,
                                           ingestdb::testing::k_postgres),
                         ingestdb::testing::backend_name);

} // namespace
} // namespace rsi::status
