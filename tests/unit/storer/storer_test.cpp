// The storer's per-message decisions, against a scripted queue, a real SQLite ingester
// database and a scripted table directory.
#include "storer/storer.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/file_pointer.hpp"
#include "ingestdb/sqlite_ingest_db.hpp"
#include "sqlite/database.hpp"
#include "support/fake_clock.hpp"
#include "support/forwarding_ingest_db.hpp"
#include "support/s3_notifications.hpp"
#include "support/temp_dir.hpp"

namespace rsi::storer {
namespace {

using namespace std::chrono_literals;
namespace n = test::notifications;

class ScriptedQueue final : public queue::Queue {
public:
  void push(std::string body) {
    const std::string id = fmt::format("m{}", ++m_next);
    m_pending.push_back({.id = id, .receipt = "r-" + id, .body = std::move(body)});
  }
  // A delivery as given (a redelivery: same id, higher receive count).
  void push(queue::Message message) { m_pending.push_back(std::move(message)); }

  Result<std::vector<queue::Message>> receive(std::size_t max_messages,
                                              std::chrono::seconds /*wait*/,
                                              std::stop_token /*stop*/) override {
    if (fail_receive) {
      return fail(ErrorKind::transient, "receive: connection refused");
    }
    std::vector<queue::Message> out;
    while (!m_pending.empty() && out.size() < max_messages) {
      out.push_back(m_pending.front());
      m_pending.pop_front();
    }
    return out;
  }
  Result<queue::BatchOutcome> remove(std::span<const queue::Message> messages) override {
    for (const auto& message : messages) {
      removed.insert(message.id);
    }
    removed_count += messages.size();
    return queue::BatchOutcome{};
  }
  Result<queue::BatchOutcome> change_visibility(std::span<const queue::Message> messages,
                                                std::chrono::seconds timeout) override {
    for (const auto& message : messages) {
      postponed[message.id] = timeout;
    }
    return queue::BatchOutcome{};
  }
  Result<queue::QueueDepth> depth() override {
    return queue::QueueDepth{.waiting = static_cast<std::int64_t>(m_pending.size())};
  }

  bool fail_receive = false;
  std::set<std::string> removed;
  std::atomic<std::size_t> removed_count{0}; // Readable while another thread polls.
  std::map<std::string, std::chrono::seconds> postponed;

private:
  int m_next = 0;
  std::deque<queue::Message> m_pending;
};

class ScriptedTables final : public registry::TableDirectory {
public:
  Result<core::AceMembership> membership(std::string_view table) override {
    if (unavailable) {
      return fail(ErrorKind::transient, "event metadata: not loaded yet");
    }
    if (table == "skipped_event") {
      return core::AceMembership::not_in_ace;
    }
    if (table == "unknown_event" && !published) {
      return core::AceMembership::unknown_table;
    }
    return core::AceMembership::in_ace;
  }
  bool unavailable = false;
  bool published = false; // unknown_event's metadata arrived.
};

// Delegates to a real store, failing the record of pointers on demand (of every call, or of
// those holding the key `failing_key`), and counting the calls.
class FlakyStore final : public test::ForwardingIngestDb {
public:
  using ForwardingIngestDb::ForwardingIngestDb;
  std::optional<Error> record_error;
  std::string failing_key; // Empty: every record fails while record_error is set.
  int record_calls = 0;

  Result<std::vector<ingestdb::RecordOutcome>>
  record_files(std::span<const core::FilePointer> files, TimePoint at) override {
    ++record_calls;
    const bool fails = std::any_of(files.begin(), files.end(), [&](const auto& file) {
      return failing_key.empty() || file.key_name == failing_key;
    });
    if (record_error && fails) {
      return fail(*record_error);
    }
    return m_real.record_files(files, at);
  }
};

std::string pointer(const std::string& table, const std::string& key, int version = 0) {
  return core::encode_file_pointer(
      {.key_name = "bucket/" + key, .table = table, .version = version});
}

class StorerTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto store = ingestdb::make_sqlite_ingest_db({.path = m_dir.path("ingester.db")});
    ASSERT_TRUE(store) << store.error().message;
    m_real = std::move(*store);
    m_store = std::make_unique<FlakyStore>(*m_real);
    m_storer = std::make_unique<Storer>(m_queue, *m_store, m_tables, m_clock, m_metrics, m_config);
  }

  PollSummary poll() {
    auto summary = m_storer->poll_once(0s);
    EXPECT_TRUE(summary) << summary.error().message;
    return summary.value_or(PollSummary{});
  }

  std::size_t pending_files() {
    std::size_t count = 0;
    const auto stats = m_real->pending_stats({}, 5).value();
    for (const auto& stat : stats) {
      count += static_cast<std::size_t>(stat.count);
    }
    return count;
  }

  test::TempDir m_dir;
  test::FakeClock m_clock;
  telemetry::Metrics m_metrics{"metadatastorer"};
  StorerConfig m_config;
  ScriptedQueue m_queue;
  ScriptedTables m_tables;
  std::unique_ptr<ingestdb::IngestDb> m_real;
  std::unique_ptr<FlakyStore> m_store;
  std::unique_ptr<Storer> m_storer;
};

TEST_F(StorerTest, RecordsThenDeletes) {
  m_queue.push(pointer("minute-watched", "a.gz"));
  const auto summary = poll();
  EXPECT_EQ(summary.recorded, 1U);
  EXPECT_EQ(m_queue.removed, std::set<std::string>{"m1"});
  EXPECT_EQ(pending_files(), 1U);
}

TEST_F(StorerTest, APollThatRecordedCallsOnRecordedOnceAndOthersDoNot) {
  int calls = 0;
  m_config.on_recorded = [&] { ++calls; };
  m_storer = std::make_unique<Storer>(m_queue, *m_store, m_tables, m_clock, m_metrics, m_config);
  m_queue.push(pointer("t", "a.gz"));
  m_queue.push(pointer("t", "b.gz"));
  EXPECT_EQ(poll().recorded, 2U);
  EXPECT_EQ(calls, 1);
  m_queue.push(pointer("t", "a.gz"));
  m_queue.push("not json");
  EXPECT_EQ(poll().recorded, 0U);
  EXPECT_EQ(calls, 1) << "a duplicate and a rejected message record nothing";
}

TEST_F(StorerTest, AnSnsEnvelopeIsUnwrapped) {
  const nlohmann::json envelope{
      {"Type", "Notification"}, {"MessageId", "x"}, {"Message", pointer("t", "sns.gz")}};
  m_queue.push(envelope.dump());
  EXPECT_EQ(poll().recorded, 1U);
  EXPECT_EQ(m_real->pending_versions().value(), (ingestdb::VersionMap{{"t", 0}}));
}

TEST_F(StorerTest, TheSameKeyTwiceIsRecordedOnceAndBothMessagesAreDeleted) {
  m_queue.push(pointer("t", "a.gz"));
  m_queue.push(pointer("t", "a.gz"));
  const auto summary = poll();
  EXPECT_EQ(summary.recorded, 1U);
  EXPECT_EQ(summary.duplicate, 1U);
  EXPECT_EQ(m_queue.removed.size(), 2U);
  EXPECT_EQ(pending_files(), 1U);
}

TEST_F(StorerTest, BadInputIsRejectedWithItsReasonAndDeleted) {
  const std::vector<std::string> bodies{
      "not json",
      R"({"KeyName":"bucket/k.gz","TableName":"t"})",
      R"({"KeyName":"bucket/k.gz","TableName":"t","TableVersion":"1"})",
      R"({"KeyName":"bucket/k.gz","TableName":"t\"; DROP TABLE tsv; --","TableVersion":1})",
      R"({"KeyName":"bucket/k.gz","TableName":"t","TableVersion":99999999})",
  };
  for (const auto& body : bodies) {
    m_queue.push(body);
  }
  m_queue.push(pointer("t", "good.gz"));
  const auto summary = poll();
  EXPECT_EQ(summary.rejected, bodies.size());
  EXPECT_EQ(summary.recorded, 1U) << "one bad message never blocks the others";
  EXPECT_EQ(m_queue.removed.size(), bodies.size() + 1);

  const auto rejected = m_real->rejected_messages(100).value();
  ASSERT_EQ(rejected.size(), bodies.size());
  for (const auto& rejection : rejected) {
    EXPECT_FALSE(rejection.message.reason.empty());
    EXPECT_EQ(rejection.message.kind, "malformed");
    EXPECT_EQ(rejection.message.table, "");
    EXPECT_NE(std::find(bodies.begin(), bodies.end(), rejection.message.body), bodies.end());
  }
  EXPECT_NE(rejected.back().message.reason.find("parse queue message"), std::string::npos);
}

TEST_F(StorerTest, AMessageOfAnUnknownTableWaitsInTheQueueUntilItsMetadataAppears) {
  const queue::Message first{.id = "late",
                             .receipt = "r1",
                             .body = pointer("unknown_event", "u.gz"),
                             .receive_count = 1,
                             .sent_at = m_clock.now()};
  m_queue.push(first);

  const auto summary = poll();

  EXPECT_EQ(summary.awaiting_metadata, 1U);
  EXPECT_TRUE(m_queue.removed.empty()) << "never deleted while its table may still appear";
  EXPECT_EQ(m_queue.postponed.at("late"), m_config.unknown_table_retry);
  EXPECT_EQ(pending_files(), 0U);
  EXPECT_TRUE(m_real->rejected_messages(10).value().empty());
  const auto waiting = m_real->awaiting_metadata(m_clock.now()).value();
  ASSERT_EQ(waiting.size(), 1U);
  EXPECT_EQ(waiting[0].table, "unknown_event");
  EXPECT_EQ(waiting[0].messages, 1);
  EXPECT_EQ(
      m_metrics.prometheus_text().find("rsi_tsv_files_received_total{table=\"unknown_event\"}"),
      std::string::npos)
      << "received counts only what the original counted: known, loadable files";

  // Published 30 s later; the message comes back.
  m_clock.advance(30s);
  m_tables.published = true;
  queue::Message again = first;
  again.receipt = "r2";
  again.receive_count = 2;
  m_queue.push(again);

  const auto later = poll();

  EXPECT_EQ(later.recorded, 1U);
  EXPECT_EQ(m_queue.removed, std::set<std::string>{"late"});
  EXPECT_EQ(pending_files(), 1U);
  EXPECT_TRUE(m_real->awaiting_metadata(m_clock.now() - 1h).value().empty());
}

TEST_F(StorerTest, AMessageOfAnUnknownTableIsRejectedOnceItWaitedLongEnough) {
  m_queue.push(queue::Message{.id = "old",
                              .receipt = "r",
                              .body = pointer("unknown_event", "u.gz"),
                              .receive_count = 1400,
                              .sent_at = m_clock.now() - m_config.unknown_table_wait});
  m_queue.push(queue::Message{.id = "young",
                              .receipt = "r",
                              .body = pointer("unknown_event", "v.gz"),
                              .receive_count = 1400,
                              .sent_at = m_clock.now() - m_config.unknown_table_wait + 1s});

  const auto summary = poll();

  EXPECT_EQ(summary.rejected, 1U);
  EXPECT_EQ(summary.awaiting_metadata, 1U);
  EXPECT_EQ(m_queue.removed, std::set<std::string>{"old"});
  const auto rejected = m_real->rejected_messages(10).value();
  ASSERT_EQ(rejected.size(), 1U);
  EXPECT_NE(rejected[0].message.reason.find(
                "table \"unknown_event\" is not in the event metadata (still unknown 24h"),
            std::string::npos)
      << rejected[0].message.reason;
  EXPECT_EQ(rejected[0].message.body, pointer("unknown_event", "u.gz"));
  EXPECT_EQ(rejected[0].message.kind, "unknown_table");
  EXPECT_EQ(rejected[0].message.table, "unknown_event");
}

TEST_F(StorerTest, WithoutASendTimeTheReceiveCountBoundsTheWaitForMetadata) {
  // 24 h of 60 s retries: 1441 deliveries wait, the next one is rejected.
  m_queue.push(queue::Message{
      .id = "a", .receipt = "r", .body = pointer("unknown_event", "a.gz"), .receive_count = 1441});
  m_queue.push(queue::Message{
      .id = "b", .receipt = "r", .body = pointer("unknown_event", "b.gz"), .receive_count = 1442});

  const auto summary = poll();

  EXPECT_EQ(summary.awaiting_metadata, 1U);
  EXPECT_EQ(summary.rejected, 1U);
  EXPECT_EQ(m_queue.removed, std::set<std::string>{"b"});
}

TEST_F(StorerTest, SkippedTablesCountTheOriginalsTotalToo) {
  m_queue.push(pointer("skipped_event", "s1.gz"));
  m_queue.push(pointer("skipped_event", "s2.gz"));
  EXPECT_EQ(poll().skipped, 2U);
  const std::string text = m_metrics.prometheus_text();
  EXPECT_EQ(text.find("rsi_tsv_files_received_total{table=\"skipped_event\"}"), std::string::npos)
      << text;
}

TEST_F(StorerTest, RejectedMessagesCanBeLeftToTheRedrivePolicy) {
  m_config.keep_rejected_in_queue = true;
  m_storer = std::make_unique<Storer>(m_queue, *m_store, m_tables, m_clock, m_metrics, m_config);
  m_queue.push("{");
  EXPECT_EQ(poll().rejected, 1U);
  EXPECT_TRUE(m_queue.removed.empty());
  EXPECT_EQ(m_real->rejected_messages(10).value().size(), 1U);
}

TEST_F(StorerTest, TablesOutsideAceAreSkippedAndDeleted) {
  m_queue.push(pointer("skipped_event", "s.gz"));
  EXPECT_EQ(poll().skipped, 1U);
  EXPECT_EQ(m_queue.removed.size(), 1U);
  EXPECT_EQ(pending_files(), 0U);
  EXPECT_NE(m_metrics.prometheus_text().find("rsi_tsv_files_skipped_total{table=\"skipped_event\""),
            std::string::npos);
}

TEST_F(StorerTest, WithoutEventMetadataMessagesWaitInTheQueue) {
  m_tables.unavailable = true;
  m_queue.push(pointer("t", "a.gz"));
  EXPECT_EQ(poll().deferred, 1U);
  EXPECT_TRUE(m_queue.removed.empty());
  EXPECT_EQ(m_queue.postponed.count("m1"), 1U);
  EXPECT_EQ(pending_files(), 0U);
}

TEST_F(StorerTest, ADatabaseOutageDefersWithoutDeletingAndRecoversOnRedelivery) {
  m_store->record_error = Error{ErrorKind::transient, "connect to postgres: connection refused"};
  m_queue.push(pointer("t", "a.gz"));
  EXPECT_EQ(poll().deferred, 1U);
  EXPECT_TRUE(m_queue.removed.empty());
  EXPECT_GE(m_queue.postponed.at("m1"), 1s);

  m_store->record_error.reset();
  m_queue.push(pointer("t", "a.gz")); // The redelivery.
  EXPECT_EQ(poll().recorded, 1U);
  EXPECT_EQ(m_queue.removed.size(), 1U);
}

TEST_F(StorerTest, APermanentRecordErrorRejectsTheMessage) {
  m_store->record_error =
      Error{ErrorKind::permanent, "value too long for type character varying(512)"};
  m_queue.push(pointer("t", "a.gz"));
  EXPECT_EQ(poll().rejected, 1U);
  EXPECT_EQ(m_queue.removed.size(), 1U);
}

TEST_F(StorerTest, TheReceivesPointersAreRecordedTogetherInOneCall) {
  m_queue.push(pointer("t", "a.gz"));
  m_queue.push("not json");
  m_queue.push(pointer("u", "b.gz"));
  m_queue.push(pointer("t", "a.gz"));

  const auto summary = poll();

  EXPECT_EQ(m_store->record_calls, 1);
  EXPECT_EQ(summary.recorded, 2U);
  EXPECT_EQ(summary.duplicate, 1U) << "the same key twice in one receive";
  EXPECT_EQ(summary.rejected, 1U);
  EXPECT_EQ(m_queue.removed.size(), 4U);
  EXPECT_EQ(pending_files(), 2U);
}

TEST_F(StorerTest, ATransientRecordErrorDefersEveryPointerOfTheReceive) {
  m_store->record_error = Error{ErrorKind::transient, "connect to postgres: connection refused"};
  m_queue.push(pointer("t", "a.gz"));
  m_queue.push(pointer("t", "b.gz"));

  EXPECT_EQ(poll().deferred, 2U);

  EXPECT_TRUE(m_queue.removed.empty());
  EXPECT_EQ(pending_files(), 0U);
}

TEST_F(StorerTest, APermanentRecordErrorRejectsOnlyTheMessageItBelongsTo) {
  m_store->record_error =
      Error{ErrorKind::permanent, "value too long for type character varying(512)"};
  m_store->failing_key = "bucket/b.gz";
  m_queue.push(pointer("t", "a.gz"));
  m_queue.push(pointer("t", "b.gz"));
  m_queue.push(pointer("t", "c.gz"));

  const auto summary = poll();

  EXPECT_EQ(summary.recorded, 2U);
  EXPECT_EQ(summary.rejected, 1U);
  EXPECT_EQ(m_queue.removed.size(), 3U);
  EXPECT_EQ(pending_files(), 2U);
  const auto rejected = m_real->rejected_messages(10).value();
  ASSERT_EQ(rejected.size(), 1U);
  EXPECT_NE(rejected[0].message.body.find("b.gz"), std::string::npos);
  EXPECT_EQ(rejected[0].message.kind, "unrecordable");
  EXPECT_EQ(rejected[0].message.table, "t");
}

TEST_F(StorerTest, ReceiveFailuresSurfaceAsErrors) {
  m_queue.fail_receive = true;
  const auto failed = m_storer->poll_once(0s);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().kind, ErrorKind::transient);
}

TEST_F(StorerTest, RunStopsWhenAsked) {
  std::stop_source stop;
  m_queue.push(pointer("t", "a.gz"));
  std::thread runner([&] { m_storer->run(stop.get_token()); });
  for (int attempt = 0; attempt < 500 && m_queue.removed_count == 0; ++attempt) {
    std::this_thread::sleep_for(10ms);
  }
  stop.request_stop();
  runner.join();
  EXPECT_EQ(m_queue.removed.size(), 1U);
}

// S3's own notifications: routed by --route, each message recorded whole or not at all.
class S3IntakeTest : public StorerTest {
protected:
  void SetUp() override {
    StorerTest::SetUp();
    m_config.routing.routes =
        core::parse_routes(
            std::vector<std::string>{"logs/{table}/v{version}/**", "exports/{table}/**"})
            .value();
    m_config.routing.current_version =
        [this](std::string_view table) -> Result<std::optional<int>> {
      ++m_version_calls;
      if (m_registry_down) {
        return fail(ErrorKind::transient, "fetch current schema: HTTP 503");
      }
      return table == "unpublished" ? std::optional<int>() : std::optional<int>(4);
    };
    m_storer = std::make_unique<Storer>(m_queue, *m_store, m_tables, m_clock, m_metrics, m_config);
  }

  // "table vN bucket/key" of every pending file, read from the database file.
  std::set<std::string> pending_keys() {
    auto db = sqlite::Database::open(m_dir.path("ingester.db")).value();
    auto rows = db.prepare("SELECT tablename, tableversion, keyname FROM tsv").value();
    std::set<std::string> keys;
    while (rows.step().value()) {
      keys.insert(fmt::format("{} v{} {}", rows.text(0), rows.integer(1), rows.text(2)));
    }
    return keys;
  }

  int m_version_calls = 0;
  bool m_registry_down = false;
};

TEST_F(S3IntakeTest, EveryCreatedObjectOfAMessageIsRecordedWithItsRoutedTableAndVersion) {
  m_queue.push(n::s3_event({{.bucket = "ev", .encoded_key = "logs/clicks/v2/a+b.gz"},
                            {.event_name = "ObjectRemoved:Delete",
                             .bucket = "ev",
                             .encoded_key = "logs/clicks/v2/old.gz"},
                            {.bucket = "ev", .encoded_key = "exports/orders/2026/x.gz"}}));

  const auto summary = poll();

  EXPECT_EQ(summary.recorded, 1U);
  EXPECT_EQ(m_queue.removed, std::set<std::string>{"m1"});
  EXPECT_EQ(pending_keys(), (std::set<std::string>{"clicks v2 ev/logs/clicks/v2/a b.gz",
                                                   "orders v4 ev/exports/orders/2026/x.gz"}));
  EXPECT_NE(
      m_metrics.prometheus_text().find("rsi_s3_events_ignored_total{kind=\"object_removed\"} 1"),
      std::string::npos)
      << m_metrics.prometheus_text();
}

TEST_F(S3IntakeTest, AKeyNoRouteMatchesRejectsTheWholeMessageAndRecordsNoneOfIt) {
  m_queue.push(n::s3_event({{.bucket = "ev", .encoded_key = "logs/clicks/v2/a.gz"},
                            {.bucket = "ev", .encoded_key = "elsewhere/b.gz"}}));
  m_queue.push(n::eventbridge_event("ev", "logs/views/v1/c.gz"));

  const auto summary = poll();

  EXPECT_EQ(summary.rejected, 1U);
  EXPECT_EQ(summary.recorded, 1U) << "the other message is not held back";
  EXPECT_EQ(pending_keys(), (std::set<std::string>{"views v1 ev/logs/views/v1/c.gz"}));
  const auto rejected = m_real->rejected_messages(10).value();
  ASSERT_EQ(rejected.size(), 1U);
  EXPECT_NE(rejected[0].message.reason.find("no --route matches \"s3://ev/elsewhere/b.gz\""),
            std::string::npos)
      << rejected[0].message.reason;
  EXPECT_EQ(m_queue.removed.size(), 2U);
}

TEST_F(S3IntakeTest, TestEventsAndRemovalsAreDeletedAndRecordNothing) {
  m_queue.push(n::s3_test_event("ev"));
  m_queue.push(n::sns_envelope(n::s3_test_event("ev")));
  m_queue.push(n::eventbridge_event("ev", "logs/clicks/v2/a.gz", "Object Deleted"));

  const auto summary = poll();

  EXPECT_EQ(summary.skipped, 3U);
  EXPECT_EQ(m_queue.removed.size(), 3U);
  EXPECT_TRUE(pending_keys().empty());
  EXPECT_TRUE(m_real->rejected_messages(10).value().empty());
  EXPECT_NE(m_metrics.prometheus_text().find("rsi_s3_events_ignored_total{kind=\"test_event\"} 2"),
            std::string::npos);
}

TEST_F(S3IntakeTest, AnUnknownTableHoldsTheWholeMessageInTheQueue) {
  m_queue.push(n::s3_event({{.bucket = "ev", .encoded_key = "logs/clicks/v2/a.gz"},
                            {.bucket = "ev", .encoded_key = "logs/unknown_event/v0/b.gz"}}));
  EXPECT_EQ(poll().awaiting_metadata, 1U);
  EXPECT_TRUE(pending_keys().empty()) << "not one record of the message before all can be";
  EXPECT_TRUE(m_queue.removed.empty());

  m_tables.published = true;
  m_queue.push(queue::Message{
      .id = "m1",
      .receipt = "r2",
      .body = n::s3_event({{.bucket = "ev", .encoded_key = "logs/clicks/v2/a.gz"},
                           {.bucket = "ev", .encoded_key = "logs/unknown_event/v0/b.gz"}}),
      .receive_count = 2});
  EXPECT_EQ(poll().recorded, 1U);
  EXPECT_EQ(pending_keys().size(), 2U);
}

TEST_F(S3IntakeTest, TheRegistrysCurrentVersionIsAskedOnceAWhileAndItsAbsenceWaits) {
  for (const char* key : {"exports/orders/1.gz", "exports/orders/2.gz"}) {
    m_queue.push(n::eventbridge_event("ev", key));
  }
  m_queue.push(n::eventbridge_event("ev", "exports/unpublished/3.gz"));

  const auto summary = poll();

  EXPECT_EQ(summary.recorded, 2U);
  EXPECT_EQ(summary.awaiting_metadata, 1U) << "a table the registry does not know yet waits";
  EXPECT_EQ(m_version_calls, 2) << "orders once (then cached), unpublished once";
  EXPECT_EQ(pending_keys(), (std::set<std::string>{"orders v4 ev/exports/orders/1.gz",
                                                   "orders v4 ev/exports/orders/2.gz"}));
}

TEST_F(S3IntakeTest, ARegistryOutageDefersTheMessage) {
  m_registry_down = true;
  m_queue.push(n::eventbridge_event("ev", "exports/orders/1.gz"));

  EXPECT_EQ(poll().deferred, 1U);
  EXPECT_TRUE(m_queue.removed.empty());
  EXPECT_TRUE(m_real->rejected_messages(10).value().empty());
}

TEST_F(S3IntakeTest, ARecordTheDatabaseRefusesRejectsItsMessageOnlyAndWhole) {
  m_store->record_error = Error{ErrorKind::permanent, "value too long for type character varying"};
  m_store->failing_key = "ev/logs/clicks/v2/bad.gz";
  m_queue.push(n::s3_event({{.bucket = "ev", .encoded_key = "logs/clicks/v2/ok1.gz"},
                            {.bucket = "ev", .encoded_key = "logs/clicks/v2/bad.gz"}}));
  m_queue.push(n::s3_event({{.bucket = "ev", .encoded_key = "logs/clicks/v2/ok2.gz"}}));

  const auto summary = poll();

  EXPECT_EQ(summary.rejected, 1U);
  EXPECT_EQ(summary.recorded, 1U);
  EXPECT_EQ(pending_keys(), (std::set<std::string>{"clicks v2 ev/logs/clicks/v2/ok2.gz"}))
      << "ok1 shares its message with the refused record";
}

} // namespace
} // namespace rsi::storer
