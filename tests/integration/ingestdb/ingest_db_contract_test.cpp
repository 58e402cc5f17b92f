// Behaviour every IngestDb backend shares (ARCHITECTURE §4, §6). Runs against SQLite
// always and against PostgreSQL when scripts/test started one (CI requires it).
#include <algorithm>
#include <set>
#include <tuple>

#include <gtest/gtest.h>

#include "integration/ingestdb/store_fixture.hpp"
#include "support/fake_clock.hpp"

namespace rsi::ingestdb {
namespace {

using namespace std::chrono_literals;
using testing::StoreTest;

core::FilePointer file(const std::string& table, int index, int version = 0) {
  return {.key_name = fmt::format("spade-bucket/{}/v{}/file-{:04}.gz", table, version, index),
          .table = table,
          .version = version};
}

class IngestDbContract : public StoreTest {
protected:
  // Record `count` files of `table`, one second apart, starting now.
  void record(const std::string& table, int count, int version = 0, int first_index = 0) {
    for (int index = first_index; index < first_index + count; ++index) {
      auto outcome = m_store->record_file(file(table, index, version), m_clock.now());
      ASSERT_TRUE(outcome) << outcome.error().message;
      ASSERT_EQ(*outcome, RecordOutcome::recorded);
      m_clock.advance(1s);
    }
  }

  std::optional<Batch> claim(const VersionMap& versions) {
    auto claimed = m_store->claim_batch(versions, m_policy, m_clock.now());
    EXPECT_TRUE(claimed) << claimed.error().message;
    return claimed ? claimed->batch : std::nullopt;
  }

  test::FakeClock m_clock;
  ClaimPolicy m_policy{.count_trigger = 5, .age_trigger = 1800s, .lease = 600s};
};

TEST_P(IngestDbContract, RecordsAKeyOnceAndSaysWhy) {
  const auto pointer = file("minute-watched", 1);
  EXPECT_EQ(m_store->record_file(pointer, m_clock.now()).value(), RecordOutcome::recorded);
  EXPECT_EQ(m_store->record_file(pointer, m_clock.now()).value(), RecordOutcome::already_pending);
  // The same key announced for another table or version is still the same file.
  auto other = pointer;
  other.version = 3;
  EXPECT_EQ(m_store->record_file(other, m_clock.now()).value(), RecordOutcome::already_pending);
}

TEST_P(IngestDbContract, RecordsSeveralFilesInOneCallWithTheOutcomeOfEach) {
  ASSERT_EQ(m_store->record_file(file("t", 1), m_clock.now()).value(), RecordOutcome::recorded);
  record("q", 6);
  const auto batch = claim({{"q", 0}});
  ASSERT_TRUE(batch);
  ASSERT_TRUE(m_store->split_batch(
      batch->manifest, {.quarantine = {{.key = batch->keys[0], .kind = "bad_value", .error = "x"}}},
      m_clock.now(), m_clock.now() + 60s));
  record("l", 1);
  const auto loaded = m_store->claim_batch({{"l", 0}}, {.count_trigger = 0}, m_clock.now());
  ASSERT_TRUE(loaded && loaded->batch);
  ASSERT_TRUE(m_store->complete_batch(loaded->batch->manifest, m_clock.now()).value());
  const std::vector<core::FilePointer> files{file("t", 2), file("t", 1), file("q", 0),
                                             file("l", 0), file("u", 7), file("t", 2)};

  const auto outcomes = m_store->record_files(files, m_clock.now());

  ASSERT_TRUE(outcomes) << outcomes.error().message;
  EXPECT_EQ(*outcomes,
            (std::vector<RecordOutcome>{RecordOutcome::recorded, RecordOutcome::already_pending,
                                        RecordOutcome::quarantined, RecordOutcome::recently_loaded,
                                        RecordOutcome::recorded, RecordOutcome::already_pending}));
  EXPECT_TRUE(m_store->has_files("u", 0).value());
  EXPECT_EQ(m_store->record_files({}, m_clock.now()).value(), std::vector<RecordOutcome>{});
}

TEST_P(IngestDbContract, CountTriggerNeedsMoreFilesThanTheTrigger) {
  record("t", 5);
  EXPECT_FALSE(claim({{"t", 0}}));
  record("t", 1, 0, 5);
  const auto batch = claim({{"t", 0}});
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->table, "t");
  EXPECT_EQ(batch->version, 0);
  EXPECT_EQ(batch->keys.size(), 6U);
  EXPECT_FALSE(batch->forced);
}

TEST_P(IngestDbContract, AgeTriggerFiresOnceTheOldestFileIsOlderThanTheTrigger) {
  record("t", 1);
  m_clock.advance(1798s); // The file is 1799 s old.
  EXPECT_FALSE(claim({{"t", 0}}));
  m_clock.advance(2s);
  const auto batch = claim({{"t", 0}});
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->keys, std::vector<std::string>{file("t", 0).key_name});
}

TEST_P(IngestDbContract, ForceLoadsJumpTheQueueAndAreMarkedStarted) {
  record("old", 1);
  record("forced", 1);
  m_clock.advance(3600s); // Both are old enough; "old" is older.
  EXPECT_TRUE(m_store->request_force_load("forced", "operator", m_clock.now()).value());
  EXPECT_FALSE(m_store->request_force_load("forced", "blueprint", m_clock.now()).value())
      << "idempotent";
  EXPECT_TRUE(m_store->force_load_requested("forced").value());

  const auto first = claim({{"old", 0}, {"forced", 0}});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->table, "forced");
  EXPECT_TRUE(first->forced);
  EXPECT_FALSE(m_store->force_load_requested("forced").value());

  const auto second = claim({{"old", 0}, {"forced", 0}});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->table, "old");
  // A new request after the first started is a new request.
  EXPECT_TRUE(m_store->request_force_load("forced", "operator", m_clock.now()).value());
}

TEST_P(IngestDbContract, ForceLoadMakesASmallGroupEligible) {
  record("t", 1);
  EXPECT_FALSE(claim({{"t", 0}}));
  ASSERT_TRUE(m_store->request_force_load("t", "operator", m_clock.now()));
  const auto batch = claim({{"t", 0}});
  ASSERT_TRUE(batch);
  EXPECT_TRUE(batch->forced);
}

TEST_P(IngestDbContract, OldestGroupFirst) {
  record("second", 6);
  m_clock.advance(-100s);
  record("first", 6, 0, 10);
  const auto batch = claim({{"first", 0}, {"second", 0}});
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->table, "first");
}

TEST_P(IngestDbContract, OnlyTheWarehouseVersionLoadsAndOlderVersionsAreReported) {
  record("t", 6, 1);
  EXPECT_FALSE(claim({})) << "no warehouse table yet";
  EXPECT_FALSE(claim({{"t", 0}})) << "newer than the warehouse: waits for the migrator";

  auto claimed = m_store->claim_batch({{"t", 2}}, m_policy, m_clock.now());
  ASSERT_TRUE(claimed);
  EXPECT_FALSE(claimed->batch);
  EXPECT_EQ(claimed->outdated, (std::vector<TableVersion>{{"t", 1}}));

  const auto batch = claim({{"t", 1}});
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->version, 1);
}

TEST_P(IngestDbContract, AfterAPartialClaimTheRestOfAGroupQueuesByItsOwnOldestFile) {
  // "a" has files at 0..9 s, "b" at 10..16 s; batches of 4 files. Each claim comes a few seconds
  // after the previous one (PostgreSQL's candidates of one search serve the claims of a second).
  record("a", 10);
  record("b", 7);
  m_policy.max_files = 4;
  const auto first = claim({{"a", 0}, {"b", 0}});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->table, "a");
  ASSERT_TRUE(m_store->complete_batch(first->manifest, m_clock.now()).value());
  m_clock.advance(3s);
  const auto second = claim({{"a", 0}, {"b", 0}});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->table, "a") << "a's oldest waiting file (4 s) is older than b's (10 s)";
  EXPECT_EQ(second->keys.front(), file("a", 4).key_name);
  EXPECT_EQ(second->oldest_file, m_clock.now() - 16s);
  ASSERT_TRUE(m_store->complete_batch(second->manifest, m_clock.now()).value());
  m_clock.advance(3s);
  m_policy.max_files = 0;
  const auto third = claim({{"a", 0}, {"b", 0}});
  ASSERT_TRUE(third);
  EXPECT_EQ(third->table, "b") << "a has 2 files left, not more than the count trigger";
  EXPECT_EQ(third->keys.size(), 7U);

  const auto stats = m_store->pending_stats({{"a", 0}, {"b", 0}}, 5).value();
  ASSERT_EQ(stats.size(), 2U);
  EXPECT_EQ(stats[0].table, "a");
  EXPECT_EQ(stats[0].count, 2);
  EXPECT_EQ(stats[0].oldest, m_clock.now() - 15s);
  EXPECT_EQ(stats[1].table, "b");
  EXPECT_EQ(stats[1].count, 7) << "in flight still counts as waiting";
  EXPECT_EQ(m_store->pending_versions().value(), (VersionMap{{"a", 0}, {"b", 0}}));
}

TEST_P(IngestDbContract, AGroupBehindManyThatCannotLoadYetIsClaimed) {
  // 250 older groups whose tables the warehouse does not have yet, then one it has: the search
  // must look past them (PostgreSQL reads them in pages of 100).
  std::vector<core::FilePointer> files;
  for (int table = 0; table < 250; ++table) {
    for (int index = 0; index < 6; ++index) {
      files.push_back(file(fmt::format("new-{:03}", table), index));
    }
  }
  ASSERT_TRUE(m_store->record_files(files, m_clock.now()));
  m_clock.advance(1s);
  record("known", 6);
  const auto batch = claim({{"known", 0}});
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->table, "known");
  EXPECT_FALSE(claim({{"known", 0}}));
}

TEST_P(IngestDbContract, ATableNeverHasTwoBatchesInFlight) {
  record("t", 6);
  const auto first = claim({{"t", 0}});
  ASSERT_TRUE(first);
  record("t", 6, 0, 100);
  EXPECT_FALSE(claim({{"t", 0}})) << "the first batch is still loading";
  ASSERT_TRUE(m_store->complete_batch(first->manifest, m_clock.now()).value());
  const auto second = claim({{"t", 0}});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->keys.size(), 6U);
}

TEST_P(IngestDbContract, MaxFilesCapsABatch) {
  record("t", 10);
  m_policy.max_files = 4;
  const auto first = claim({{"t", 0}});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->keys.size(), 4U);
  EXPECT_EQ(first->keys.front(), file("t", 0).key_name) << "oldest files first";
}

TEST_P(IngestDbContract, CompletingABatchClearsItRemembersItsKeysAndSetsLastLoad) {
  record("t", 6);
  const auto batch = claim({{"t", 0}});
  ASSERT_TRUE(batch);
  const TimePoint done_at = m_clock.now();
  ASSERT_TRUE(m_store->complete_batch(batch->manifest, done_at).value());
  EXPECT_FALSE(m_store->complete_batch(batch->manifest, done_at).value()) << "already completed";

  EXPECT_TRUE(m_store->pending_versions().value().empty());
  EXPECT_FALSE(m_store->has_files("t", 0).value());
  const auto loads = m_store->last_loads().value();
  ASSERT_EQ(loads.count("t"), 1U);
  EXPECT_EQ(loads.at("t"), done_at);

  // A redelivered pointer of a loaded file is recognised...
  EXPECT_EQ(m_store->record_file(file("t", 2), m_clock.now()).value(),
            RecordOutcome::recently_loaded);
  // ...until the history window has passed.
  m_clock.advance(std::chrono::hours(24 * 7) + 1s);
  EXPECT_EQ(m_store->record_file(file("t", 2), m_clock.now()).value(), RecordOutcome::recorded);
}

TEST_P(IngestDbContract, PruningForgetsOldLoadedKeys) {
  record("t", 6);
  const auto batch = claim({{"t", 0}});
  ASSERT_TRUE(batch);
  ASSERT_TRUE(m_store->complete_batch(batch->manifest, m_clock.now()));
  EXPECT_EQ(m_store->prune_loaded_keys(m_clock.now() - 1s).value(), 0);
  EXPECT_EQ(m_store->prune_loaded_keys(m_clock.now() + 1s).value(), 6);
  EXPECT_EQ(m_store->record_file(file("t", 0), m_clock.now()).value(), RecordOutcome::recorded);
}

TEST_P(IngestDbContract, CompletedBatchesAddToTheirTablesLoadHistoryPerMinute) {
  const TimePoint minute = std::chrono::floor<std::chrono::minutes>(m_clock.now());
  const auto load = [&](const std::string& table, int files, std::int64_t rows, int first) {
    record(table, files, 0, first);
    const auto batch = claim({{table, 0}});
    ASSERT_TRUE(batch);
    ASSERT_EQ(batch->keys.size(), static_cast<std::size_t>(files));
    ASSERT_TRUE(m_store->complete_batch(batch->manifest, m_clock.now(), rows).value());
  };
  m_policy.count_trigger = 0;
  load("a", 2, 100, 0);
  load("a", 3, 50, 2); // The same minute: added up.
  load("b", 1, 7, 0);
  m_clock.advance(2min);
  load("a", 1, 0, 5);
  const TimePoint later = std::chrono::floor<std::chrono::minutes>(m_clock.now());

  const auto history = m_store->load_history(minute).value();

  ASSERT_EQ(history.size(), 3U);
  EXPECT_EQ(history[0].table, "a");
  EXPECT_EQ(history[0].minute, minute);
  EXPECT_EQ(history[0].batches, 2);
  EXPECT_EQ(history[0].files, 5);
  EXPECT_EQ(history[0].rows, 150);
  EXPECT_EQ(history[1].table, "a");
  EXPECT_EQ(history[1].minute, later);
  EXPECT_EQ(history[1].files, 1);
  EXPECT_EQ(history[2].table, "b");
  EXPECT_EQ(history[2].rows, 7);
  EXPECT_EQ(m_store->load_history(later).value().size(), 1U) << "from `since`'s minute on";
  EXPECT_EQ(m_store->load_history(minute + 59s).value().size(), 3U)
      << "the minute `since` falls in counts";

  ASSERT_TRUE(m_store->prune_loaded_keys(later));
  EXPECT_EQ(m_store->load_history(minute).value().size(), 1U) << "pruned with the loaded keys";
}

TEST_P(IngestDbContract, BatchesSayWhenTheyWereCreated) {
  record("t", 6);
  const TimePoint claimed_at = m_clock.now();
  const auto batch = claim({{"t", 0}});
  ASSERT_TRUE(batch);
  m_clock.advance(5s);
  const auto in_flight = m_store->in_flight_batches(m_clock.now()).value();
  ASSERT_EQ(in_flight.size(), 1U);
  EXPECT_EQ(in_flight[0].created_at, claimed_at);
  ASSERT_TRUE(m_store->fail_batch(batch->manifest, "boom", m_clock.now()).value());
  EXPECT_EQ(m_store->find_batch(batch->manifest).value()->created_at, claimed_at);
}

TEST_P(IngestDbContract, RejectedMessagesAreCountedPerKindAndTable) {
  const auto reject = [&](const std::string& id, const std::string& kind,
                          const std::string& table) {
    ASSERT_TRUE(m_store->reject_message({.message_id = id,
                                         .reason = "why",
                                         .body = "{}",
                                         .received_at = m_clock.now(),
                                         .kind = kind,
                                         .table = table}));
  };
  reject("1", "unknown_table", "x");
  reject("2", "unknown_table", "x");
  reject("3", "unknown_table", "y");
  reject("4", "malformed", "");
  reject("5", "", "");

  const auto counts = m_store->rejected_counts(10).value();

  ASSERT_EQ(counts.size(), 4U);
  EXPECT_EQ(counts[0].kind, "unknown_table");
  EXPECT_EQ(counts[0].table, "x");
  EXPECT_EQ(counts[0].messages, 2);
  std::set<std::tuple<std::string, std::string, std::int64_t>> rest;
  for (std::size_t index = 1; index < counts.size(); ++index) {
    rest.emplace(counts[index].kind, counts[index].table, counts[index].messages);
  }
  EXPECT_EQ(rest, (std::set<std::tuple<std::string, std::string, std::int64_t>>{
                      {"", "", 1}, {"malformed", "", 1}, {"unknown_table", "y", 1}}));
  EXPECT_EQ(m_store->rejected_counts(1).value().size(), 1U) << "the largest group first";
}

TEST_P(IngestDbContract, FailedBatchesAreRetriedWhenTheirTimeComesUpToMaxRetries) {
  record("t", 6);
  const auto batch = claim({{"t", 0}});
  ASSERT_TRUE(batch);
  const TimePoint retry_at = m_clock.now() + 900s;
  ASSERT_TRUE(m_store->fail_batch(batch->manifest, "COPY failed: line 3", retry_at).value());
  EXPECT_FALSE(m_store->fail_batch("00000000-0000-4000-8000-000000000000", "x", retry_at).value());

  EXPECT_FALSE(m_store->claim_retryable_batch(2, 600s, m_clock.now()).value()) << "not yet";
  m_clock.advance(901s);
  for (int attempt = 1; attempt <= 2; ++attempt) {
    const auto retry = m_store->claim_retryable_batch(2, 600s, m_clock.now()).value();
    ASSERT_TRUE(retry) << "attempt " << attempt;
    EXPECT_EQ(retry->manifest, batch->manifest);
    EXPECT_EQ(retry->retry_count, attempt);
    EXPECT_EQ(retry->last_error.value_or(""), "COPY failed: line 3");
    EXPECT_EQ(retry->keys, batch->keys);
    EXPECT_FALSE(m_store->claim_retryable_batch(2, 600s, m_clock.now()).value()) << "in flight";
    ASSERT_TRUE(m_store->fail_batch(batch->manifest, "COPY failed: line 3", m_clock.now() - 1s));
  }
  EXPECT_FALSE(m_store->claim_retryable_batch(2, 600s, m_clock.now()).value())
      << "retries exhausted";
  const auto stale = m_store->stale_batches(2).value();
  ASSERT_EQ(stale.size(), 1U);
  EXPECT_EQ(stale[0].manifest, batch->manifest);
  EXPECT_EQ(stale[0].table, "t");
  EXPECT_EQ(stale[0].retry_count, 2);
  EXPECT_EQ(stale[0].keys.size(), 6U);
}

TEST_P(IngestDbContract, AFailedBatchDoesNotBlockNewBatchesButARetryWaitsForTheTable) {
  record("t", 6);
  const auto failed = claim({{"t", 0}});
  ASSERT_TRUE(failed);
  ASSERT_TRUE(m_store->fail_batch(failed->manifest, "boom", m_clock.now()));
  record("t", 6, 0, 100);
  const auto fresh = claim({{"t", 0}});
  ASSERT_TRUE(fresh) << "a failed batch is not in flight";
  m_clock.advance(1s);
  EXPECT_FALSE(m_store->claim_retryable_batch(5, 600s, m_clock.now()).value())
      << "the table is busy";
  ASSERT_TRUE(m_store->complete_batch(fresh->manifest, m_clock.now()));
  EXPECT_TRUE(m_store->claim_retryable_batch(5, 600s, m_clock.now()).value());
}

TEST_P(IngestDbContract, BatchesWhoseLeaseRanOutAreOrphans) {
  record("t", 6);
  const auto batch = claim({{"t", 0}}); // Lease 600 s.
  ASSERT_TRUE(batch);
  m_clock.advance(599s);
  EXPECT_TRUE(m_store->orphaned_batches(m_clock.now()).value().empty());
  ASSERT_TRUE(m_store->renew_lease(batch->manifest, m_clock.now() + 600s).value());
  m_clock.advance(599s);
  EXPECT_TRUE(m_store->orphaned_batches(m_clock.now()).value().empty());
  m_clock.advance(2s);
  const auto orphans = m_store->orphaned_batches(m_clock.now()).value();
  ASSERT_EQ(orphans.size(), 1U);
  EXPECT_EQ(orphans[0].manifest, batch->manifest);
  EXPECT_EQ(orphans[0].keys, batch->keys);

  // Failing it puts it on the retry path; a failed batch has no lease to renew.
  ASSERT_TRUE(m_store->fail_batch(batch->manifest, "orphaned", m_clock.now()));
  EXPECT_FALSE(m_store->renew_lease(batch->manifest, m_clock.now() + 600s).value());
  EXPECT_TRUE(m_store->orphaned_batches(m_clock.now()).value().empty());
}

TEST_P(IngestDbContract, PendingVersionsAndFiles) {
  record("a", 2, 0);
  record("a", 1, 3, 10);
  record("b", 1, 1);
  const auto versions = m_store->pending_versions().value();
  EXPECT_EQ(versions, (VersionMap{{"a", 3}, {"b", 1}}));
  EXPECT_TRUE(m_store->has_files("a", 0).value());
  EXPECT_TRUE(m_store->has_files("a", 3).value());
  EXPECT_FALSE(m_store->has_files("a", 1).value());
  EXPECT_FALSE(m_store->has_files("c", 0).value());
}

TEST_P(IngestDbContract, PendingStatsSplitQueueStaleAndMigration) {
  record("queued", 2);
  const TimePoint queued_oldest = m_clock.now() - 2s;
  record("newer", 3, 2);
  record("stuck", 6);
  const auto batch = claim({{"stuck", 0}});
  ASSERT_TRUE(batch);
  ASSERT_TRUE(m_store->fail_batch(batch->manifest, "bad file", m_clock.now()));
  // One retry allowed and used: the batch is stale.
  m_clock.advance(1s);
  ASSERT_TRUE(m_store->claim_retryable_batch(1, 60s, m_clock.now()).value());
  ASSERT_TRUE(m_store->fail_batch(batch->manifest, "bad file", m_clock.now()));

  const auto stats = m_store->pending_stats({{"queued", 0}, {"newer", 1}, {"stuck", 0}}, 1).value();
  auto find = [&](PendingKind kind, const std::string& table) -> const PendingStat* {
    const auto found = std::find_if(stats.begin(), stats.end(), [&](const PendingStat& stat) {
      return stat.kind == kind && stat.table == table;
    });
    return found == stats.end() ? nullptr : &*found;
  };
  ASSERT_EQ(stats.size(), 3U);
  ASSERT_TRUE(find(PendingKind::in_queue, "queued"));
  EXPECT_EQ(find(PendingKind::in_queue, "queued")->count, 2);
  EXPECT_EQ(find(PendingKind::in_queue, "queued")->oldest, queued_oldest);
  ASSERT_TRUE(find(PendingKind::pending_migration, "newer"));
  EXPECT_EQ(find(PendingKind::pending_migration, "newer")->count, 3);
  ASSERT_TRUE(find(PendingKind::stale, "stuck"));
  EXPECT_EQ(find(PendingKind::stale, "stuck")->count, 6);
}

TEST_P(IngestDbContract, RejectedMessagesKeepTheirReasonAndExactBody) {
  const std::string body("{\"KeyName\":\x00\xff}", 15);
  ASSERT_TRUE(m_store->reject_message({.message_id = "m-1",
                                       .reason = "parse queue message: not JSON",
                                       .body = body,
                                       .received_at = m_clock.now()}));
  m_clock.advance(1s);
  ASSERT_TRUE(m_store->reject_message({.message_id = "m-2",
                                       .reason = "table \"x\xff\" is not in the event metadata",
                                       .body = "{}",
                                       .received_at = m_clock.now()}));
  const auto rejected = m_store->rejected_messages(10).value();
  ASSERT_EQ(rejected.size(), 2U);
  EXPECT_EQ(rejected[0].message.message_id, "m-2") << "newest first";
  EXPECT_EQ(rejected[0].message.reason, "table \"x?\" is not in the event metadata");
  EXPECT_EQ(rejected[1].message.body, body);
  EXPECT_EQ(rejected[1].message.received_at, m_clock.now() - 1s);
  EXPECT_EQ(m_store->rejected_messages(1).value().size(), 1U);
}

TEST_P(IngestDbContract, OpeningAgainKeepsEverything) {
  record("t", 6);
  const auto batch = claim({{"t", 0}});
  ASSERT_TRUE(batch);
  auto reopened = open();
  ASSERT_TRUE(reopened) << reopened.error().message;
  m_clock.advance(3600s);
  const auto orphans = (*reopened)->orphaned_batches(m_clock.now()).value();
  ASSERT_EQ(orphans.size(), 1U);
  EXPECT_EQ(orphans[0].manifest, batch->manifest);
  EXPECT_TRUE((*reopened)->ping());
}

TEST_P(IngestDbContract, HostileTableNamesAreJustValues) {
  const std::string hostile = "t\"; DROP TABLE tsv; --";
  record(hostile, 6);
  const auto batch = claim({{hostile, 0}});
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->table, hostile);
  ASSERT_TRUE(m_store->complete_batch(batch->manifest, m_clock.now()).value());
  EXPECT_EQ(m_store->last_loads().value().count(hostile), 1U);
}

TEST_P(IngestDbContract, AReleasedBatchIsRetriedWithoutSpendingARetry) {
  record("t", 6);
  const auto batch = claim({{"t", 0}});
  ASSERT_TRUE(batch);
  ASSERT_TRUE(m_store->release_batch(batch->manifest, m_clock.now()).value());
  EXPECT_FALSE(m_store->release_batch(batch->manifest, m_clock.now()).value())
      << "no longer in flight";
  m_clock.advance(1s);
  const auto again = m_store->claim_retryable_batch(1, 60s, m_clock.now()).value();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->retry_count, 0) << "a release spends no retry";
  ASSERT_TRUE(m_store->fail_batch(batch->manifest, "bad value", m_clock.now()));
  m_clock.advance(1s);
  const auto retried = m_store->claim_retryable_batch(1, 60s, m_clock.now()).value();
  ASSERT_TRUE(retried);
  EXPECT_EQ(retried->retry_count, 1);
}

TEST_P(IngestDbContract, AReleaseDuringTheLastRetryDoesNotMakeTheBatchStale) {
  record("t", 6);
  const auto batch = claim({{"t", 0}});
  ASSERT_TRUE(batch);
  ASSERT_TRUE(m_store->fail_batch(batch->manifest, "bad value", m_clock.now()));
  m_clock.advance(1s);
  const auto last_retry = m_store->claim_retryable_batch(1, 60s, m_clock.now()).value();
  ASSERT_TRUE(last_retry);
  EXPECT_EQ(last_retry->retry_count, 1);
  // The last retry hits a transient fault (or its loader stops): released, not failed.
  ASSERT_TRUE(m_store->release_batch(batch->manifest, m_clock.now()));
  EXPECT_TRUE(m_store->stale_batches(1).value().empty());
  m_clock.advance(1s);
  const auto again = m_store->claim_retryable_batch(1, 60s, m_clock.now()).value();
  ASSERT_TRUE(again) << "a released batch is retried even at its last attempt";
  EXPECT_EQ(again->retry_count, 1);
}

TEST_P(IngestDbContract, StaleBatchesCanBeRetriedOrSkippedWithAnAuditRecord) {
  record("t", 6);
  const auto batch = claim({{"t", 0}});
  ASSERT_TRUE(batch);
  EXPECT_FALSE(m_store->retry_batch(batch->manifest, m_clock.now()).value()) << "in flight";
  EXPECT_FALSE(m_store->skip_batch(batch->manifest, "operator", m_clock.now()).value())
      << "in flight";
  ASSERT_TRUE(m_store->fail_batch(batch->manifest, "line 3: bad", m_clock.now() - 1s));
  ASSERT_TRUE(m_store->claim_retryable_batch(1, 60s, m_clock.now()).value());
  ASSERT_TRUE(m_store->fail_batch(batch->manifest, "line 3: bad", m_clock.now() - 1s));
  ASSERT_EQ(m_store->stale_batches(1).value().size(), 1U);

  ASSERT_TRUE(m_store->retry_batch(batch->manifest, m_clock.now()).value());
  EXPECT_TRUE(m_store->stale_batches(1).value().empty());
  m_clock.advance(1s);
  const auto retried = m_store->claim_retryable_batch(1, 60s, m_clock.now()).value();
  ASSERT_TRUE(retried);
  EXPECT_EQ(retried->retry_count, 0);
  ASSERT_TRUE(m_store->fail_batch(batch->manifest, "line 3: bad", m_clock.now()));

  const auto found = m_store->find_batch(batch->manifest).value();
  ASSERT_TRUE(found);
  EXPECT_EQ(found->keys.size(), 6U);
  EXPECT_FALSE(m_store->find_batch("00000000-0000-4000-8000-000000000000").value());
  EXPECT_FALSE(m_store->find_batch("not a uuid").value());

  const auto skipped =
      m_store->skip_batch(batch->manifest, "oncall@example", m_clock.now()).value();
  ASSERT_TRUE(skipped);
  EXPECT_EQ(skipped->keys.size(), 6U);
  EXPECT_EQ(skipped->last_error.value_or(""), "line 3: bad");
  EXPECT_FALSE(m_store->find_batch(batch->manifest).value());
  EXPECT_FALSE(m_store->has_files("t", 0).value());
  EXPECT_FALSE(m_store->skip_batch(batch->manifest, "oncall@example", m_clock.now()).value())
      << "gone";
}

TEST_P(IngestDbContract, SplittingABatchQuarantinesLoadsNowAndKeepsTheRestABatchDueAtOnce) {
  record("t", 6);
  const auto batch = claim({{"t", 0}});
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->keys.size(), 6U);
  const BatchSplit split{
      .quarantine =
          {{.key = batch->keys[1],
            .kind = "corrupt_gzip",
            .error = "read s3://b/k: gzip member 1: invalid gzip header"},
           {.key = batch->keys[4], .kind = "bad_value", .error = "bad", .line = 9, .column = 2}},
      .load_now = {batch->keys[0], batch->keys[2]}};
  m_clock.advance(1s);

  const auto next =
      m_store->split_batch(batch->manifest, split, m_clock.now(), m_clock.now() + 60s);

  ASSERT_TRUE(next) << next.error().message;
  ASSERT_TRUE(*next);
  EXPECT_NE((*next)->manifest, batch->manifest);
  EXPECT_EQ((*next)->keys, (std::vector<std::string>{batch->keys[0], batch->keys[2]}));
  EXPECT_EQ((*next)->retry_count, 0);
  EXPECT_EQ((*next)->oldest_file, m_clock.now() - 7s) << "the first file's time";
  EXPECT_FALSE(m_store->find_batch(batch->manifest).value()) << "the old manifest is gone";
  const auto in_flight = m_store->in_flight_batches(m_clock.now()).value();
  ASSERT_EQ(in_flight.size(), 1U);
  EXPECT_EQ(in_flight[0].manifest, (*next)->manifest);

  const auto quarantined = m_store->quarantined_files(10).value();
  ASSERT_EQ(quarantined.size(), 2U);
  EXPECT_EQ(quarantined[0].key, batch->keys[1]);
  EXPECT_EQ(quarantined[0].kind, "corrupt_gzip");
  EXPECT_EQ(quarantined[0].line, 0);
  EXPECT_EQ(quarantined[0].attempts, 1);
  EXPECT_EQ(quarantined[0].received_at, m_clock.now() - 6s);
  EXPECT_EQ(quarantined[0].first_seen, m_clock.now());
  EXPECT_EQ(quarantined[1].key, batch->keys[4]);
  EXPECT_EQ(quarantined[1].line, 9);
  EXPECT_EQ(quarantined[1].column, 2);
  EXPECT_EQ(m_store->record_file(file("t", 1), m_clock.now()).value(), RecordOutcome::quarantined)
      << "a quarantined key is not recorded again until an operator retries it";

  // The two files of neither list stay a batch of their own, due at once when the table has no
  // batch in flight.
  EXPECT_FALSE(m_store->claim_retryable_batch(5, 60s, m_clock.now()).value())
      << "the table has a batch in flight";
  ASSERT_TRUE(m_store->complete_batch((*next)->manifest, m_clock.now()).value());
  const auto rest = m_store->claim_retryable_batch(5, 60s, m_clock.now()).value();
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->keys, (std::vector<std::string>{batch->keys[3], batch->keys[5]}));
  EXPECT_EQ(rest->retry_count, 0) << "no retry spent";
  ASSERT_TRUE(m_store->complete_batch(rest->manifest, m_clock.now()).value());

  const auto stats = m_store->pending_stats({{"t", 0}}, 5).value();
  const auto quarantined_stat = std::find_if(stats.begin(), stats.end(), [](const auto& stat) {
    return stat.kind == PendingKind::quarantined;
  });
  ASSERT_NE(quarantined_stat, stats.end());
  EXPECT_EQ(quarantined_stat->table, "t");
  EXPECT_EQ(quarantined_stat->count, 2);
  EXPECT_EQ(quarantined_stat->oldest, m_clock.now());
}

TEST_P(IngestDbContract, SplittingABatchNoLongerInFlightIsAConflictAndChangesNothing) {
  record("t", 6);
  const auto batch = claim({{"t", 0}});
  ASSERT_TRUE(batch);
  ASSERT_TRUE(m_store->release_batch(batch->manifest, m_clock.now()).value());
  const auto split = m_store->split_batch(
      batch->manifest, {.quarantine = {{.key = batch->keys[0], .kind = "bad_value", .error = "x"}}},
      m_clock.now(), m_clock.now() + 60s);
  ASSERT_FALSE(split);
  EXPECT_EQ(split.error().kind, ErrorKind::conflict);
  EXPECT_TRUE(m_store->quarantined_files(10).value().empty());
  EXPECT_EQ(m_store->find_batch(batch->manifest).value()->keys.size(), 6U);
}

TEST_P(IngestDbContract, QuarantinedFilesAreRetriedOrDroppedBySelectionAndCountAgain) {
  record("t", 6);
  record("u", 6);
  for (const std::string table : {"t", "u"}) {
    const auto batch = claim({{table, 0}});
    ASSERT_TRUE(batch);
    ASSERT_TRUE(m_store->split_batch(
        batch->manifest,
        {.quarantine = {{.key = batch->keys[0], .kind = "bad_value", .error = "x"},
                        {.key = batch->keys[1], .kind = "truncated_gzip", .error = "y"}}},
        m_clock.now(), m_clock.now() + 60s));
  }
  ASSERT_EQ(m_store->quarantined_files(10).value().size(), 4U);
  EXPECT_EQ(m_store->quarantined_files(3).value().size(), 3U) << "the limit";
  const auto files = m_store->quarantined_files(10).value();

  // Ids and table together: only the listed files of that table.
  const auto none =
      m_store->retry_quarantined({.table = "u", .ids = {files[0].id}}, "ops", m_clock.now());
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  const auto retried = m_store->retry_quarantined({.ids = {files[0].id}}, "ops", m_clock.now());
  ASSERT_TRUE(retried);
  ASSERT_EQ(retried->size(), 1U);
  EXPECT_EQ(retried->at(0).file.key, files[0].key);
  EXPECT_EQ(retried->at(0).action, QuarantineAction::requeued);
  EXPECT_EQ(m_store->record_file(file(files[0].table, 0), m_clock.now()).value(),
            RecordOutcome::already_pending);

  // Quarantined again later: one more attempt, first seen kept.
  m_clock.advance(10s);
  ASSERT_TRUE(m_store->request_force_load(files[0].table, "test", m_clock.now()));
  const auto again = claim({{files[0].table, 0}});
  ASSERT_TRUE(again);
  ASSERT_NE(std::find(again->keys.begin(), again->keys.end(), files[0].key), again->keys.end());
  ASSERT_TRUE(m_store->split_batch(
      again->manifest, {.quarantine = {{.key = files[0].key, .kind = "bad_value", .error = "z"}}},
      m_clock.now(), m_clock.now() + 60s));
  const auto after = m_store->quarantined_files(10).value();
  const auto requarantined = std::find_if(
      after.begin(), after.end(), [&](const auto& found) { return found.key == files[0].key; });
  ASSERT_NE(requarantined, after.end());
  EXPECT_EQ(requarantined->attempts, 2);
  EXPECT_EQ(requarantined->error, "z");
  EXPECT_EQ(requarantined->first_seen, files[0].first_seen);
  EXPECT_EQ(requarantined->last_seen, m_clock.now());

  const auto dropped = m_store->drop_quarantined({.table = "u"}, "ops", m_clock.now());
  ASSERT_TRUE(dropped);
  EXPECT_EQ(dropped->size(), 2U);
  for (const auto& outcome : *dropped) {
    EXPECT_EQ(outcome.action, QuarantineAction::dropped);
    EXPECT_EQ(outcome.file.table, "u");
  }
  EXPECT_EQ(m_store->quarantined_files(10).value().size(), 2U);
  const auto all = m_store->drop_quarantined({}, "ops", m_clock.now());
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2U);
  EXPECT_TRUE(m_store->quarantined_files(10).value().empty());
}

TEST_P(IngestDbContract, InFlightBatchesAreListedUntilTheirLeaseRunsOut) {
  record("t", 6);
  const auto batch = claim({{"t", 0}});
  ASSERT_TRUE(batch);
  const auto in_flight = m_store->in_flight_batches(m_clock.now()).value();
  ASSERT_EQ(in_flight.size(), 1U);
  EXPECT_EQ(in_flight[0].manifest, batch->manifest);
  m_clock.advance(m_policy.lease + 1s);
  EXPECT_TRUE(m_store->in_flight_batches(m_clock.now()).value().empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, IngestDbContract,
                         ::testing::Values(testing::k_sqlite, testing::k_postgres),
                         testing::backend_name);

} // namespace
} // namespace rsi::ingestdb
