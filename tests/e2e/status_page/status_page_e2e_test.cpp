// The status page in a real browser. `rs_ingester run` (embedded default, SQLite, a data
// directory in a temporary folder, a control token) gets data: clicks loads (three files), one
// purchases file of three is cut short and quarantined while the other two load, video_play
// waits with one file (the count trigger wants more than two and the age trigger is half an
// hour away), and a malformed message is rejected. Headless Chromium (Debian's chromium), driven
// by tests/browser/status_page.mjs through puppeteer-core, loads the page, is asked for the
// token, shows the numbers /control/status gives, forces the load of video_play and sees it
// happen, asks before a destructive action, and saves screenshots (desktop and phone) into the
// build folder. The warehouse then holds video_play's rows. Without Chromium or the npm
// package the test skips, saying so; with RSI_TEST_REQUIRE_SERVICES=1 (CI) it fails.
#include <chrono>
#include <cstdlib>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "queue/local_queue.hpp"
#include "sqlite/database.hpp"
#include "support/net.hpp"
#include "support/process.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"

namespace rsi {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr auto k_token = "status-page-e2e-token";
constexpr auto k_schema =
    R"({"Columns":[{"OutboundName":"id","Transformer":"bigint","ColumnCreationOptions":""}]})";

// The Chromium to drive: $RSI_CHROMIUM, else Debian's.
std::string chromium_path() {
  if (const char* given = std::getenv("RSI_CHROMIUM"); given != nullptr && *given != '\0') {
    return given;
  }
  return "/usr/bin/chromium";
}

std::string node_path() {
  for (const char* candidate : {"/usr/bin/node", "/usr/local/bin/node"}) {
    if (fs::exists(candidate)) {
      return candidate;
    }
  }
  return {};
}

class StatusPageE2E : public ::testing::Test {
protected:
  void TearDown() override {
    if (m_daemon) {
      test::stop_and_expect_clean_exit(*m_daemon);
    }
  }

  std::pair<int, std::string> run_cli(std::vector<std::string> args) {
    return test::run_to_end(RSI_RS_INGESTER_BIN, std::move(args),
                            m_dir.path(fmt::format("cli-{}.log", ++m_runs)), 60s);
  }

  void add_table(const std::string& table) {
    fs::create_directories(m_data / "schemas" / table);
    std::ofstream(m_data / "schemas" / table / "v0.json") << k_schema;
  }

  // A gzip file of `rows` ids stored and announced for `table`, as `rs_ingester load` does.
  void announce(const std::string& table, const std::string& name, int rows) {
    const fs::path plain = m_dir.path(name);
    {
      std::ofstream out(plain);
      for (int row = 0; row < rows; ++row) {
        out << row << "\n";
      }
    }
    ASSERT_EQ(std::system(fmt::format("gzip -f '{}'", plain.string()).c_str()), 0);
    auto [status, output] =
        run_cli({"load", plain.string() + ".gz", "--table", table, "--data-dir", m_data.string()});
    ASSERT_EQ(status, 0) << output;
  }

  json status() {
    const auto answer =
        m_client->Get("/control/status", {{"Authorization", "Bearer " + std::string(k_token)}});
    EXPECT_TRUE(answer && answer->status == 200) << (answer ? answer->body : "no answer");
    return answer && answer->status == 200 ? json::parse(answer->body) : json::object();
  }

  static const json* table_of(const json& status, const std::string& name) {
    if (!status.contains("Tables")) {
      return nullptr;
    }
    for (const auto& table : status["Tables"]) {
      if (table["Table"] == name) {
        return &table;
      }
    }
    return nullptr;
  }

  std::int64_t warehouse_rows(const std::string& table) {
    auto warehouse = sqlite::Database::open(m_data / "warehouse.db");
    if (!warehouse) {
      return -1;
    }
    auto count = warehouse->prepare(fmt::format("SELECT count(*) FROM {}", table));
    if (!count || !count->step().value_or(false)) {
      return -1;
    }
    return count->integer(0);
  }

  test::TempDir m_dir;
  fs::path m_data = m_dir.path("data");
  std::unique_ptr<test::Process> m_daemon;
  std::unique_ptr<httplib::Client> m_client;
  int m_runs = 0;
};

TEST_F(StatusPageE2E, ChromiumShowsTheStatusAndForcesALoad) {
  const std::string chromium = chromium_path();
  const std::string node = node_path();
  const fs::path driver = fs::path(RSI_BROWSER_DIR) / "status_page.mjs";
  const bool puppeteer = fs::exists(fs::path(RSI_BROWSER_DIR) / "node_modules" / "puppeteer-core");
  RSI_REQUIRE_SERVICE(fs::exists(chromium),
                      "Chromium (" + chromium + "; scripts/setup installs Debian's chromium)");
  RSI_REQUIRE_SERVICE(!node.empty(), std::string("node (scripts/setup installs nodejs)"));
  RSI_REQUIRE_SERVICE(
      puppeteer,
      std::string("puppeteer-core (tests/browser/node_modules; scripts/setup runs npm ci there)"));
  const auto started = std::chrono::steady_clock::now();

  for (const char* table : {"clicks", "purchases", "video_play"}) {
    add_table(table);
  }
  announce("clicks", "c1.tsv", 120);
  announce("clicks", "c2.tsv", 80);
  announce("clicks", "c3.tsv", 50);
  announce("purchases", "p1.tsv", 7);
  announce("purchases", "p2.tsv", 9);
  announce("purchases", "p3.tsv", 12);
  // Cut the stored object short after it was announced: its gzip stream ends early.
  const fs::path object = m_data / "objects" / "local" / "purchases" / "v0" / "p3.tsv.gz";
  ASSERT_TRUE(fs::exists(object)) << "where `rs_ingester load` stores files moved?";
  fs::resize_file(object, fs::file_size(object) / 2);
  announce("video_play", "v1.tsv", 33);
  // A message that is no file pointer, with markup in it: rejected, and shown as text.
  ASSERT_TRUE(queue::publish_local_message(
      m_data / "inbox",
      R"({"KeyName":"<img src=x onerror=alert(1)>","TableName":"<b>x</b>","TableVersion":0})"));

  const int port = test::free_tcp_port();
  m_daemon = std::make_unique<test::Process>(
      RSI_RS_INGESTER_BIN,
      std::vector<std::string>{"run", "--data-dir", m_data.string(), "--load-count", "2",
                               "--control-addr", fmt::format("127.0.0.1:{}", port),
                               "--control-token", k_token},
      m_dir.path("daemon.log"));
  m_client = std::make_unique<httplib::Client>("127.0.0.1", port);
  m_client->set_read_timeout(10s);
  ASSERT_TRUE(test::eventually(30s, [&] {
    const auto health = m_client->Get("/health");
    return (health && health->status == 200) || !m_daemon->running();
  })) << m_daemon->log_text();
  // Loaded, quarantined, waiting and rejected, as described above.
  ASSERT_TRUE(test::eventually(
      60s,
      [&] {
        if (!m_daemon->running()) {
          return true;
        }
        const json now = status();
        const json* clicks = table_of(now, "clicks");
        const json* purchases = table_of(now, "purchases");
        const json* video = table_of(now, "video_play");
        return clicks && purchases && video && (*clicks)["LoadedLastHour"]["Files"] == 3 &&
               (*purchases)["LoadedLastHour"]["Files"] == 2 &&
               (*purchases)["QuarantinedFiles"] == 1 && (*video)["InQueueFiles"] == 1 &&
               (*video)["CurrentVersion"] == 0 && now["RejectedTotal"] == 1 &&
               (*clicks)["InFlight"].empty() && (*purchases)["InFlight"].empty();
      }))
      << status().dump(2) << "\n"
      << m_daemon->log_text();
  ASSERT_TRUE(m_daemon->running()) << m_daemon->log_text();
  const auto data_ready = std::chrono::steady_clock::now();

  const fs::path screenshot = fs::path(RSI_SCREENSHOT_DIR) / "status-page.png";
  const fs::path phone = fs::path(RSI_SCREENSHOT_DIR) / "status-page-phone.png";
  fs::remove(screenshot);
  fs::remove(phone);
  test::Process browser(node,
                        {driver.string(), "--url", fmt::format("http://127.0.0.1:{}/", port),
                         "--token", k_token, "--chromium", chromium, "--force", "video_play",
                         "--screenshot", screenshot.string(), "--phone-screenshot", phone.string()},
                        m_dir.path("browser.log"));
  const auto exit = browser.wait(120s);
  const auto done = std::chrono::steady_clock::now();

  ASSERT_TRUE(exit.has_value()) << "the browser script did not end\n" << browser.log_text();
  EXPECT_EQ(*exit, 0) << browser.log_text() << "\n" << m_daemon->log_text();
  EXPECT_TRUE(fs::exists(screenshot) && fs::file_size(screenshot) > 10'000) << browser.log_text();
  EXPECT_TRUE(fs::exists(phone)) << browser.log_text();
  EXPECT_EQ(warehouse_rows("video_play"), 33) << "the force load took effect";
  const json after = status();
  const json* video = table_of(after, "video_play");
  ASSERT_TRUE(video);
  EXPECT_EQ((*video)["InQueueFiles"], 0);
  EXPECT_NE((*video)["LastLoad"], nullptr);
  const auto seconds = [](auto duration) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(duration).count() / 1000.0;
  };
  RecordProperty("data_seconds", fmt::format("{:.1f}", seconds(data_ready - started)));
  RecordProperty("browser_seconds", fmt::format("{:.1f}", seconds(done - data_ready)));
  std::printf("status page e2e: data ready in %.1f s, browser part %.1f s\n%s\n",
              seconds(data_ready - started), seconds(done - data_ready),
              browser.log_text().c_str());
}

} // namespace
} // namespace rsi
