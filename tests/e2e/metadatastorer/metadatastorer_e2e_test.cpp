// metadatastorer as a process, end to end: 10,000 messages over 50 tables with 5% duplicates,
// 2% malformed and 1% for a table outside "ace" must leave exactly the valid distinct keys in
// the ingester database, every malformed message in rejected_message with a reason, and an
// empty queue — also when the process is killed (-9) at random moments and restarted, and
// when the database goes away for 10 s. Runs against fauxqs + s3rver + PostgreSQL and against
// the embedded default (local inbox + SQLite + a metadata file).
#include <csignal>
#include <fstream>
#include <random>
#include <set>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/gzip.hpp"
#include "core/event_metadata.hpp"
#include "core/file_pointer.hpp"
#include "http/client.hpp"
#include "http/credentials.hpp"
#include "objectstore/s3_object_store.hpp"
#include "pg/connection.hpp"
#include "queue/local_queue.hpp"
#include "sqlite/database.hpp"
#include "sqs_test_queue.hpp"
#include "support/net.hpp"
#include "support/private_postgres.hpp"
#include "support/process.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"

namespace rsi {
namespace {

using namespace std::chrono_literals;

constexpr int k_tables = 50;
constexpr int k_messages = 10'000;

struct Scenario {
  std::vector<std::string> bodies;     // In sending order.
  std::set<std::string> expected_keys; // Valid, distinct, in "ace".
  std::set<std::string> malformed;     // Bodies that must be rejected.
  std::string metadata_json;
};

Scenario make_scenario(unsigned seed) {
  std::mt19937 rng(seed);
  Scenario scenario;
  core::EventMetadata metadata;
  for (int table = 0; table < k_tables; ++table) {
    metadata.events[fmt::format("event_{:02}", table)]["datastores"] = {.value = "ace,other"};
  }
  metadata.events["not_ace_event"]["datastores"] = {.value = "other"};
  scenario.metadata_json = core::encode_event_metadata(metadata);

  const std::vector<std::string> malformed_kinds{
      "not json {{{",
      R"({"KeyName":"b/k.gz","TableName":"event_01"})",
      R"({"KeyName":7,"TableName":"event_01","TableVersion":0})",
      R"({"KeyName":"b/k.gz","TableName":"event_01\"; DROP TABLE tsv; --","TableVersion":0})",
      R"({"KeyName":"b/k.gz","TableName":"event_01","TableVersion":123456789})",
      R"({"KeyName":"b/k.gz","TableName":"unknown_event","TableVersion":0})",
      R"({"Type":"Notification","Message":42})",
      "[]"};
  std::vector<std::string> sent_valid;
  for (int index = 0; index < k_messages; ++index) {
    const int roll = static_cast<int>(rng() % 100);
    if (roll < 2) {
      // Malformed, each body unique (an ignored field or a suffix) so each can be found again.
      std::string body = malformed_kinds[rng() % malformed_kinds.size()];
      if (body.front() == '{') {
        body.insert(1, fmt::format("\"Nonce\":{},", index));
      } else if (body.front() == '[') {
        body = fmt::format("[{}]", index);
      } else {
        body += fmt::format(" {}", index);
      }
      scenario.malformed.insert(body);
      scenario.bodies.push_back(std::move(body));
    } else if (roll < 3) {
      scenario.bodies.push_back(
          core::encode_file_pointer({.key_name = fmt::format("spade/not_ace/{}.gz", index),
                                     .table = "not_ace_event",
                                     .version = 0}));
    } else if (roll < 8 && !sent_valid.empty()) {
      scenario.bodies.push_back(sent_valid[rng() % sent_valid.size()]); // A duplicate.
    } else {
      const int table = static_cast<int>(rng() % k_tables);
      const core::FilePointer pointer{.key_name =
                                          fmt::format("spade/event_{:02}/{:05}.gz", table, index),
                                      .table = fmt::format("event_{:02}", table),
                                      .version = static_cast<int>(rng() % 3)};
      std::string body = core::encode_file_pointer(pointer);
      if (rng() % 4 == 0) {
        body = nlohmann::json{{"Type", "Notification"}, {"Message", body}}.dump(); // Through SNS.
      }
      scenario.expected_keys.insert(pointer.key_name);
      sent_valid.push_back(body);
      scenario.bodies.push_back(std::move(body));
    }
  }
  return scenario;
}

std::optional<std::string> s3_endpoint() {
  const char* value = std::getenv("RSI_TEST_S3_ENDPOINT");
  return value == nullptr || *value == '\0' ? std::nullopt : std::optional<std::string>(value);
}

// s3rver creates buckets on PUT /bucket, as S3 does.
Result<void> create_bucket(const http::Environment& env, const std::string& bucket) {
  RSI_TRY_ASSIGN(
      auto client,
      http::Client::create({.signing = http::SigningConfig{
                                .service = "s3",
                                .region = "us-east-1",
                                .credentials = http::make_static_credentials_provider(
                                    {.access_key_id = "S3RVER", .secret_access_key = "S3RVER"})}}));
  RSI_TRY(client.request(
      {.method = "PUT",
       .url = http::env_value(env, "AWS_ENDPOINT_URL_S3").value_or("") + "/" + bucket,
       .expected_statuses = {409}}));
  return {};
}

// One backend combination: where messages go in and where pointers land.
class Pipeline {
public:
  virtual ~Pipeline() = default;
  virtual void publish(const std::vector<std::string>& bodies) = 0;
  // Replace the event metadata (Blueprint publishing a new document).
  virtual void publish_metadata(const std::string& json) = 0;
  virtual std::vector<std::string> daemon_args() = 0;
  virtual std::map<std::string, std::string> daemon_env() { return {}; }
  virtual std::set<std::string> recorded_keys() = 0;
  virtual std::set<std::string> rejected_bodies() = 0;
  virtual bool queue_empty() = 0;
};

class EmbeddedPipeline final : public Pipeline {
public:
  explicit EmbeddedPipeline(const Scenario& scenario) {
    publish_metadata(scenario.metadata_json);
    std::filesystem::create_directories(m_dir.path("inbox"));
  }
  void publish_metadata(const std::string& json) override {
    std::ofstream(m_dir.path("metadata.json.tmp")) << json;
    std::filesystem::rename(m_dir.path("metadata.json.tmp"), m_dir.path("metadata.json"));
  }
  void publish(const std::vector<std::string>& bodies) override {
    for (const auto& body : bodies) {
      const auto published = queue::publish_local_message(m_dir.path("inbox"), body);
      ASSERT_TRUE(published) << published.error().message;
    }
  }
  std::vector<std::string> daemon_args() override {
    return {"--databaseURL",        "sqlite://" + m_dir.path("ingester.db").string(),
            "--queue-url",          "dir://" + m_dir.path("inbox").string(),
            "--event-metadata-url", "file://" + m_dir.path("metadata.json").string()};
  }
  std::set<std::string> recorded_keys() override { return strings("SELECT keyname FROM tsv"); }
  std::set<std::string> rejected_bodies() override {
    return strings("SELECT body FROM rejected_message");
  }
  bool queue_empty() override {
    std::size_t files = 0;
    for (const auto& dir : {m_dir.path("inbox"), m_dir.path("inbox") / "inflight"}) {
      std::error_code error;
      for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
        files +=
            entry.is_regular_file() && !entry.path().filename().string().starts_with(".") ? 1 : 0;
      }
    }
    return files == 0;
  }

private:
  std::set<std::string> strings(const std::string& sql) {
    std::set<std::string> out;
    auto db = sqlite::Database::open(m_dir.path("ingester.db"));
    if (!db) {
      return out;
    }
    auto stmt = db->prepare(sql);
    if (!stmt) {
      return out;
    }
    while (stmt->step().value_or(false)) {
      const auto* bytes = static_cast<const char*>(sqlite3_column_blob(stmt->raw(), 0));
      out.emplace(bytes == nullptr ? ""
                                   : std::string(bytes, static_cast<std::size_t>(
                                                            sqlite3_column_bytes(stmt->raw(), 0))));
    }
    return out;
  }

  test::TempDir m_dir;
};

class AwsPipeline final : public Pipeline {
public:
  AwsPipeline(const Scenario& scenario, std::string database_conninfo)
      : m_conninfo(std::move(database_conninfo)) {
    m_env = {{"AWS_ENDPOINT_URL_S3", s3_endpoint().value_or("")},
             {"AWS_ENDPOINT_URL_SQS", *test::sqs_endpoint()},
             {"AWS_ACCESS_KEY_ID", "S3RVER"},
             {"AWS_SECRET_ACCESS_KEY", "S3RVER"},
             {"AWS_REGION", "us-east-1"}};
    auto queue = test::SqsTestQueue::create(*test::sqs_endpoint(), test::unique_name("files"),
                                            {{"VisibilityTimeout", "5"}});
    EXPECT_TRUE(queue) << queue.error().message;
    m_queue = std::move(*queue);
    m_bucket = fmt::format("bp-{}", test::unique_name("m").substr(2));
    std::replace(m_bucket.begin(), m_bucket.end(), '_', '-');
    http::Environment env(m_env.begin(), m_env.end());
    auto store = objectstore::make_s3_object_store({.bucket = m_bucket, .environment = env});
    EXPECT_TRUE(store) << store.error().message;
    const auto created = create_bucket(env, m_bucket);
    EXPECT_TRUE(created) << created.error().message;
    m_store = std::move(*store);
    publish_metadata(scenario.metadata_json);
  }
  void publish_metadata(const std::string& json) override {
    EXPECT_TRUE(m_store->put("ingestdb/allmetadata.json.gz", gzip(json).value()));
  }
  void publish(const std::vector<std::string>& bodies) override {
    for (std::size_t start = 0; start < bodies.size(); start += 10) {
      const auto batch =
          std::span(bodies).subspan(start, std::min<std::size_t>(10, bodies.size() - start));
      auto sent = m_queue->send(batch);
      ASSERT_TRUE(sent) << sent.error().message;
    }
  }
  std::vector<std::string> daemon_args() override {
    return {
        "-databaseURL",     m_conninfo, "-sqsQueueName",         m_queue->name(),
        "-bpConfigsBucket", m_bucket,   "-bpMetadataConfigsKey", "ingestdb/allmetadata.json.gz"};
  }
  std::map<std::string, std::string> daemon_env() override { return m_env; }
  std::set<std::string> recorded_keys() override { return strings("SELECT keyname FROM tsv"); }
  std::set<std::string> rejected_bodies() override {
    return strings("SELECT convert_from(body, 'UTF8') FROM rejected_message");
  }
  bool queue_empty() override {
    auto api = queue::sqs::Api::create(
        queue::sqs::Target{.endpoint = test::sqs_endpoint().value_or("") + "/",
                           .region = "us-east-1",
                           .queue_name = m_queue->name(),
                           .queue_url = m_queue->url()},
        queue::SqsConfig{}, m_queue->credentials());
    if (!api) {
      return false;
    }
    auto answer =
        api->call("GetQueueAttributes",
                  {{"QueueUrl", m_queue->url()},
                   {"AttributeNames",
                    {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}}},
                  5s);
    if (!answer) {
      return false;
    }
    const auto& attributes = (*answer)["Attributes"];
    return attributes.value("ApproximateNumberOfMessages", "1") == "0" &&
           attributes.value("ApproximateNumberOfMessagesNotVisible", "1") == "0";
  }

private:
  std::set<std::string> strings(const std::string& sql) {
    std::set<std::string> out;
    auto conn = pg::Connection::connect(m_conninfo);
    if (!conn) {
      return out;
    }
    auto rows = conn->exec(sql);
    if (!rows) {
      return out;
    }
    for (int row = 0; row < rows->size(); ++row) {
      out.insert(rows->text(row, 0));
    }
    return out;
  }

  std::string m_conninfo;
  std::map<std::string, std::string> m_env;
  std::unique_ptr<test::SqsTestQueue> m_queue;
  std::string m_bucket;
  std::unique_ptr<objectstore::ObjectStore> m_store;
};

class MetadatastorerE2E : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    m_scenario = make_scenario(GetParam() == "embedded" ? 7 : 11);
    if (GetParam() == "embedded") {
      m_pipeline = std::make_unique<EmbeddedPipeline>(m_scenario);
      return;
    }
    RSI_REQUIRE_SERVICE(test::sqs_endpoint() && s3_endpoint() && test::PrivatePostgres::binaries(),
                        "fauxqs, s3rver and PostgreSQL");
    m_postgres = std::make_unique<test::PrivatePostgres>();
    m_pipeline = std::make_unique<AwsPipeline>(m_scenario, m_postgres->conninfo());
  }

  // The scenario's messages of a table that never appears in the event metadata are rejected
  // after `unknown_table_wait` (default here 2 s, not a day).
  std::unique_ptr<test::Process> start_daemon(int run, const std::string& unknown_table_wait = "2s",
                                              const std::string& unknown_table_retry = "1s") {
    auto args = m_pipeline->daemon_args();
    m_health_port = test::free_tcp_port();
    for (const std::string& extra :
         {std::string("--listenerCount"), std::string("4"), std::string("--health-addr"),
          fmt::format("127.0.0.1:{}", m_health_port), std::string("--visibility-timeout"),
          std::string("5s"), std::string("--log-level"), std::string("error"),
          std::string("--unknown-table-wait"), unknown_table_wait,
          std::string("--unknown-table-retry"), unknown_table_retry}) {
      args.push_back(extra);
    }
    auto env = m_pipeline->daemon_env();
    env["STATSD_HOSTPORT"] = fmt::format("127.0.0.1:{}", m_statsd.port());
    return std::make_unique<test::Process>(
        RSI_METADATASTORER_BIN, args, m_dir.path(fmt::format("metadatastorer-{}.log", run)), env);
  }

  // The /health status code, or 0 when nothing answers.
  int health() {
    httplib::Client client("127.0.0.1", m_health_port);
    client.set_connection_timeout(2);
    client.set_read_timeout(5);
    auto response = client.Get("/health");
    return response ? response->status : 0;
  }

  bool sent_datagram(const std::string& datagram) {
    const auto all = m_statsd.datagrams();
    return std::find(all.begin(), all.end(), datagram) != all.end();
  }

  std::string progress() {
    return fmt::format("recorded {} of {} keys, {} rejected of {}, queue {}",
                       m_pipeline->recorded_keys().size(), m_scenario.expected_keys.size(),
                       m_pipeline->rejected_bodies().size(), m_scenario.malformed.size(),
                       m_pipeline->queue_empty() ? "empty" : "not empty");
  }

  static std::string tail(const std::string& text) {
    return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
  }

  bool done() {
    if (m_pipeline->recorded_keys().size() < m_scenario.expected_keys.size()) {
      return false;
    }
    const auto rejected = m_pipeline->rejected_bodies();
    return std::includes(rejected.begin(), rejected.end(), m_scenario.malformed.begin(),
                         m_scenario.malformed.end()) &&
           m_pipeline->queue_empty();
  }

  void expect_end_state() {
    EXPECT_EQ(m_pipeline->recorded_keys(), m_scenario.expected_keys)
        << "exactly the valid distinct keys";
    const auto rejected = m_pipeline->rejected_bodies();
    for (const auto& body : m_scenario.malformed) {
      EXPECT_EQ(rejected.count(body), 1U) << "not rejected: " << body.substr(0, 80);
    }
    for (const auto& body : rejected) {
      EXPECT_EQ(m_scenario.malformed.count(body), 1U)
          << "rejected but valid: " << body.substr(0, 80);
    }
    EXPECT_TRUE(m_pipeline->queue_empty());
  }

  void stop_gracefully(test::Process& daemon) {
    // Past start-up (it answers /health, whatever it says), so SIGTERM is handled.
    ASSERT_TRUE(test::eventually(60s, [&] { return health() != 0 || !daemon.running(); }))
        << tail(daemon.log_text());
    const auto asked = std::chrono::steady_clock::now();
    daemon.signal(SIGTERM);
    const auto status = daemon.wait(10s);
    ASSERT_TRUE(status.has_value()) << "did not stop within 10 s\n" << daemon.log_text();
    EXPECT_EQ(*status, 0) << daemon.log_text();
    EXPECT_LT(std::chrono::steady_clock::now() - asked, 5s)
        << "SIGTERM should stop it within a few seconds";
  }

  test::TempDir m_dir;
  test::UdpListener m_statsd;
  int m_health_port = 0;
  Scenario m_scenario;
  std::unique_ptr<test::PrivatePostgres> m_postgres;
  std::unique_ptr<Pipeline> m_pipeline;
};

TEST_P(MetadatastorerE2E, RecordsExactlyTheValidDistinctKeys) {
  m_pipeline->publish(m_scenario.bodies);
  auto daemon = start_daemon(0);
  ASSERT_TRUE(test::eventually(180s, [&] { return done() || !daemon->running(); }))
      << progress() << "\n"
      << tail(daemon->log_text());
  ASSERT_TRUE(daemon->running()) << progress() << "\n" << tail(daemon->log_text());
  EXPECT_EQ(health(), 200) << tail(daemon->log_text());
  stop_gracefully(*daemon);
  expect_end_state();
  // The original's statsd names reach a statsd server.
  for (const char* datagram :
       {"metadatastorer.tsv_files.event_00.received:1|c",
        "metadatastorer.tsv_files.event_00.queued:1|c", "metadatastorer.tsv_files.total.queued:1|c",
        "metadatastorer.tsv_files.not_ace_event.skipped.ace:1|c",
        "metadatastorer.messages.rejected.malformed:1|c"}) {
    EXPECT_TRUE(sent_datagram(datagram))
        << datagram << " among " << m_statsd.datagrams().size() << " datagrams, e.g. "
        << (m_statsd.datagrams().empty() ? "" : m_statsd.datagrams().front());
  }
}

TEST_P(MetadatastorerE2E, KillNineAtRandomMomentsLosesAndDoublesNothing) {
  std::mt19937 rng(GetParam().size());
  const std::size_t half = m_scenario.bodies.size() / 2;
  m_pipeline->publish(
      {m_scenario.bodies.begin(), m_scenario.bodies.begin() + static_cast<long>(half)});
  for (int run = 0; run < 6; ++run) {
    auto daemon = start_daemon(run);
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 1500));
    daemon->kill_hard();
    daemon->wait(10s);
    if (run == 2) {
      m_pipeline->publish(
          {m_scenario.bodies.begin() + static_cast<long>(half), m_scenario.bodies.end()});
    }
  }
  auto daemon = start_daemon(99);
  ASSERT_TRUE(test::eventually(240s, [&] { return done() || !daemon->running(); }))
      << progress() << "\n"
      << tail(daemon->log_text());
  stop_gracefully(*daemon);
  expect_end_state();
}

TEST_P(MetadatastorerE2E, ADatabaseOutageOfTenSecondsLosesNothing) {
  if (!m_postgres) {
    GTEST_SKIP() << "the embedded database cannot go away";
  }
  const std::size_t half = m_scenario.bodies.size() / 2;
  m_pipeline->publish(
      {m_scenario.bodies.begin(), m_scenario.bodies.begin() + static_cast<long>(half)});
  auto daemon = start_daemon(0);
  ASSERT_TRUE(test::eventually(60s, [&] { return m_pipeline->recorded_keys().size() > 500; }))
      << progress() << "\n"
      << tail(daemon->log_text());
  m_postgres->stop();
  m_pipeline->publish(
      {m_scenario.bodies.begin() + static_cast<long>(half), m_scenario.bodies.end()});
  std::this_thread::sleep_for(10s);
  ASSERT_TRUE(daemon->running()) << "the outage must not crash it\n"
                                 << progress() << "\n"
                                 << tail(daemon->log_text());
  m_postgres->start();
  ASSERT_TRUE(test::eventually(180s, [&] { return done() || !daemon->running(); }))
      << progress() << "\n"
      << tail(daemon->log_text());
  stop_gracefully(*daemon);
  expect_end_state();
}

// A new event's files arrive before Blueprint publishes its metadata: the messages wait in the
// queue (never deleted, never rejected) and are recorded, each once, when the metadata appears
// 30 s later.
TEST_P(MetadatastorerE2E, FilesOfATablePublishedThirtySecondsLaterAreAllRecordedOnce) {
  constexpr int k_late = 40;
  std::vector<std::string> late;
  std::set<std::string> late_keys;
  for (int index = 0; index < k_late; ++index) {
    const std::string key = fmt::format("spade-bucket/late_event/v0/{:03}.gz", index);
    late.push_back(
        core::encode_file_pointer({.key_name = key, .table = "late_event", .version = 0}));
    late_keys.insert(key);
  }
  const auto sent = std::chrono::steady_clock::now();
  m_pipeline->publish(late);
  auto daemon = start_daemon(0, "24h", "3s");
  ASSERT_TRUE(test::eventually(
      20s, [&] { return sent_datagram("metadatastorer.messages.awaiting_metadata:1|c"); }))
      << progress() << "\n"
      << tail(daemon->log_text());
  std::this_thread::sleep_until(sent + 30s); // Blueprint publishes the event 30 s after its files.
  EXPECT_TRUE(m_pipeline->recorded_keys().empty()) << "nothing recorded before the table is known";
  EXPECT_TRUE(m_pipeline->rejected_bodies().empty())
      << "nothing rejected while it may still appear";
  EXPECT_FALSE(m_pipeline->queue_empty()) << "the messages wait in the queue";
  core::EventMetadata metadata = core::parse_event_metadata(m_scenario.metadata_json).value();
  metadata.events["late_event"]["datastores"] = {.value = "ace"};
  m_pipeline->publish_metadata(core::encode_event_metadata(metadata));

  ASSERT_TRUE(test::eventually(90s,
                               [&] {
                                 return m_pipeline->recorded_keys().size() == late_keys.size() &&
                                        m_pipeline->queue_empty();
                               }))
      << progress() << "\n"
      << tail(daemon->log_text());
  stop_gracefully(*daemon);
  EXPECT_EQ(m_pipeline->recorded_keys(), late_keys)
      << "0 of 40 lost; the keys are unique in tsv, so none twice";
  EXPECT_TRUE(m_pipeline->rejected_bodies().empty());
}

std::string backend_name(const ::testing::TestParamInfo<std::string>& param) { return param.param; }

TEST_P(MetadatastorerE2E, MissingEventMetadataAtStartIsRetriedWhileMessagesWait) {
  if (GetParam() != "embedded") {
    GTEST_SKIP() << "the embedded variant covers the start-up path for both";
  }
  const auto metadata = m_dir.path("metadata.json");
  auto args = m_pipeline->daemon_args();
  const auto url = std::find(args.begin(), args.end(), "--event-metadata-url");
  ASSERT_NE(url, args.end());
  *(url + 1) = "file://" + metadata.string(); // Not there yet.
  m_pipeline->publish({m_scenario.bodies.begin(), m_scenario.bodies.begin() + 100});
  m_health_port = test::free_tcp_port();
  for (const std::string& extra :
       {std::string("--health-addr"), fmt::format("127.0.0.1:{}", m_health_port),
        std::string("-bpMetadataRetryDelay"), std::string("100ms")}) {
    args.push_back(extra);
  }
  test::Process daemon(RSI_METADATASTORER_BIN, args, m_dir.path("no-metadata.log"));
  ASSERT_TRUE(test::eventually(10s, [&] { return health() == 503; })) << tail(daemon.log_text());
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(daemon.running()) << "a missing metadata object must not crash it";
  EXPECT_TRUE(m_pipeline->recorded_keys().empty()) << "messages wait in the queue";
  EXPECT_NE(daemon.log_text().find("event metadata unavailable"), std::string::npos);
  std::ofstream(metadata) << m_scenario.metadata_json;
  EXPECT_TRUE(test::eventually(30s, [&] { return health() == 200 && m_pipeline->queue_empty(); }))
      << progress() << tail(daemon.log_text());
  EXPECT_FALSE(m_pipeline->recorded_keys().empty());
  stop_gracefully(daemon);
}

INSTANTIATE_TEST_SUITE_P(Backends, MetadatastorerE2E, ::testing::Values("embedded", "aws"),
                         backend_name);

} // namespace
} // namespace rsi
