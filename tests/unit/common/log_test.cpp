#include "common/log.hpp"

#include <string>

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
  log::warn("bad bytes", {{"value", std::string("a\xff\xfe" "b")}});
  const std::string output = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(nlohmann::json::accept(output));
}

TEST(LogTest, LinesBelowTheLevelAreDropped) {
  log::init({.level = log::Level::warn});
  testing::internal::CaptureStderr();
  log::info("hidden");
  RSI_LOG_DEBUG("hidden {}", 1);
  const std::string output = testing::internal::GetCapturedStderr();
  log::init({});
  EXPECT_TRUE(output.empty()) << output;
}

TEST(LogTest, ParsesLevelNames) {
  log::Level level = log::Level::info;
  EXPECT_TRUE(log::parse_level("warning", level));
  EXPECT_EQ(level, log::Level::warn);
  EXPECT_FALSE(log::parse_level("loud", level));
}

} // namespace
} // namespace rsi
