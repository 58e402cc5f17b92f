#include "common/clock.hpp"

#include <gtest/gtest.h>

#include "support/fake_clock.hpp"

namespace rsi {
namespace {

using namespace std::chrono_literals;

TEST(ClockTest, FormatsSqlTimestampsInUtcWithMicroseconds) {
  const TimePoint time = from_epoch_micros(1'469'832'764'123'456);
  EXPECT_EQ(to_sql_timestamp(time), "2016-07-29 22:52:44.123456");
  EXPECT_EQ(to_iso8601(time), "2016-07-29T22:52:44.123Z");
}

TEST(ClockTest, FormatsTimesBeforeTheEpoch) {
  EXPECT_EQ(to_sql_timestamp(from_epoch_micros(-1)), "1969-12-31 23:59:59.999999");
}

TEST(ClockTest, EpochMicrosRoundTrip) {
  const TimePoint time = from_epoch_micros(1'700'000'000'000'001);
  EXPECT_EQ(to_epoch_micros(time), 1'700'000'000'000'001);
}

TEST(ClockTest, FakeClockMovesOnlyWhenAdvanced) {
  test::FakeClock clock;
  const TimePoint start = clock.now();
  EXPECT_EQ(clock.now(), start);
  clock.advance(90s);
  EXPECT_EQ(clock.now() - start, 90s);
}

} // namespace
} // namespace rsi
