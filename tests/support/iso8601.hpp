// "2016-07-29T22:52:44Z" in UTC, whole seconds: how AWS writes a credential's expiry (STS, the
// container and instance credential endpoints), for the tests' fake endpoints.
#pragma once

#include <chrono>
#include <ctime>
#include <string>

#include <fmt/format.h>

#include "common/clock.hpp"

namespace rsi::test {

inline std::string aws_iso8601(TimePoint time) {
  const auto as_time_t = static_cast<std::time_t>(
      std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count());
  std::tm tm{};
  gmtime_r(&as_time_t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

} // namespace rsi::test
