// Rejected messages put back by an operator, with the real rs_ingester: messages of a table
// nobody published are rejected after --unknown-table-wait; the table is published (its schema
// in the data directory); a replay through the control API, or through `rs_ingester rejected
// replay` beside the running process, records them, and the files load exactly once (two
// messages announce the same file). The messages leave rejected_message, and replaying again
// finds nothing.
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "sqlite/database.hpp"
#include "support/net.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace rsi {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr int k_exit_left_behind_replay = 3; // rs_ingester: idle, something left behind.
constexpr auto k_schema =
    R"({"Columns":[{"OutboundName":"id","Transformer":"bigint","ColumnCreationOptions":""}]})";

class ReplayE2E : public ::testing::Test {
protected:
  void SetUp() override {
    fs::create_directories(m_data / "schemas" / "events");
    std::ofstream(m_data / "schemas" / "events" / "v0.json") << k_schema;
  }

  void TearDown() override {
    if (m_daemon) {
      test::stop_and_expect_clean_exit(*m_daemon);
    }
  }

  std::pair<int, std::string> run_cli(std::vector<std::string> args) {
    return test::run_to_end(RSI_RS_INGESTER_BIN, std::move(args),
                            m_dir.path(fmt::format("cli-{}.log", ++m_runs)), 120s);
  }

  // Store a gzip file of `rows` ids for new_event and announce it, as `rs_ingester load` does.
  void announce(const std::string& name, int rows) {
    const fs::path plain = m_dir.path(name);
    if (!fs::exists(plain.string() + ".gz")) {
      std::ofstream out(plain);
      for (int row = 0; row < rows; ++row) {
        out << row << "\n";
      }
      out.close();
      ASSERT_EQ(std::system(fmt::format("gzip -f '{}'", plain.string()).c_str()), 0);
    }
    auto [status, output] = run_cli(
        {"load", plain.string() + ".gz", "--table", "new_event", "--data-dir", m_data.string()});
    ASSERT_EQ(status, 0) << output;
  }

  // rs_ingester run on the data directory, rejecting messages of unknown tables after a second
  // and loading files a second after they wait.
  void start() {
    m_port = test::free_tcp_port();
    m_daemon = std::make_unique<test::Process>(
        RSI_RS_INGESTER_BIN,
        std::vector<std::string>{"run", "--data-dir", m_data.string(), "--unknown-table-wait", "1",
                                 "--unknown-table-retry", "1", "--load-age", "1", "--control-addr",
                                 fmt::format("127.0.0.1:{}", m_port)},
        m_dir.path("daemon.log"));
    m_client = std::make_unique<httplib::Client>("127.0.0.1", m_port);
    m_client->set_read_timeout(30s);
    ASSERT_TRUE(test::eventually(30s, [&] {
      const auto health = m_client->Get("/health");
      return (health && health->status == 200) || !m_daemon->running();
    })) << m_daemon->log_text();
    ASSERT_TRUE(m_daemon->running()) << m_daemon->log_text();
  }

  json rejected() {
    const auto listed = m_client->Get("/control/rejected");
    EXPECT_TRUE(listed && listed->status == 200) << (listed ? listed->body : "no answer");
    return listed ? json::parse(listed->body, nullptr, false) : json();
  }

  // The three announcements rejected: wait for them.
  void expect_rejected_as_unknown() {
    ASSERT_TRUE(test::eventually(60s, [&] { return rejected()["Messages"].size() == 3; }))
        << rejected().dump() << "\n"
        << m_daemon->log_text();
    for (const auto& message : rejected()["Messages"]) {
      EXPECT_EQ(message["Kind"], "unknown_table") << message.dump();
      EXPECT_EQ(message["Table"], "new_event") << message.dump();
    }
  }

  void publish_new_event() {
    fs::create_directories(m_data / "schemas" / "new_event");
    std::ofstream(m_data / "schemas" / "new_event" / "v0.json") << k_schema;
  }

  // Rows of new_event in the warehouse; -1 while it has no such table.
  std::int64_t warehouse_rows() {
    auto warehouse = sqlite::Database::open(m_data / "warehouse.db");
    if (!warehouse) {
      return -1;
    }
    auto count = warehouse->prepare("SELECT count(*) FROM new_event");
    if (!count || !count->step().value_or(false)) {
      return -1;
    }
    return count->integer(0);
  }

  // The files load; nothing more arrives after a few more seconds of loading.
  void expect_loaded_once() {
    ASSERT_TRUE(test::eventually(60s, [&] { return warehouse_rows() == 30; }))
        << "rows: " << warehouse_rows() << "\n"
        << m_daemon->log_text();
    std::this_thread::sleep_for(3s);
    EXPECT_EQ(warehouse_rows(), 30) << "each file loads once";
    EXPECT_EQ(rejected()["Messages"], json::array());
  }

  test::TempDir m_dir;
  fs::path m_data = m_dir.path("data");
  std::unique_ptr<test::Process> m_daemon;
  std::unique_ptr<httplib::Client> m_client;
  int m_port = 0;
  int m_runs = 0;
};

TEST_F(ReplayE2E, MessagesOfATablePublishedLateAreReplayedThroughTheControlApiAndLoadOnce) {
  announce("a.tsv", 10);
  announce("b.tsv", 20);
  announce("a.tsv", 10); // The same file announced twice.
  start();
  expect_rejected_as_unknown();

  publish_new_event();
  const auto replayed = m_client->Post(
      "/control/rejected/replay", R"({"Table":"new_event","Requester":"e2e"})", "application/json");

  ASSERT_TRUE(replayed) << "no answer";
  ASSERT_EQ(replayed->status, 200) << replayed->body;
  const json answer = json::parse(replayed->body);
  std::map<std::string, int> outcomes;
  for (const auto& message : answer["Messages"]) {
    ++outcomes[message["Outcome"].get<std::string>()];
  }
  EXPECT_EQ(outcomes, (std::map<std::string, int>{{"duplicate", 1}, {"recorded", 2}}))
      << answer.dump();
  expect_loaded_once();

  const auto again =
      m_client->Post("/control/rejected/replay", R"({"All":true})", "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 404) << again->body;
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(warehouse_rows(), 30);
}

TEST_F(ReplayE2E, TheCommandLineReplaysBesideTheRunningProcessAndSaysWhatIsLeft) {
  announce("a.tsv", 10);
  announce("b.tsv", 20);
  announce("a.tsv", 10);
  start();
  expect_rejected_as_unknown();

  auto [listed_status, listed] =
      run_cli({"rejected", "list", "--data-dir", m_data.string(), "--reason", "unknown_table"});
  EXPECT_EQ(listed_status, 0) << listed;
  EXPECT_NE(listed.find("unknown_table new_event"), std::string::npos) << listed;
  auto [early_status, early] =
      run_cli({"rejected", "replay", "--data-dir", m_data.string(), "--table", "new_event"});
  EXPECT_EQ(early_status, k_exit_left_behind_replay) << "not published yet: still rejected\n"
                                                     << early;
  EXPECT_NE(early.find("3 rejected again"), std::string::npos) << early;

  publish_new_event();
  auto [status, output] = run_cli({"rejected", "replay", "--data-dir", m_data.string(), "--table",
                                   "new_event", "--requester", "e2e"});

  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find("replayed 3: 2 recorded, 1 duplicate, 0 skipped, 0 rejected again"),
            std::string::npos)
      << output;
  expect_loaded_once();
  auto [again_status, again] =
      run_cli({"rejected", "replay", "--data-dir", m_data.string(), "--all"});
  EXPECT_EQ(again_status, 0) << again;
  EXPECT_NE(again.find("no rejected message matches"), std::string::npos) << again;
}

TEST_F(ReplayE2E, TheCommandLineReplaysFromTheDaemonsDatabaseWithTheirEventMetadata) {
  announce("a.tsv", 10);
  announce("b.tsv", 20);
  announce("a.tsv", 10);
  start();
  expect_rejected_as_unknown();
  const fs::path metadata = m_dir.path("event-metadata.json");
  std::ofstream(metadata) << R"({"new_event":{"datastores":{"MetadataValue":"ace"}}})";
  publish_new_event(); // The warehouse table's schema, for the running process's migrator.

  const std::string database = "sqlite://" + (m_data / "ingester.db").string();
  auto [refused_status, refused] =
      run_cli({"rejected", "replay", "--database-url", database, "--all"});
  EXPECT_EQ(refused_status, 2) << refused;
  EXPECT_NE(refused.find("needs --event-metadata-url"), std::string::npos) << refused;
  auto [status, output] =
      run_cli({"rejected", "replay", "--database-url", database, "--event-metadata-url",
               "file://" + metadata.string(), "--reason", "unknown_table"});

  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find("replayed 3: 2 recorded, 1 duplicate"), std::string::npos) << output;
  expect_loaded_once();
}

} // namespace
} // namespace rsi
