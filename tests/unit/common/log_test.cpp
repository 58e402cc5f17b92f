#include "common/log.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace rsi {
namespace {

TEST(LogTest, WritesOneJsonObjectPerLineWithTheContractFields) {
  log::init({.level = log::Level::info, .env = "test"});
  testing::internal::CaptureStderr();
  log::error("load failed", {{"table", "minute-watched"}, {"error", "bad \"value\"\nline 2"}});
  const std::string output = testing::internal::GetCapturedStderr();

  ASSERT_FALSE(output.empty());
  EXPECT_EQ(output.find('\n'), output.size() - 1) << "exactly one line";
  const auto line = nlohmann::json::parse(output);
  EXPECT_EQ(line["level"], "error");
  EXPECT_EQ(line["msg"], "load failed");
  EXPECT_EQ(line["env"], "test");
  EXPECT_EQ(line["table"], "minute-watched");
  EXPECT_EQ(line["error"], "bad \"value\"\nline 2");
  for (const char* field : {"time", "caller", "host", "pid"}) {
    EXPECT_TRUE(line.contains(field)) << field;
  }
}

TEST(LogTest, InvalidUtf8IsReplacedNotThrown) {
  testing::internal::CaptureStderr();
  log::warn("bad bytes", {{"value", std::string("a\xff\xfe"
                                                "b")}});
  const std::string output = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(nlohmann::json::accept(output));
}

TEST(LogTest, LinesBelowTheLevelAreDropped) {
  log::init({.level = log::Level::warn});
  testing::internal::CaptureStderr();
  log::info("hidden");
  log::debug("hidden", {{"n", 1}});
  const std::string output = testing::internal::GetCapturedStderr();
  log::init({});
  EXPECT_TRUE(output.empty()) << output;
}

TEST(LogTest, TheErrorHookSeesErrorLinesOnly) {
  std::vector<std::string> seen;
  log::set_error_hook([&](const log::Record& record) {
    seen.push_back(
        fmt::format("{} {} {}", record.msg, record.fields.dump(), record.caller.substr(0, 12)));
  });
  testing::internal::CaptureStderr();

  log::warn("degraded");
  log::info("fine");
  log::error("broken", {{"table", "t"}});
  log::error("broken again");
  log::set_error_hook({});
  log::error("after removal");
  (void)testing::internal::GetCapturedStderr();

  EXPECT_EQ(seen, (std::vector<std::string>{R"(broken {"table":"t"} log_test.cpp)",
                                            "broken again {} log_test.cpp"}));
}

TEST(LogTest, AnErrorLoggedByTheHookDoesNotReachItAgain) {
  int calls = 0;
  log::set_error_hook([&](const log::Record&) {
    ++calls;
    log::error("the hook failed");
  });
  testing::internal::CaptureStderr();

  log::error("first");
  log::set_error_hook({});
  const std::string output = testing::internal::GetCapturedStderr();

  EXPECT_EQ(calls, 1);
  EXPECT_NE(output.find("the hook failed"), std::string::npos)
      << "the hook's own line is still written";
}

TEST(LogTest, RemovingTheHookWaitsForTheCallUnderWay) {
  std::promise<void> entered;
  std::atomic<bool> release{false};
  std::atomic<bool> finished{false};
  std::atomic<bool> removed{false};
  bool finished_when_removed = false;
  log::set_error_hook([&](const log::Record&) {
    entered.set_value();
    while (!release) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    finished = true;
  });
  testing::internal::CaptureStderr();
  std::thread logger([] { log::error("slow sink"); });
  entered.get_future().wait();

  std::thread remover([&] {
    log::set_error_hook({});
    finished_when_removed = finished;
    removed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const bool removed_while_running = removed;
  release = true;
  remover.join();
  logger.join();
  (void)testing::internal::GetCapturedStderr();

  EXPECT_FALSE(removed_while_running) << "set_error_hook returned while the hook still ran";
  EXPECT_TRUE(finished_when_removed);
}

TEST(LogTest, AThrowingHookDoesNotFailTheCaller) {
  log::set_error_hook([](const log::Record&) { throw std::runtime_error("sink down"); });
  testing::internal::CaptureStderr();

  EXPECT_NO_THROW(log::error("still logged"));
  log::set_error_hook({});
  EXPECT_NE(testing::internal::GetCapturedStderr().find("still logged"), std::string::npos);
}

TEST(LogTest, ParsesLevelNames) {
  log::Level level = log::Level::info;
  EXPECT_TRUE(log::parse_level("warning", level));
  EXPECT_EQ(level, log::Level::warn);
  EXPECT_FALSE(log::parse_level("loud", level));
}

} // namespace
} // namespace rsi
