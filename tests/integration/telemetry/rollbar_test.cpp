// The Rollbar reporter against a fake item API on 127.0.0.1 (port 0): what an item looks like on
// the wire, that logging never waits for Rollbar, that the queue and the shutdown are bounded,
// that failures are retried a bounded number of times, and that the token never reaches a log.
#include "telemetry/rollbar.hpp"

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.hpp"
#include "http/curl_global.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_rollbar.hpp"
#include "support/process.hpp"

namespace rsi::telemetry {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

const http::CurlGlobal k_curl;

constexpr std::string_view k_token = "rbtok-SECRET-4242";

// How many large reports MemoryStaysBoundedWhateverIsLogged sends, and how much the memory in
// use may grow meanwhile. The queue holds at most 1000 items of 16 KiB (16 MiB); an unbounded one
// would grow by at least 16 KiB a report. Without sanitizers resident memory is measured: 20,000
// reports (unbounded: 320 MiB) against 100 MiB. Under AddressSanitizer the allocator's count of
// live heap bytes is exact, and a report costs 3 ms there: 5,000 (unbounded: 80 MiB) against
// 40 MiB. ThreadSanitizer's shadow memory multiplies resident memory, and a report is as slow: the
// queue's own counts are what hold there.
#if defined(RSI_ADDRESS_SANITIZER)
constexpr int k_big_reports = 5'000;
constexpr std::size_t k_memory_slack = 40U * 1024 * 1024;
#elif defined(RSI_THREAD_SANITIZER)
constexpr int k_big_reports = 5'000;
constexpr std::size_t k_memory_slack = 400U * 1024 * 1024;
#else
constexpr int k_big_reports = 20'000;
constexpr std::size_t k_memory_slack = 100U * 1024 * 1024;
#endif

#if defined(RSI_ADDRESS_SANITIZER)
// AddressSanitizer's allocator (the function is in its runtime; GCC ships no header for it).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();

// Under AddressSanitizer resident memory is not the program's: freed blocks wait in a quarantine
// of up to 256 MiB before reuse, and shadow memory comes on top.
std::size_t memory_in_use() { return __sanitizer_get_current_allocated_bytes(); }
#else
std::size_t memory_in_use() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  std::size_t resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}
#endif

// A Rollbar that never answers: a socket that listens (connections complete in the kernel's
// backlog and requests sit in its buffers) but never accepts, so no server thread is involved.
class BlackHole {
public:
  BlackHole() {
    m_fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (m_fd < 0 || bind(m_fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        listen(m_fd, 64) != 0 ||
        getsockname(m_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("BlackHole: cannot listen");
    }
    m_port = ntohs(address.sin_port);
  }
  ~BlackHole() { close(m_fd); }
  BlackHole(const BlackHole&) = delete;
  BlackHole& operator=(const BlackHole&) = delete;

  [[nodiscard]] std::string endpoint() const {
    return fmt::format("http://127.0.0.1:{}/api/1/item/", m_port);
  }

private:
  int m_fd = -1;
  int m_port = 0;
};

class RollbarTest : public ::testing::Test {
protected:
  void TearDown() override {
    if (m_reporter) {
      m_reporter->close();
    }
    log::set_error_hook({});
  }

  RollbarReporter& start(RollbarConfig config = {}) {
    config.token = std::string(k_token);
    config.environment = "compat-test";
    if (config.endpoint == k_rollbar_endpoint) {
      config.endpoint = m_fake.endpoint();
    }
    config.host = "test-host";
    auto reporter = RollbarReporter::start(std::move(config), m_clock);
    EXPECT_TRUE(reporter) << reporter.error().message;
    m_reporter = std::move(*reporter);
    return *m_reporter;
  }

  static log::Record record(std::string_view msg, const json& fields) {
    return {.msg = msg,
            .fields = fields,
            .caller = "rollbar_test.cpp:1",
            .time = std::chrono::system_clock::now()};
  }

  test::FakeClock m_clock;
  test::FakeRollbar m_fake;
  std::unique_ptr<RollbarReporter> m_reporter;
};

TEST_F(RollbarTest, AnErrorLineArrivesAsAnItemWithTokenEnvironmentLevelMessageAndFields) {
  RollbarReporter& reporter = start();
  reporter.attach_to_log();
  testing::internal::CaptureStderr();

  log::warn("not for Rollbar");
  log::error("batch load failed", {{"table", "minute-watched"}, {"attempt", 3}});
  ASSERT_TRUE(test::eventually(10s, [&] { return m_fake.count() >= 1; }));
  reporter.close();
  (void)testing::internal::GetCapturedStderr();

  const auto posts = m_fake.posts();
  ASSERT_EQ(posts.size(), 1U) << "warnings are not reported";
  const json item = json::parse(posts[0].body);
  EXPECT_EQ(item["access_token"], k_token);
  EXPECT_EQ(posts[0].token_header, k_token);
  EXPECT_EQ(posts[0].content_type, "application/json");
  const json& data = item["data"];
  EXPECT_EQ(data["environment"], "compat-test");
  EXPECT_EQ(data["level"], "error");
  EXPECT_EQ(data["platform"], "linux");
  EXPECT_EQ(data["language"], "c++");
  EXPECT_EQ(data["server"]["host"], "test-host");
  EXPECT_EQ(data["notifier"]["name"], "rs_ingester");
  EXPECT_NEAR(data["timestamp"].get<double>(),
              static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count()),
              60.0);
  EXPECT_EQ(data["body"]["message"]["body"], "batch load failed");
  EXPECT_EQ(data["body"]["message"]["table"], "minute-watched");
  EXPECT_EQ(data["body"]["message"]["attempt"], 3);
  EXPECT_TRUE(
      data["body"]["message"]["caller"].get<std::string>().starts_with("rollbar_test.cpp:"));
  EXPECT_EQ(reporter.stats().sent, 1U);
}

TEST_F(RollbarTest, LoggingNeverWaitsForAStalledRollbar) {
  m_fake.stall(true);
  RollbarReporter& reporter = start({.drain_timeout = 300ms});
  reporter.attach_to_log();
  testing::internal::CaptureStderr();
  log::error("first: the sender is now stuck on it");
  ASSERT_TRUE(test::eventually(10s, [&] { return m_fake.count() >= 1; }));

  auto slowest = std::chrono::steady_clock::duration::zero();
  const auto all_start = std::chrono::steady_clock::now();
  for (int index = 0; index < 200; ++index) {
    const auto call_start = std::chrono::steady_clock::now();
    log::error("while Rollbar stalls", {{"index", index}});
    slowest = std::max(slowest, std::chrono::steady_clock::now() - call_start);
  }
  const auto all = std::chrono::steady_clock::now() - all_start;
  (void)testing::internal::GetCapturedStderr();

  EXPECT_LT(slowest, 100ms) << "one log call waited on the network";
  EXPECT_LT(all, 2s);
  EXPECT_EQ(m_fake.count(), 1U) << "still stuck on the first";
  EXPECT_EQ(reporter.stats().queued, 200U);
}

TEST_F(RollbarTest, AFullQueueDropsCountsAndWarnsAtMostOncePerInterval) {
  m_fake.stall(true);
  RollbarReporter& reporter = start({.queue_capacity = 10, .drain_timeout = 200ms});
  const json fields = {{"table", "t"}};
  ASSERT_TRUE(reporter.report(record("in flight", fields)));
  ASSERT_TRUE(test::eventually(10s, [&] { return m_fake.count() >= 1; }));
  testing::internal::CaptureStderr();

  int accepted = 0;
  for (int index = 0; index < 1000; ++index) {
    accepted += reporter.report(record("flood", fields)) ? 1 : 0;
  }
  m_clock.advance(61s);
  (void)reporter.report(record("after a minute", fields));
  const std::string output = testing::internal::GetCapturedStderr();

  EXPECT_EQ(accepted, 10);
  EXPECT_EQ(reporter.stats().queued, 10U);
  EXPECT_EQ(reporter.stats().dropped, 991U);
  std::size_t warnings = 0;
  for (auto at = output.find("Rollbar queue full"); at != std::string::npos;
       at = output.find("Rollbar queue full", at + 1)) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 2U) << "one in the flood, one a minute later:\n" << output.substr(0, 2000);
  EXPECT_NE(output.find(R"("dropped_total":991)"), std::string::npos) << output.substr(0, 2000);
}

TEST_F(RollbarTest, MemoryStaysBoundedWhateverIsLogged) {
  const BlackHole silent;
  RollbarReporter& reporter = start({.endpoint = silent.endpoint(), .drain_timeout = 200ms});
  // Four times what an item may carry (k_rollbar_max_item_bytes): each is cut down before queueing.
  const std::string big(4 * k_rollbar_max_item_bytes, 'x');
  const json fields = {{"payload", big}};
  const std::size_t before = memory_in_use();
  testing::internal::CaptureStderr();

  std::uint64_t accepted = 0;
  for (int index = 0; index < k_big_reports; ++index) {
    accepted += reporter.report(record(big, fields)) ? 1 : 0;
  }
  const std::size_t after = memory_in_use();
  const std::size_t grown = after > before ? after - before : 0;
  (void)testing::internal::GetCapturedStderr();

  const auto stats = reporter.stats();
  EXPECT_GE(stats.queued, 999U); // The sender may have taken one.
  EXPECT_LE(stats.queued, 1000U);
  EXPECT_LE(stats.queued_bytes, 1000 * k_rollbar_max_item_bytes);
  // Besides the queue, the sender holds at most one item: the one in flight. What it gave up on
  // (the black hole never answers) is counted as failed.
  EXPECT_GE(accepted, stats.queued + stats.failed);
  EXPECT_LE(accepted, stats.queued + stats.failed + 1);
  EXPECT_EQ(stats.dropped, k_big_reports - accepted);
  EXPECT_LT(grown, k_memory_slack)
      << "memory in use grew by " << grown / (1024 * 1024) << " MiB (unbounded would be GiBs)";
}

TEST_F(RollbarTest, CloseSendsWhatIsQueued) {
  RollbarReporter& reporter = start();
  const json fields = json::object();
  for (int index = 0; index < 20; ++index) {
    ASSERT_TRUE(reporter.report(record(fmt::format("item {}", index), fields)));
  }

  reporter.close();

  EXPECT_EQ(m_fake.count(), 20U);
  EXPECT_EQ(reporter.stats().sent, 20U);
  EXPECT_EQ(reporter.stats().dropped, 0U);
}

TEST_F(RollbarTest, CloseGivesUpAtItsDeadlineWhenRollbarStalls) {
  m_fake.stall(true);
  RollbarReporter& reporter = start({.request_timeout = 20s, .drain_timeout = 500ms});
  const json fields = json::object();
  for (int index = 0; index < 5; ++index) {
    ASSERT_TRUE(reporter.report(record("stuck", fields)));
  }
  ASSERT_TRUE(test::eventually(10s, [&] { return m_fake.count() >= 1; }));
  testing::internal::CaptureStderr();

  const auto started = std::chrono::steady_clock::now();
  reporter.close();
  const auto took = std::chrono::steady_clock::now() - started;
  const std::string output = testing::internal::GetCapturedStderr();

  EXPECT_GE(took, 450ms);
  EXPECT_LT(took, 3s) << "the request under way is aborted after the drain deadline";
  EXPECT_EQ(reporter.stats().dropped, 5U) << "4 still queued, 1 cut off";
  EXPECT_EQ(reporter.stats().failed, 0U);
  EXPECT_NE(output.find("some error reports were not delivered"), std::string::npos) << output;
}

TEST_F(RollbarTest, AServerErrorIsRetriedABoundedNumberOfTimesWithTheSameUuid) {
  m_fake.answer(503);
  RollbarReporter& reporter = start({.max_attempts = 3});
  testing::internal::CaptureStderr();

  ASSERT_TRUE(reporter.report(record("retried", json::object())));
  ASSERT_TRUE(test::eventually(15s, [&] { return reporter.stats().failed == 1; }));
  std::this_thread::sleep_for(500ms); // Long enough for a fourth attempt to show.
  const auto failing = m_fake.posts();
  m_fake.answer(200);
  ASSERT_TRUE(reporter.report(record("delivered", json::object())));
  ASSERT_TRUE(test::eventually(10s, [&] { return reporter.stats().sent == 1; }));
  reporter.close();
  const std::string output = testing::internal::GetCapturedStderr();

  ASSERT_EQ(failing.size(), 3U);
  const auto uuid = json::parse(failing[0].body)["data"]["uuid"];
  for (const test::RollbarPost& post : failing) {
    EXPECT_EQ(json::parse(post.body)["data"]["uuid"], uuid) << "Rollbar drops repeats of one uuid";
  }
  EXPECT_EQ(m_fake.count(), 4U);
  EXPECT_NE(output.find("error report to Rollbar not delivered"), std::string::npos) << output;
}

TEST_F(RollbarTest, ARefusalIsNotRetried) {
  m_fake.answer(422, R"({"err":1,"message":"Invalid format"})");
  RollbarReporter& reporter = start();
  testing::internal::CaptureStderr();

  ASSERT_TRUE(reporter.report(record("refused", json::object())));
  ASSERT_TRUE(test::eventually(10s, [&] { return reporter.stats().failed == 1; }));
  std::this_thread::sleep_for(300ms);
  reporter.close();
  const std::string output = testing::internal::GetCapturedStderr();

  EXPECT_EQ(m_fake.count(), 1U);
  EXPECT_NE(output.find("Invalid format"), std::string::npos) << output;
}

TEST_F(RollbarTest, TheTokenNeverAppearsInALogLine) {
  // A hostile answer that quotes the token back, on retries and on the final failure.
  m_fake.answer(503,
                fmt::format(R"({{"err":1,"message":"token {} is over its rate limit"}})", k_token));
  RollbarReporter& reporter = start({.queue_capacity = 2, .max_attempts = 2});
  reporter.attach_to_log();
  testing::internal::CaptureStderr();

  for (int index = 0; index < 10; ++index) {
    log::error("something broke", {{"index", index}});
  }
  ASSERT_TRUE(test::eventually(20s, [&] { return reporter.stats().failed >= 1; }));
  m_fake.answer(401, fmt::format(R"({{"err":1,"message":"invalid access token {}"}})", k_token));
  ASSERT_TRUE(test::eventually(20s, [&] { return reporter.stats().queued == 0; }));
  reporter.close();
  const std::string output = testing::internal::GetCapturedStderr();

  EXPECT_NE(output.find("retrying HTTP request"), std::string::npos) << "the retries were logged:\n"
                                                                     << output;
  EXPECT_NE(output.find("Rollbar queue full"), std::string::npos) << output;
  EXPECT_NE(output.find("[redacted]"), std::string::npos) << output;
  EXPECT_EQ(output.find(k_token), std::string::npos) << output;
  EXPECT_EQ(output.find("SECRET"), std::string::npos) << output;
}

TEST_F(RollbarTest, StartRefusesAMissingTokenEnvironmentOrEndpoint) {
  EXPECT_FALSE(
      RollbarReporter::start({.environment = "e", .endpoint = m_fake.endpoint()}, m_clock));
  EXPECT_FALSE(RollbarReporter::start({.token = "t", .endpoint = m_fake.endpoint()}, m_clock));
  const auto bad = RollbarReporter::start(
      {.token = std::string(k_token), .environment = "e", .endpoint = "ftp://x"}, m_clock);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.find(k_token), std::string::npos);
}

} // namespace
} // namespace rsi::telemetry
