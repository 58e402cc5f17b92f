#include "config/go_flags.hpp"

#include <gtest/gtest.h>

namespace rsi::config {
namespace {

using namespace std::chrono_literals;

TEST(GoFlagsTest, OneOrTwoDashesForEveryLongFlag) {
  const char* argv[] = {"metadatastorer",
                        "-databaseURL=postgres://x",
                        "--listenerCount",
                        "5",
                        "-h",
                        "-sqsPollWait",
                        "10s",
                        "--",
                        "-not-a-flag"};
  EXPECT_EQ(normalize_go_flags(9, argv),
            (std::vector<std::string>{"--databaseURL=postgres://x", "--listenerCount", "5", "-h",
                                      "--sqsPollWait", "10s", "--", "-not-a-flag"}));
}

TEST(GoFlagsTest, ParsesGoDurations) {
  EXPECT_EQ(parse_go_duration("0").value(), 0ms);
  EXPECT_EQ(parse_go_duration("300ms").value(), 300ms);
  EXPECT_EQ(parse_go_duration("90s").value(), 90s);
  EXPECT_EQ(parse_go_duration("1m").value(), 60s);
  EXPECT_EQ(parse_go_duration("1h30m").value(), 90min);
  EXPECT_EQ(parse_go_duration("1.5h").value(), 90min);
  EXPECT_EQ(parse_go_duration("2h45m30s").value(), 2h + 45min + 30s);
  EXPECT_EQ(parse_go_duration("-1s").value(), -1s);
  EXPECT_EQ(parse_go_duration("1500us").value(), 2ms);
  for (const char* bad : {"", "10", "1x", "m", "1m1", "ten seconds", "1..5s"}) {
    const auto parsed = parse_go_duration(bad);
    EXPECT_FALSE(parsed) << bad;
    if (!parsed) {
      EXPECT_NE(parsed.error().message.find(std::string("\"") + bad + "\""), std::string::npos);
    }
  }
}

TEST(GoDurationTest, DefaultsShownInHelpReadBackToTheSameDuration) {
  using namespace std::chrono_literals;
  const std::vector<std::pair<std::chrono::milliseconds, std::string>> cases{
      {0ms, "0"},        {1min, "1m"},       {15min, "15m"}, {90s, "1m30s"},
      {3h + 1s, "3h1s"}, {2500ms, "2500ms"}, {2min, "2m"}};
  for (const auto& [duration, text] : cases) {
    EXPECT_EQ(format_go_duration(duration), text);
    EXPECT_EQ(parse_go_duration(text).value(), duration) << text;
  }
}

} // namespace
} // namespace rsi::config
