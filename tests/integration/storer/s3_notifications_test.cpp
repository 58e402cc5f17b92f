// S3's event notifications in each form they reach a queue (S3 → SQS, S3 → SNS → SQS with and
// without raw delivery, S3 → EventBridge → SQS), sent through the SQS emulator and received by
// a queue listener into a PostgreSQL ingester database: each ends as exactly the pointers its
// objects route to, beside Spade's own messages; what announces nothing is deleted.
#include "support/s3_notifications.hpp"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/event_metadata.hpp"
#include "ingestdb/postgres_ingest_db.hpp"
#include "pg/connection.hpp"
#include "registry/event_metadata.hpp"
#include "sqs_test_queue.hpp"
#include "storer/storer.hpp"
#include "support/fake_clock.hpp"
#include "support/services.hpp"

namespace rsi::storer {
namespace {

using namespace std::chrono_literals;
namespace n = test::notifications;

class S3NotificationsTest : public ::testing::Test {
protected:
  void SetUp() override {
    const auto base = test::postgres_conninfo();
    RSI_REQUIRE_SERVICE(base.has_value(), "PostgreSQL (RSI_TEST_PG)");
    const auto endpoint = test::sqs_endpoint();
    RSI_REQUIRE_SERVICE(endpoint.has_value(), "the SQS emulator (RSI_TEST_SQS_ENDPOINT)");
    m_schema.emplace(*base);
    m_store = ingestdb::make_postgres_ingest_db({.conninfo = m_schema->conninfo()}).value();
    auto queue = test::SqsTestQueue::create(*endpoint, "s3-notifications-" + m_schema->name());
    ASSERT_TRUE(queue) << queue.error().message;
    m_queue = std::move(*queue);
    m_consumer = m_queue->open().value();

    core::EventMetadata metadata;
    for (const char* table : {"clicks", "orders", "spade_event"}) {
      metadata.events[table]["datastores"] = {.value = "ace"};
    }
    m_tables.emplace(
        [metadata] { return Result<std::string>(core::encode_event_metadata(metadata)); }, m_clock,
        registry::EventMetadataOptions{});
    ASSERT_TRUE(m_tables->reload());
    StorerConfig config;
    config.routing.routes =
        core::parse_routes(
            std::vector<std::string>{"logs/{table}/v{version}/**", "exports/{table}/** version=3"})
            .value();
    m_storer.emplace(*m_consumer, *m_store, *m_tables, m_clock, m_metrics, config);
  }

  // Polls until the queue gives nothing more; the sum of what the polls did.
  PollSummary drain() {
    PollSummary total;
    for (int empty = 0; empty < 2;) {
      auto summary = m_storer->poll_once(1s);
      EXPECT_TRUE(summary) << summary.error().message;
      if (!summary || summary->received == 0) {
        ++empty;
        continue;
      }
      total.received += summary->received;
      total.recorded += summary->recorded;
      total.skipped += summary->skipped;
      total.rejected += summary->rejected;
      total.duplicate += summary->duplicate;
    }
    return total;
  }

  // "table vN bucket/key" of every pointer in the database.
  std::set<std::string> pointers() {
    auto connection = pg::Connection::connect(m_schema->conninfo()).value();
    auto rows = connection.exec("SELECT tablename, tableversion, keyname FROM tsv").value();
    std::set<std::string> found;
    for (int row = 0; row < rows.size(); ++row) {
      found.insert(fmt::format("{} v{} {}", rows.get(row, 0), rows.get(row, 1), rows.get(row, 2)));
    }
    return found;
  }

  std::optional<test::PostgresSchema> m_schema;
  std::unique_ptr<ingestdb::IngestDb> m_store;
  std::unique_ptr<test::SqsTestQueue> m_queue;
  std::unique_ptr<queue::Queue> m_consumer;
  test::FakeClock m_clock;
  telemetry::Metrics m_metrics{"metadatastorer"};
  std::optional<registry::EventMetadataCache> m_tables;
  std::optional<Storer> m_storer;
};

TEST_F(S3NotificationsTest, EveryFormEndsAsExactlyTheRoutedPointers) {
  const std::vector<std::string> bodies{
      // S3 → SQS directly (and SNS with raw message delivery, which delivers the same body).
      n::s3_event({{.bucket = "events", .encoded_key = "logs/clicks/v2/direct.gz"}}),
      // S3 → SNS → SQS without raw delivery.
      n::sns_envelope(n::s3_event({{.bucket = "events", .encoded_key = "logs/clicks/v2/sns.gz"}})),
      // S3 → EventBridge → SQS, and EventBridge → SNS → SQS.
      n::eventbridge_event("events", "exports/orders/2026/12/bridge.gz"),
      n::sns_envelope(n::eventbridge_event("events", "exports/orders/2026/12/bridge-sns.gz")),
      // Keys with spaces, a plus sign and non-ASCII characters, as S3 encodes them.
      n::s3_event({{.bucket = "events",
                    .encoded_key = "logs/clicks/v2/red+flower+%2B+caf%C3%A9+%E2%9C%93.gz"}}),
      // Two records in one message.
      n::s3_event({{.bucket = "events", .encoded_key = "logs/orders/v1/first.gz"},
                   {.event_name = "ObjectCreated:CompleteMultipartUpload",
                    .bucket = "other-bucket",
                    .encoded_key = "logs/orders/v1/second.gz"}}),
      // Nothing to load: the test event S3 sends when the configuration is saved, a removal.
      n::s3_test_event("events"),
      n::s3_event({{.event_name = "ObjectRemoved:Delete",
                    .bucket = "events",
                    .encoded_key = "logs/clicks/v2/direct.gz"}}),
      // Spade's own message, unchanged beside them.
      R"({"KeyName":"spade-bucket/spade_event/v0/f.gz","TableName":"spade_event","TableVersion":0})",
  };
  ASSERT_TRUE(m_queue->send(bodies));

  const auto summary = drain();

  EXPECT_EQ(summary.received, bodies.size());
  EXPECT_EQ(summary.recorded, 7U);
  EXPECT_EQ(summary.skipped, 2U);
  EXPECT_EQ(summary.rejected, 0U);
  EXPECT_EQ(pointers(),
            (std::set<std::string>{
                "clicks v2 events/logs/clicks/v2/direct.gz",
                "clicks v2 events/logs/clicks/v2/sns.gz",
                "orders v3 events/exports/orders/2026/12/bridge.gz",
                "orders v3 events/exports/orders/2026/12/bridge-sns.gz",
                "clicks v2 events/logs/clicks/v2/red flower + caf\xc3\xa9 \xe2\x9c\x93.gz",
                "orders v1 events/logs/orders/v1/first.gz",
                "orders v1 other-bucket/logs/orders/v1/second.gz",
                "spade_event v0 spade-bucket/spade_event/v0/f.gz",
            }));
  EXPECT_EQ(drain().received, 0U) << "every message was deleted";
}

TEST_F(S3NotificationsTest, ARedeliveredNotificationRecordsNothingTwice) {
  const std::string body =
      n::s3_event({{.bucket = "events", .encoded_key = "logs/clicks/v2/a.gz"},
                   {.bucket = "events", .encoded_key = "logs/clicks/v2/b.gz"}});
  ASSERT_TRUE(m_queue->send(body));
  EXPECT_EQ(drain().recorded, 1U);
  ASSERT_TRUE(m_queue->send(body)); // S3 delivers at least once.

  const auto again = drain();

  EXPECT_EQ(again.duplicate, 1U);
  EXPECT_EQ(pointers().size(), 2U);
}

TEST_F(S3NotificationsTest, AnUnroutedKeyRejectsItsMessageWithTheReasonAndKeepsTheBody) {
  const std::string body = n::s3_event({{.bucket = "events", .encoded_key = "logs/clicks/v2/a.gz"},
                                        {.bucket = "events", .encoded_key = "misc/readme.txt"}});
  ASSERT_TRUE(m_queue->send(body));

  const auto summary = drain();

  EXPECT_EQ(summary.rejected, 1U);
  EXPECT_TRUE(pointers().empty()) << "all of the message or none of it";
  const auto rejected = m_store->rejected_messages(10).value();
  ASSERT_EQ(rejected.size(), 1U);
  EXPECT_EQ(rejected[0].message.body, body);
  EXPECT_NE(rejected[0].message.reason.find("no --route matches \"s3://events/misc/readme.txt\""),
            std::string::npos)
      << rejected[0].message.reason;
}

} // namespace
} // namespace rsi::storer
