#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace rsi {

using TimePoint = std::chrono::system_clock::time_point;

// Wall-clock time, injected wherever behaviour depends on it so that tests can move it.
class Clock {
public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
public:
  [[nodiscard]] TimePoint now() const override { return std::chrono::system_clock::now(); }
};

// Microseconds since the Unix epoch, the exchange format with the databases.
std::int64_t to_epoch_micros(TimePoint time);
TimePoint from_epoch_micros(std::int64_t micros);

// "2016-07-29 22:52:44.123456" in UTC: the text form of a SQL TIMESTAMP.
std::string to_sql_timestamp(TimePoint time);

// "2016-07-29T22:52:44.123Z": the form used in logs and JSON.
std::string to_iso8601(TimePoint time);

} // namespace rsi
