// rsloadmanager as a process, end to end: 30 tables × 40 files recorded in a PostgreSQL
// ingester database, files in s3rver, a PostgreSQL warehouse, a local schema directory.
// Every file must be loaded exactly once (row counts and a checksum per table), the ingester
// tables left empty and last_load set, with the original's statsd names at a statsd listener —
// also across kill -9 at random moments, a 15 s warehouse outage, and two processes sharing
// the ingester database; and an idle process told of a file recorded by another process at once
// (the ingester database's notifications), long before its next poll.
#include <csignal>
#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/gzip.hpp"
#include "core/file_pointer.hpp"
#include "ingestdb/postgres_ingest_db.hpp"
#include "objectstore/s3_object_store.hpp"
#include "pg/connection.hpp"
#include "queue/local_queue.hpp"
#include "support/net.hpp"
#include "support/private_postgres.hpp"
#include "support/process.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"

namespace rsi {
namespace {

using namespace std::chrono_literals;

constexpr int k_tables = 30;
constexpr int k_files = 40;
constexpr int k_rows = 20;
const std::string k_bucket = "rsi-e2e-loader";

std::string table_name(int table) { return fmt::format("t{:02}", table); }
std::string key_of(int table, int file) {
  return fmt::format("{}/{}/{:03}.gz", k_bucket, table_name(table), file);
}

std::optional<std::string> s3_endpoint() {
  const char* value = std::getenv("RSI_TEST_S3_ENDPOINT");
  return value == nullptr || *value == '\0' ? std::nullopt : std::optional<std::string>(value);
}

http::Environment aws_env() {
  return {{"AWS_ENDPOINT_URL_S3", s3_endpoint().value_or("")},
          {"AWS_ACCESS_KEY_ID", "S3RVER"},
          {"AWS_SECRET_ACCESS_KEY", "S3RVER"},
          {"AWS_REGION", "us-east-1"}};
}

// Row `row` of file `file`: n = file * 1000 + row, so sum(n) per table is known.
std::string file_body(int table, int file) {
  std::string text;
  for (int row = 0; row < k_rows; ++row) {
    text += fmt::format("2016-07-29 22:{:02}:{:02}\t{}-{}-{}\t{}\n", file % 60, row, table, file,
                        row, file * 1000 + row);
  }
  return text;
}

std::int64_t expected_sum() {
  std::int64_t sum = 0;
  for (int file = 0; file < k_files; ++file) {
    for (int row = 0; row < k_rows; ++row) {
      sum += file * 1000 + row;
    }
  }
  return sum;
}

class RsloadmanagerE2E : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    if (!s3_endpoint()) {
      return;
    }
    // The files, once for every test: each test has its own ingester database and warehouse.
    http::Environment env = aws_env();
    auto store = objectstore::make_s3_object_store({.bucket = k_bucket, .environment = env});
    ASSERT_TRUE(store) << store.error().message;
    if (auto there = (*store)->head(key_of(k_tables - 1, k_files - 1).substr(k_bucket.size() + 1));
        there && *there) {
      return;
    }
    httplib::Client client(s3_endpoint()->substr(std::string("http://").size()));
    auto created = client.Put("/" + k_bucket, "", "application/octet-stream");
    ASSERT_TRUE(created);
    for (int table = 0; table < k_tables; ++table) {
      for (int file = 0; file < k_files; ++file) {
        const auto put = (*store)->put(key_of(table, file).substr(k_bucket.size() + 1),
                                       gzip(file_body(table, file)).value());
        ASSERT_TRUE(put) << put.error().message;
      }
    }
  }

  void SetUp() override {
    const auto base = test::postgres_conninfo();
    RSI_REQUIRE_SERVICE(base && s3_endpoint() && test::PrivatePostgres::binaries(),
                        "PostgreSQL and s3rver");
    m_ingester.emplace(*base);
    m_warehouse = std::make_unique<test::PrivatePostgres>();
    for (int table = 0; table < k_tables; ++table) {
      std::filesystem::create_directories(m_dir.path("schemas") / table_name(table));
      std::ofstream(m_dir.path("schemas") / table_name(table) / "v0.json")
          << R"json({"Columns":[{"OutboundName":"time","Transformer":"f@timestamp@unix"},)json"
          << R"json({"OutboundName":"name","Transformer":"varchar","ColumnCreationOptions":"(32)"},)json"
          << R"json({"OutboundName":"n","Transformer":"bigint"}]})json";
    }
    if (!m_record_later) {
      record_files();
    }
  }

  // Every file's pointer in the ingester database, as metadatastorer would have left it.
  void record_files() {
    auto store = ingestdb::make_postgres_ingest_db({.conninfo = m_ingester->conninfo()});
    ASSERT_TRUE(store) << store.error().message;
    for (int table = 0; table < k_tables; ++table) {
      for (int file = 0; file < k_files; ++file) {
        ASSERT_TRUE(
            (*store)->record_file({.key_name = key_of(table, file), .table = table_name(table)},
                                  std::chrono::system_clock::now()));
      }
    }
  }

  std::unique_ptr<test::Process> start(const std::string& name, int workers = 4,
                                       const std::string& log_level = "warn",
                                       std::vector<std::string> extra_args = {}) {
    m_control_port = test::free_tcp_port();
    auto env = aws_env();
    std::map<std::string, std::string> process_env(env.begin(), env.end());
    process_env["STATSD_HOSTPORT"] = fmt::format("127.0.0.1:{}", m_statsd.port());
    std::vector<std::string> args{"-databaseURL",
                                  m_ingester->conninfo(),
                                  "--warehouse-url",
                                  m_warehouse->conninfo(),
                                  "--registry-url",
                                  "file://" + m_dir.path("schemas").string(),
                                  "-n_workers",
                                  std::to_string(workers),
                                  "-no_work_delay",
                                  m_no_work_delay,
                                  "-migratorPollPeriod",
                                  "1s",
                                  "-waitProcessorPeriod",
                                  "1s",
                                  "-offpeakDurationHours",
                                  "24",
                                  "-failed_load_check_interval",
                                  "1s",
                                  "-reporterPollPeriod",
                                  "1s",
                                  "--batch-lease",
                                  "3s",
                                  "--control-addr",
                                  fmt::format("127.0.0.1:{}", m_control_port),
                                  "--log-level",
                                  log_level};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    return std::make_unique<test::Process>(RSI_RSLOADMANAGER_BIN, std::move(args),
                                           m_dir.path(name + ".log"), process_env);
  }

  std::int64_t scalar(const std::string& conninfo, const std::string& sql) {
    auto conn = pg::Connection::connect(conninfo);
    if (!conn) {
      return -1;
    }
    auto rows = conn->exec(sql);
    return rows && rows->size() == 1 && !rows->is_null(0, 0) ? rows->integer(0, 0) : -1;
  }

  bool all_loaded() { return scalar(m_ingester->conninfo(), "SELECT count(*) FROM tsv") == 0; }

  void expect_exact() {
    for (int table = 0; table < k_tables; ++table) {
      const std::string name = fmt::format("logs.\"{}\"", table_name(table));
      EXPECT_EQ(scalar(m_warehouse->conninfo(), "SELECT count(*) FROM " + name), k_files * k_rows)
          << name;
      EXPECT_EQ(scalar(m_warehouse->conninfo(), "SELECT sum(n) FROM " + name), expected_sum())
          << name;
      EXPECT_EQ(scalar(m_warehouse->conninfo(), "SELECT count(DISTINCT name) FROM " + name),
                k_files * k_rows)
          << name;
    }
    EXPECT_EQ(scalar(m_ingester->conninfo(), "SELECT count(*) FROM tsv"), 0);
    EXPECT_EQ(scalar(m_ingester->conninfo(), "SELECT count(*) FROM manifest"), 0);
    EXPECT_EQ(scalar(m_ingester->conninfo(), "SELECT count(*) FROM last_load"), k_tables);
    EXPECT_EQ(
        scalar(m_warehouse->conninfo(), "SELECT count(DISTINCT uuid) FROM infra.load_manifest"),
        scalar(m_warehouse->conninfo(), "SELECT count(*) FROM infra.load_manifest"));
  }

  // The control API answers: the daemon is past start-up (and handles SIGTERM).
  bool ready() { return ready(m_control_port); }
  static bool ready(int port) {
    httplib::Client control("127.0.0.1", port);
    control.set_connection_timeout(1);
    auto health = control.Get("/health");
    return health && health->status == 200;
  }

  void stop(test::Process& daemon) { stop(daemon, m_control_port); }
  void stop(test::Process& daemon, int control_port) {
    ASSERT_TRUE(test::eventually(60s, [&] { return ready(control_port) || !daemon.running(); }))
        << tail(daemon.log_text());
    daemon.signal(SIGTERM);
    const auto status = daemon.wait(30s);
    ASSERT_TRUE(status.has_value()) << "did not stop\n" << tail(daemon.log_text());
    EXPECT_EQ(*status, 0) << tail(daemon.log_text());
  }

  static std::string tail(const std::string& text) {
    return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
  }

  bool sent(const std::string& prefix) {
    for (const auto& datagram : m_statsd.datagrams()) {
      if (datagram.starts_with(prefix)) {
        return true;
      }
    }
    return false;
  }

  test::TempDir m_dir;
  test::UdpListener m_statsd;
  std::optional<test::PostgresSchema> m_ingester;
  std::unique_ptr<test::PrivatePostgres> m_warehouse;
  int m_control_port = 0;             // The last started daemon's.
  bool m_record_later = false;        // A test records the files itself, once its daemons are up.
  std::string m_no_work_delay = "1s"; // How long an idle worker waits before it looks again.
};

TEST_F(RsloadmanagerE2E, LoadsEveryFileExactlyOnce) {
  // The metadatastorer's queue (here an inbox with two messages nobody reads), named only so
  // that /control/status shows its depth.
  const auto inbox = m_dir.path("inbox");
  std::filesystem::create_directories(inbox);
  ASSERT_TRUE(queue::publish_local_message(inbox, "one"));
  ASSERT_TRUE(queue::publish_local_message(inbox, "two"));
  auto daemon = start("run", 4, "warn", {"--queue-url", "dir://" + inbox.string()});
  ASSERT_TRUE(test::eventually(300s, [&] { return all_loaded() || !daemon->running(); }))
      << tail(daemon->log_text());
  ASSERT_TRUE(daemon->running()) << tail(daemon->log_text());
  httplib::Client control("127.0.0.1", m_control_port);
  auto health = control.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200) << health->body;
  auto status = control.Get("/control/status");
  ASSERT_TRUE(status);
  const auto body = nlohmann::json::parse(status->body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << status->body;
  EXPECT_EQ(body["Queue"], (nlohmann::json{{"Waiting", 2},
                                           {"InFlight", 0},
                                           {"Delayed", 0},
                                           {"Approximate", false},
                                           {"SetAside", 0}}))
      << status->body;
  EXPECT_EQ(body["Tables"].size(), static_cast<std::size_t>(k_tables)) << status->body;
  std::this_thread::sleep_for(1500ms); // One more reporter period.
  stop(*daemon);
  expect_exact();
  for (const char* prefix :
       {"ingester.tsv_files.t00.loaded:", "ingester.tsv_files.total.loaded:",
        "ingester.manifest_load.count:1|c", "ingester.t00:",
        "ingester.tsv_files.in_queue_total_count:", "ingester.tsv_files.stale_max_age_in_ms:"}) {
    EXPECT_TRUE(sent(prefix)) << prefix;
  }
  EXPECT_FALSE(sent("ingester.manifest_load.failures")) << "no load failed";
}

TEST_F(RsloadmanagerE2E, KillNineAtRandomMomentsNeitherLosesNorDoubles) {
  std::mt19937 rng(42);
  for (int run = 0; run < 10; ++run) {
    auto daemon = start(fmt::format("killed-{}", run));
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 1200));
    daemon->kill_hard();
    daemon->wait(10s);
  }
  auto daemon = start("final");
  ASSERT_TRUE(test::eventually(300s, [&] { return all_loaded() || !daemon->running(); }))
      << tail(daemon->log_text());
  stop(*daemon);
  expect_exact();
}

TEST_F(RsloadmanagerE2E, AWarehouseOutageResumesByItselfWithoutSpendingRetries) {
  auto daemon = start("outage");
  ASSERT_TRUE(test::eventually(120s, [&] {
    return scalar(m_warehouse->conninfo(), "SELECT count(*) FROM infra.load_manifest") >= 3;
  })) << tail(daemon->log_text());
  m_warehouse->stop();
  std::this_thread::sleep_for(15s);
  ASSERT_TRUE(daemon->running()) << "the outage must not crash it\n" << tail(daemon->log_text());
  m_warehouse->start();
  ASSERT_TRUE(test::eventually(300s, [&] { return all_loaded() || !daemon->running(); }))
      << tail(daemon->log_text());
  stop(*daemon);
  expect_exact();
  EXPECT_TRUE(sent("ingester.manifest_load.failures"))
      << "every failed attempt counts, as the original counted it";
  EXPECT_FALSE(sent("ingester.manifest_load.retries")) << "transient faults spend no retry";
}

// Both processes must take part, whatever the machine's speed: the test holds a lock on the
// warehouse's ledger (SHARE, which the ledger row every load inserts first waits for) while
// the files are recorded, so each worker that claims a batch stops in its load. Four batches in
// flight with two workers per process means each process holds two; then the lock is let go.
// (Recorded without the lock, one process could load all 1,200 files before the other's next poll:
// seen in CI runs on both a loaded and a quiet machine.)
class RsloadmanagerE2ETwoProcesses : public RsloadmanagerE2E {
protected:
  RsloadmanagerE2ETwoProcesses() { m_record_later = true; }
};

TEST_F(RsloadmanagerE2ETwoProcesses, TwoProcessesShareTheWork) {
  auto first = start("first", 2, "info");
  const int first_port = m_control_port;
  auto second = start("second", 2, "info");
  const int second_port = m_control_port;
  ASSERT_TRUE(test::eventually(60s, [&] { return ready(first_port) && ready(second_port); }))
      << tail(first->log_text()) << tail(second->log_text());

  auto holder = pg::Connection::connect(m_warehouse->conninfo());
  ASSERT_TRUE(holder) << holder.error().message;
  ASSERT_TRUE(holder->exec("BEGIN"));
  ASSERT_TRUE(holder->exec("LOCK TABLE infra.load_manifest IN SHARE MODE"));
  record_files();
  EXPECT_TRUE(
      test::eventually(60s,
                       [&] {
                         return scalar(m_ingester->conninfo(),
                                       "SELECT count(*) FROM manifest WHERE retry_ts IS NULL") == 4;
                       }))
      << "every worker of both processes holds a batch\n"
      << tail(first->log_text()) << tail(second->log_text());
  ASSERT_TRUE(holder->exec("COMMIT"));

  ASSERT_TRUE(test::eventually(
      300s, [&] { return all_loaded() || !first->running() || !second->running(); }))
      << tail(first->log_text()) << tail(second->log_text());
  stop(*first, first_port);
  stop(*second, second_port);
  expect_exact();
  EXPECT_NE(first->log_text().find("\"msg\":\"batch loaded\""), std::string::npos)
      << "the first loaded some";
  EXPECT_NE(second->log_text().find("\"msg\":\"batch loaded\""), std::string::npos)
      << "the second loaded some";
}

// Files recorded by another process (here the test, as metadatastorer would) wake an idle
// rsloadmanager through the ingester database's notifications: with -no_work_delay 60s its
// workers would otherwise look again only a minute after their last look.
class RsloadmanagerE2EWake : public RsloadmanagerE2E {
protected:
  RsloadmanagerE2EWake() {
    m_record_later = true;
    m_no_work_delay = "60s";
  }

  void record(int table, int first_file, int files) {
    auto store = ingestdb::make_postgres_ingest_db({.conninfo = m_ingester->conninfo()});
    ASSERT_TRUE(store) << store.error().message;
    for (int file = first_file; file < first_file + files; ++file) {
      ASSERT_TRUE(
          (*store)->record_file({.key_name = key_of(table, file), .table = table_name(table)},
                                std::chrono::system_clock::now()));
    }
  }

  std::int64_t rows_of(int table) {
    return scalar(m_warehouse->conninfo(),
                  fmt::format("SELECT count(*) FROM logs.\"{}\"", table_name(table)));
  }
};

TEST_F(RsloadmanagerE2EWake, AnIdleLoaderLoadsAFileRecordedByAnotherProcessAtOnce) {
  // The table exists and its first files are loaded; then every worker is idle for a minute.
  record(0, 0, 3);
  auto daemon = start("wake", 2, "info", {"-loadCountTrigger", "0"});
  ASSERT_TRUE(test::eventually(60s, [&] { return rows_of(0) == 3 * k_rows && all_loaded(); }))
      << tail(daemon->log_text());
  std::this_thread::sleep_for(2s); // Every worker has looked since, found nothing, and waits.

  for (int round = 0; round < 3; ++round) {
    const auto recorded = std::chrono::steady_clock::now();
    record(0, 3 + round, 1);
    const bool loaded =
        test::eventually(20s, [&] { return rows_of(0) == (4 + round) * k_rows && all_loaded(); });
    const auto took = std::chrono::steady_clock::now() - recorded;

    ASSERT_TRUE(loaded) << tail(daemon->log_text());
    EXPECT_LT(took, 5s) << "round " << round << ": the file waited for a poll, not a wake";
  }
  stop(*daemon);
  EXPECT_EQ(daemon->log_text().find("lost the connection that listens"), std::string::npos);
}

// Rejected messages in the shared ingester database, replayed through rsloadmanager's control
// API once it has the event metadata (--event-metadata-url): a message of a table now known is
// recorded and loads; a malformed one stays rejected. (The replay makes the table's first files
// pending, so the migrator creates the table after the replay's wake: the workers find them at
// their next poll.)
class RsloadmanagerE2EReplay : public RsloadmanagerE2EWake {
protected:
  RsloadmanagerE2EReplay() { m_no_work_delay = "1s"; }
};

TEST_F(RsloadmanagerE2EReplay, RejectedMessagesAreReplayedThroughTheControlApi) {
  {
    auto store = ingestdb::make_postgres_ingest_db({.conninfo = m_ingester->conninfo()});
    ASSERT_TRUE(store) << store.error().message;
    for (int file = 0; file < 2; ++file) {
      ASSERT_TRUE((*store)->reject_message(
          {.message_id = fmt::format("late-{}", file),
           .reason = "table \"t00\" is not in the event metadata (still unknown 24h after the "
                     "message was sent; 1441 attempts)",
           .body = core::encode_file_pointer({.key_name = key_of(0, file), .table = "t00"}),
           .received_at = std::chrono::system_clock::now(),
           .kind = "unknown_table",
           .table = "t00"}));
    }
    ASSERT_TRUE((*store)->reject_message({.message_id = "broken",
                                          .reason = "parse queue message: not JSON",
                                          .body = "{",
                                          .received_at = std::chrono::system_clock::now(),
                                          .kind = "malformed"}));
  }
  const auto metadata = m_dir.path("event-metadata.json");
  std::ofstream(metadata) << R"({"t00":{"datastores":{"MetadataValue":"ace"}}})";
  auto daemon =
      start("replay", 2, "warn",
            {"-loadCountTrigger", "0", "--event-metadata-url", "file://" + metadata.string()});
  ASSERT_TRUE(test::eventually(60s, [&] { return ready(); })) << tail(daemon->log_text());

  httplib::Client control("127.0.0.1", m_control_port);
  control.set_read_timeout(30s);
  const auto replayed = control.Post("/control/rejected/replay",
                                     R"({"All":true,"Requester":"e2e"})", "application/json");

  ASSERT_TRUE(replayed);
  ASSERT_EQ(replayed->status, 200) << replayed->body;
  const auto answer = nlohmann::json::parse(replayed->body);
  ASSERT_EQ(answer["Messages"].size(), 3U) << answer.dump();
  EXPECT_EQ(answer["Messages"][0]["Outcome"], "recorded");
  EXPECT_EQ(answer["Messages"][1]["Outcome"], "recorded");
  EXPECT_EQ(answer["Messages"][2]["Outcome"], "rejected");
  EXPECT_EQ(answer["Messages"][2]["Kind"], "malformed");
  ASSERT_TRUE(test::eventually(20s, [&] { return rows_of(0) == 2 * k_rows && all_loaded(); }))
      << tail(daemon->log_text());
  const auto left = control.Get("/control/rejected");
  ASSERT_TRUE(left);
  const auto listed = nlohmann::json::parse(left->body);
  ASSERT_EQ(listed["Messages"].size(), 1U) << left->body;
  EXPECT_EQ(listed["Messages"][0]["MessageId"], "broken");
  stop(*daemon);
}

} // namespace
} // namespace rsi
