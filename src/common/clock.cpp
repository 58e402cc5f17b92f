#include "common/clock.hpp"

#include <ctime>

#include <fmt/format.h>

namespace rsi {
namespace {

struct Parts {
  std::tm tm{};
  std::int64_t micros = 0;
};

Parts split(TimePoint time) {
  const std::int64_t total = to_epoch_micros(time);
  std::int64_t seconds = total / 1'000'000;
  std::int64_t micros = total % 1'000'000;
  if (micros < 0) {
    micros += 1'000'000;
    seconds -= 1;
  }
  Parts parts;
  const auto as_time_t = static_cast<std::time_t>(seconds);
  gmtime_r(&as_time_t, &parts.tm);
  parts.micros = micros;
  return parts;
}

} // namespace

std::int64_t to_epoch_micros(TimePoint time) {
  return std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
}

TimePoint from_epoch_micros(std::int64_t micros) {
  return TimePoint(
      std::chrono::duration_cast<TimePoint::duration>(std::chrono::microseconds(micros)));
}

std::string to_sql_timestamp(TimePoint time) {
  const Parts parts = split(time);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}", parts.tm.tm_year + 1900,
                     parts.tm.tm_mon + 1, parts.tm.tm_mday, parts.tm.tm_hour, parts.tm.tm_min,
                     parts.tm.tm_sec, parts.micros);
}

std::string to_iso8601(TimePoint time) {
  const Parts parts = split(time);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", parts.tm.tm_year + 1900,
                     parts.tm.tm_mon + 1, parts.tm.tm_mday, parts.tm.tm_hour, parts.tm.tm_min,
                     parts.tm.tm_sec, parts.micros / 1000);
}

} // namespace rsi
