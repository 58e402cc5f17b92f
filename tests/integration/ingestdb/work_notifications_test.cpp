// The PostgreSQL ingester database announces work made due now on k_work_channel, in the
// transaction that makes it (so on its commit only), once per transaction: recorded pointers, a
// new force load, a released or retried batch, the part of a split batch put back, requeued
// quarantined files; and nothing for what makes no work (a duplicate pointer, a failed batch
// waiting for its retry time). The channel belongs to the database, which other tests share:
// each test's tables have names of their own, and only notifications naming them count.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "ingestdb/factory.hpp"
#include "integration/ingestdb/store_fixture.hpp"
#include "pg/listener.hpp"
#include "support/fake_clock.hpp"
#include "support/process.hpp"

namespace rsi::ingestdb {
namespace {

using namespace std::chrono_literals;

class WorkNotificationsTest : public ::testing::Test {
protected:
  void SetUp() override {
    const auto base = test::postgres_conninfo();
    RSI_REQUIRE_SERVICE(base.has_value(), "PostgreSQL (RSI_TEST_PG)");
    m_schema.emplace(*base);
    auto store = make_postgres_ingest_db({.conninfo = m_schema->conninfo()});
    ASSERT_TRUE(store) << store.error().message;
    m_store = std::move(*store);
    m_listener.emplace(pg::Listener::listen(m_schema->conninfo(), k_work_channel));
    ASSERT_TRUE(*m_listener) << m_listener->error().message;
  }

  core::FilePointer file(int index, const std::string& table) const {
    return {.key_name = fmt::format("bucket/{}/{:03}.gz", table, index), .table = table};
  }

  void record(int count, const std::string& table) {
    for (int index = 0; index < count; ++index) {
      ASSERT_EQ(m_store->record_file(file(index, table), m_clock.now()).value(),
                RecordOutcome::recorded);
    }
  }

  Batch claim(const std::string& table) {
    auto claimed = m_store->claim_batch({{table, 0}}, m_policy, m_clock.now());
    EXPECT_TRUE(claimed && claimed->batch) << "nothing claimed";
    return claimed && claimed->batch ? *claimed->batch : Batch{};
  }

  // Notifications naming `table` that arrive within `within`.
  int announcements(const std::string& table, std::chrono::milliseconds within = 400ms) {
    int count = 0;
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
      auto arrived = (*m_listener)->wait(50ms);
      if (!arrived) {
        ADD_FAILURE() << arrived.error().message;
        return count;
      }
      for (const auto& notification : *arrived) {
        count += notification.payload == table ? 1 : 0;
      }
    }
    return count;
  }

  std::optional<test::PostgresSchema> m_schema;
  std::unique_ptr<IngestDb> m_store;
  std::optional<Result<pg::Listener>> m_listener;
  test::FakeClock m_clock;
  ClaimPolicy m_policy{.count_trigger = 0, .age_trigger = 1800s, .lease = 600s};
  std::string m_table = test::unique_name("notified");
};

TEST_F(WorkNotificationsTest, ARecordedPointerIsAnnouncedAndADuplicateIsNot) {
  ASSERT_EQ(m_store->record_file(file(0, m_table), m_clock.now()).value(), RecordOutcome::recorded);
  EXPECT_EQ(announcements(m_table), 1);

  ASSERT_EQ(m_store->record_file(file(0, m_table), m_clock.now()).value(),
            RecordOutcome::already_pending);
  EXPECT_EQ(announcements(m_table), 0);
}

TEST_F(WorkNotificationsTest, PointersRecordedTogetherAreAnnouncedOnce) {
  const std::string other = m_table + "_other";
  std::vector<core::FilePointer> files;
  for (int index = 0; index < 10; ++index) {
    files.push_back(file(index, index % 2 == 0 ? m_table : other));
  }

  ASSERT_TRUE(m_store->record_files(files, m_clock.now()));

  EXPECT_EQ(announcements(m_table), 1) << "one notification, naming the first table";
  ASSERT_EQ(m_store->record_files(files, m_clock.now()).value().front(),
            RecordOutcome::already_pending);
  EXPECT_EQ(announcements(m_table), 0) << "nothing recorded, nothing announced";
}

TEST_F(WorkNotificationsTest, ALongTableNameIsCutInThePayload) {
  const std::string table(300, 'x');

  ASSERT_EQ(m_store->record_file(file(0, table), m_clock.now()).value(), RecordOutcome::recorded);

  EXPECT_EQ(announcements(table.substr(0, 127)), 1);
}

TEST_F(WorkNotificationsTest, ANewForceLoadIsAnnouncedAndOneAlreadyWaitingIsNot) {
  ASSERT_TRUE(m_store->request_force_load(m_table, "test", m_clock.now()).value());
  EXPECT_EQ(announcements(m_table), 1);

  ASSERT_FALSE(m_store->request_force_load(m_table, "test", m_clock.now()).value());
  EXPECT_EQ(announcements(m_table), 0);
}

TEST_F(WorkNotificationsTest, AReleasedOrRetriedBatchIsAnnouncedAndAFailedOneIsNot) {
  record(2, m_table);
  ASSERT_EQ(announcements(m_table), 2);
  const Batch batch = claim(m_table);
  EXPECT_EQ(announcements(m_table), 0) << "a claim makes no work";

  ASSERT_TRUE(m_store->release_batch(batch.manifest, m_clock.now()).value());
  EXPECT_EQ(announcements(m_table), 1);

  const auto again = m_store->claim_retryable_batch(5, 60s, m_clock.now()).value();
  ASSERT_TRUE(again);
  ASSERT_TRUE(m_store->fail_batch(again->manifest, "bad", m_clock.now() + 15min).value());
  EXPECT_EQ(announcements(m_table), 0) << "due only at its retry time";

  ASSERT_TRUE(m_store->retry_batch(again->manifest, m_clock.now()).value());
  EXPECT_EQ(announcements(m_table), 1);

  ASSERT_FALSE(m_store->release_batch(again->manifest, m_clock.now()).value());
  EXPECT_EQ(announcements(m_table), 0) << "not in flight: nothing released";
}

TEST_F(WorkNotificationsTest, ASplitThatPutsPartOfTheBatchBackIsAnnouncedOnce) {
  record(4, m_table);
  ASSERT_EQ(announcements(m_table), 4);
  const Batch batch = claim(m_table);
  ASSERT_EQ(batch.keys.size(), 4U);

  ASSERT_TRUE(m_store->split_batch(
      batch.manifest,
      {.quarantine = {{.key = batch.keys[0], .kind = "bad_value", .error = "x"}},
       .load_now = {batch.keys[1]}},
      m_clock.now(), m_clock.now() + 60s));

  EXPECT_EQ(announcements(m_table), 1);
}

TEST_F(WorkNotificationsTest, RequeuedQuarantinedFilesAreAnnouncedOncePerTransaction) {
  record(3, m_table);
  ASSERT_EQ(announcements(m_table), 3);
  const Batch batch = claim(m_table);
  ASSERT_TRUE(m_store->split_batch(
      batch.manifest,
      {.quarantine = {{.key = batch.keys[0], .kind = "bad_value", .error = "x"},
                      {.key = batch.keys[1], .kind = "bad_value", .error = "y"}},
       .load_now = {batch.keys[2]}},
      m_clock.now(), m_clock.now() + 60s));
  ASSERT_TRUE(m_store->complete_batch(m_store->in_flight_batches(m_clock.now()).value()[0].manifest,
                                      m_clock.now()));
  EXPECT_EQ(announcements(m_table), 0) << "no part put back, a completion makes no work";

  const auto dropped_none = m_store->drop_quarantined({.table = "none"}, "ops", m_clock.now());
  ASSERT_TRUE(dropped_none);
  const auto retried = m_store->retry_quarantined({.table = m_table}, "ops", m_clock.now());
  ASSERT_TRUE(retried) << retried.error().message;
  ASSERT_EQ(retried->size(), 2U);

  EXPECT_EQ(announcements(m_table), 1);
}

TEST_F(WorkNotificationsTest, WatchForWorkCallsWhenAnotherStoreRecordsAFile) {
  std::atomic<int> calls{0};
  const auto config = config_from_url(m_schema->conninfo()).value();
  std::jthread watcher([&](std::stop_token stop) {
    watch_for_work(
        config, [&] { calls.fetch_add(1); }, stop);
  });
  ASSERT_TRUE(test::eventually(10s, [&] { return calls.load() >= 1; })) << "listening started";
  std::this_thread::sleep_for(200ms); // Past the interval between two calls.
  const int before = calls.load();

  auto other = make_postgres_ingest_db({.conninfo = m_schema->conninfo()});
  ASSERT_TRUE(other) << other.error().message;
  const auto sent = std::chrono::steady_clock::now();
  ASSERT_EQ((*other)->record_file(file(0, m_table), m_clock.now()).value(),
            RecordOutcome::recorded);

  EXPECT_TRUE(test::eventually(5s, [&] { return calls.load() > before; }));
  EXPECT_LT(std::chrono::steady_clock::now() - sent, 2s);
}

TEST(WatchForWorkSqliteTest, ReturnsAtOnce) {
  const auto config = config_from_url("sqlite:///tmp/never-opened.db").value();
  int calls = 0;

  watch_for_work(
      config, [&] { ++calls; }, std::stop_token());

  EXPECT_EQ(calls, 0);
}

} // namespace
} // namespace rsi::ingestdb
