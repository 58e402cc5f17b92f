#include "http/time_format.hpp"

#include <gtest/gtest.h>

namespace rsi::http {
namespace {

TimePoint at(std::int64_t epoch_seconds) { return TimePoint(std::chrono::seconds(epoch_seconds)); }

TEST(TimeFormatTest, ParsesIso8601AsCredentialEndpointsWriteIt) {
  EXPECT_EQ(parse_iso8601("2015-08-30T12:36:00Z"), at(1440938160));
  EXPECT_EQ(parse_iso8601("2015-08-30T12:36:00.123Z"), at(1440938160));
  EXPECT_EQ(parse_iso8601("2015-08-30T14:36:00+02:00"), at(1440938160));
}

TEST(TimeFormatTest, RejectsMalformedIso8601) {
  EXPECT_FALSE(parse_iso8601(""));
  EXPECT_FALSE(parse_iso8601("2015-08-30 12:36"));
  EXPECT_FALSE(parse_iso8601("2015-08-30T12:36:00"));
  EXPECT_FALSE(parse_iso8601("2015-08-30T12:36:00Zjunk"));
}

TEST(TimeFormatTest, ParsesHttpDates) {
  EXPECT_EQ(parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT"), at(1440938160));
  EXPECT_FALSE(parse_http_date("Sun, 30 Foo 2015 12:36:00 GMT"));
  EXPECT_FALSE(parse_http_date("2015-08-30T12:36:00Z"));
}

} // namespace
} // namespace rsi::http
