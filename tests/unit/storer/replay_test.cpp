// The replay of rejected messages, against a real SQLite ingester database and a scripted table
// directory: what is accepted now leaves rejected_message, what is still rejected stays with its
// new reason, kind and table, an unanswering dependency changes nothing.
#include "storer/replay.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/file_pointer.hpp"
#include "ingestdb/sqlite_ingest_db.hpp"
#include "support/fake_clock.hpp"
#include "support/forwarding_ingest_db.hpp"
#include "support/scripted_tables.hpp"
#include "support/temp_dir.hpp"

namespace rsi::storer {
namespace {

using namespace std::chrono_literals;

// A real store whose record of pointers fails on demand (for pointers of `failing_table`).
class FlakyStore final : public test::ForwardingIngestDb {
public:
  using ForwardingIngestDb::ForwardingIngestDb;
  std::optional<Error> record_error;
  std::string failing_table;

  Result<std::vector<ingestdb::RecordOutcome>>
  record_files(std::span<const core::FilePointer> files, TimePoint at) override {
    if (record_error && files.front().table == failing_table) {
      return fail(*record_error);
    }
    return m_real.record_files(files, at);
  }
};

std::string pointer(const std::string& table, const std::string& file, int version = 0) {
  return core::encode_file_pointer(
      {.key_name = "bucket/" + table + "/" + file, .table = table, .version = version});
}

std::string s3_created(const std::string& bucket, const std::string& key) {
  return nlohmann::json{{"Records",
                         {{{"eventName", "ObjectCreated:Put"},
                           {"s3", {{"bucket", {{"name", bucket}}}, {"object", {{"key", key}}}}}}}}}
      .dump();
}

class ReplayTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto store = ingestdb::make_sqlite_ingest_db({.path = m_dir.path("ingester.db")});
    ASSERT_TRUE(store) << store.error().message;
    m_real = std::move(*store);
    m_store = std::make_unique<FlakyStore>(*m_real);
    m_tables.publish("clicks");
    m_tables.leave_out_of_ace("not_loaded");
    make_replayer({});
  }

  void make_replayer(RoutingConfig routing) {
    m_replayer = std::make_unique<Replayer>(
        *m_store, m_tables, m_clock, m_metrics,
        ReplayConfig{.routing = std::move(routing), .refresh = [this]() -> Result<void> {
                       ++m_refreshes;
                       return m_refresh_result;
                     }});
  }

  // Keep `body` as the listeners would have, and return its id.
  std::int64_t reject(const std::string& body, const std::string& kind,
                      const std::string& table = "") {
    auto kept = m_real->reject_message({.message_id = fmt::format("m-{}", ++m_messages),
                                        .reason = "rejected at first as " + kind,
                                        .body = body,
                                        .received_at = m_clock.now(),
                                        .kind = kind,
                                        .table = table});
    EXPECT_TRUE(kept) << kept.error().message;
    return m_real->rejected_messages(1).value().at(0).id;
  }

  ReplayReport replay(ingestdb::RejectedSelection selection = {.limit = 100}) {
    auto report = m_replayer->replay(selection, "tester");
    EXPECT_TRUE(report) << report.error().message;
    return report.value_or(ReplayReport{});
  }

  std::map<std::int64_t, ingestdb::StoredRejection> left() {
    std::map<std::int64_t, ingestdb::StoredRejection> rows;
    auto listed = m_real->rejected_messages(1000).value();
    for (auto& row : listed) {
      rows[row.id] = std::move(row);
    }
    return rows;
  }

  test::TempDir m_dir;
  test::FakeClock m_clock;
  telemetry::Metrics m_metrics{"metadatastorer"};
  test::ScriptedTables m_tables;
  std::unique_ptr<ingestdb::IngestDb> m_real;
  std::unique_ptr<FlakyStore> m_store;
  std::unique_ptr<Replayer> m_replayer;
  int m_refreshes = 0;
  Result<void> m_refresh_result;
  int m_messages = 0;
};

TEST_F(ReplayTest, AMessageOfATablePublishedSinceIsRecordedAndLeaves) {
  const auto id = reject(pointer("late_table", "a.gz"), "unknown_table", "late_table");
  m_tables.publish("late_table");

  const auto report = replay();

  ASSERT_EQ(report.messages.size(), 1U);
  EXPECT_EQ(report.messages[0].id, id);
  EXPECT_EQ(report.messages[0].message_id, "m-1");
  EXPECT_EQ(report.messages[0].outcome, ReplayOutcome::recorded);
  EXPECT_EQ(report.messages[0].files, 1U);
  EXPECT_EQ(report.messages[0].table, "late_table");
  EXPECT_FALSE(report.next_after_id);
  EXPECT_TRUE(left().empty());
  EXPECT_EQ(m_real->pending_versions().value(), (ingestdb::VersionMap{{"late_table", 0}}));
  const std::string metrics = m_metrics.prometheus_text();
  EXPECT_NE(metrics.find("rsi_messages_replayed_total{outcome=\"recorded\"} 1"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("rsi_tsv_files_queued_total{table=\"late_table\"} 1"), std::string::npos)
      << metrics;
}

TEST_F(ReplayTest, WhatIsStillRejectedStaysWithItsNewReasonKindAndTable) {
  const auto still_unknown = reject(pointer("never_published", "a.gz"), "unknown_table");
  const auto malformed = reject("not json", "malformed", "clicks");

  const auto report = replay();

  ASSERT_EQ(report.messages.size(), 2U);
  EXPECT_EQ(report.messages[0].outcome, ReplayOutcome::rejected);
  EXPECT_EQ(report.messages[0].kind, "unknown_table");
  EXPECT_EQ(report.messages[0].table, "never_published");
  EXPECT_EQ(report.messages[1].outcome, ReplayOutcome::rejected);
  EXPECT_EQ(report.messages[1].kind, "malformed");
  EXPECT_EQ(report.messages[1].table, "") << "a malformed body names no table";
  auto rows = left();
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[still_unknown].message.reason,
            "table \"never_published\" is not in the event metadata");
  EXPECT_EQ(rows[still_unknown].message.table, "never_published") << "learnt from the replay";
  EXPECT_NE(rows[malformed].message.reason.find("parse queue message"), std::string::npos)
      << rows[malformed].message.reason;
  EXPECT_EQ(rows[malformed].message.table, "");
  EXPECT_EQ(rows[malformed].message.body, "not json") << "the body stays as received";
  EXPECT_EQ(rows[malformed].message.message_id, "m-2");
}

TEST_F(ReplayTest, DuplicatesAndMessagesWithNothingToLoadLeaveToo) {
  ASSERT_TRUE(m_real->record_file(
      {.key_name = "bucket/clicks/a.gz", .table = "clicks", .version = 0}, m_clock.now()));
  reject(pointer("clicks", "a.gz"), "unrecordable", "clicks");
  reject(pointer("not_loaded", "b.gz"), "unknown_table", "not_loaded");
  reject(R"({"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"})", "malformed");

  const auto report = replay();

  ASSERT_EQ(report.messages.size(), 3U);
  EXPECT_EQ(report.messages[0].outcome, ReplayOutcome::duplicate);
  EXPECT_EQ(report.messages[0].files, 0U);
  EXPECT_EQ(report.messages[1].outcome, ReplayOutcome::skipped);
  EXPECT_EQ(report.messages[2].outcome, ReplayOutcome::skipped);
  EXPECT_TRUE(left().empty());
}

TEST_F(ReplayTest, AnUnansweringEventMetadataChangesNothing) {
  const auto id = reject(pointer("clicks", "a.gz"), "unknown_table", "clicks");
  m_tables.set_unavailable(true);
  m_refresh_result = fail(ErrorKind::transient, "read event metadata: connection refused");

  const auto report = replay();

  EXPECT_EQ(m_refreshes, 1) << "the event metadata is reloaded once per replay";
  ASSERT_EQ(report.messages.size(), 1U);
  EXPECT_EQ(report.messages[0].outcome, ReplayOutcome::unavailable);
  EXPECT_NE(report.messages[0].reason.find("not loaded yet"), std::string::npos);
  auto rows = left();
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[id].message.reason, "rejected at first as unknown_table");
  EXPECT_EQ(rows[id].message.kind, "unknown_table");
  EXPECT_EQ(m_real->pending_versions().value(), ingestdb::VersionMap{});
}

TEST_F(ReplayTest, APointerTheDatabaseRefusesIsUnrecordableAndAnOutageStopsTheReplay) {
  reject(pointer("clicks", "a.gz"), "unknown_table", "clicks");
  m_store->failing_table = "clicks";
  m_store->record_error = Error{ErrorKind::permanent, "value too long for type varchar(20)"};

  const auto refused = replay();

  ASSERT_EQ(refused.messages.size(), 1U);
  EXPECT_EQ(refused.messages[0].outcome, ReplayOutcome::rejected);
  EXPECT_EQ(refused.messages[0].kind, "unrecordable");
  EXPECT_EQ(refused.messages[0].table, "clicks");
  EXPECT_EQ(left().begin()->second.message.reason,
            "record file pointer: value too long for type varchar(20)");

  m_store->record_error = Error{ErrorKind::transient, "connection refused"};
  const auto outage = m_replayer->replay({.limit = 100}, "tester");

  ASSERT_FALSE(outage);
  EXPECT_EQ(outage.error().kind, ErrorKind::transient);
  EXPECT_EQ(left().begin()->second.message.kind, "unrecordable") << "unchanged";
}

TEST_F(ReplayTest, AMessageRecordedButNotYetResolvedIsADuplicateTheNextTime) {
  // A replay that stopped between recording the pointer and deleting the row.
  const auto body = pointer("clicks", "a.gz");
  reject(body, "unknown_table", "clicks");
  ASSERT_TRUE(m_real->record_file(core::parse_file_pointer(body).value(), m_clock.now()));

  const auto report = replay();

  ASSERT_EQ(report.messages.size(), 1U);
  EXPECT_EQ(report.messages[0].outcome, ReplayOutcome::duplicate);
  EXPECT_TRUE(left().empty());
}

TEST_F(ReplayTest, ASelectionPicksByIdsKindAndTableOldestFirst) {
  const auto first = reject(pointer("clicks", "a.gz"), "unknown_table", "clicks");
  reject(pointer("clicks", "b.gz"), "unrecordable", "clicks");
  const auto third = reject(pointer("views", "c.gz"), "unknown_table", "views");
  reject(pointer("clicks", "d.gz"), "unknown_table", "clicks");

  const auto by_kind_and_table = replay({.kind = "unknown_table", .table = "clicks", .limit = 100});
  const auto by_ids = replay({.ids = {third, first}, .limit = 100});

  ASSERT_EQ(by_kind_and_table.messages.size(), 2U);
  EXPECT_EQ(by_kind_and_table.messages[0].id, first);
  EXPECT_EQ(by_kind_and_table.messages[1].message_id, "m-4");
  ASSERT_EQ(by_ids.messages.size(), 1U) << "the first one left already";
  EXPECT_EQ(by_ids.messages[0].id, third);
  EXPECT_EQ(by_ids.messages[0].outcome, ReplayOutcome::rejected);
  EXPECT_EQ(left().size(), 2U);
}

TEST_F(ReplayTest, AReplayTakesAtMostItsLimitAndSaysWhereToGoOn) {
  std::vector<std::int64_t> ids;
  for (int index = 0; index < 5; ++index) {
    ids.push_back(reject(pointer("never_published", fmt::format("{}.gz", index)), "unknown_table"));
  }

  const auto first = replay({.limit = 2});
  ASSERT_EQ(first.messages.size(), 2U);
  ASSERT_TRUE(first.next_after_id);
  EXPECT_EQ(*first.next_after_id, ids[1]);
  const auto second = replay({.after_id = *first.next_after_id, .limit = 2});
  ASSERT_EQ(second.messages.size(), 2U);
  EXPECT_EQ(second.messages[0].id, ids[2]);
  const auto last = replay({.after_id = *second.next_after_id, .limit = 2});
  ASSERT_EQ(last.messages.size(), 1U);
  EXPECT_EQ(last.messages[0].id, ids[4]);
  EXPECT_FALSE(last.next_after_id);
  const auto exact = replay({.limit = 5});
  EXPECT_EQ(exact.messages.size(), 5U);
  EXPECT_FALSE(exact.next_after_id) << "exactly the limit matched: nothing more";
}

TEST_F(ReplayTest, S3NotificationsFollowTheRoutesTheReplayIsGiven) {
  const auto body = s3_created("drop", "logs/clicks/v2/part-0.gz");
  reject(body, "unrouted");
  const auto unrouted = replay();
  ASSERT_EQ(unrouted.messages.size(), 1U);
  EXPECT_EQ(unrouted.messages[0].outcome, ReplayOutcome::rejected);
  EXPECT_EQ(unrouted.messages[0].kind, "unrouted");

  make_replayer({.routes = {core::Route::parse("logs/{table}/v{version}/**").value()}});
  const auto routed = replay();

  ASSERT_EQ(routed.messages.size(), 1U);
  EXPECT_EQ(routed.messages[0].outcome, ReplayOutcome::recorded);
  EXPECT_EQ(routed.messages[0].table, "clicks");
  EXPECT_EQ(m_real->pending_versions().value(), (ingestdb::VersionMap{{"clicks", 2}}));
}

TEST(RejectionKinds, AreTheKindsTheIntakeRejectsWith) {
  for (const auto kind : {"malformed", "unknown_table", "unrouted", "unrecordable"}) {
    EXPECT_TRUE(is_rejection_kind(kind)) << kind;
  }
  EXPECT_FALSE(is_rejection_kind("rejected"));
  EXPECT_FALSE(is_rejection_kind(""));
}

} // namespace
} // namespace rsi::storer
