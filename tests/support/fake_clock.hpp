#pragma once

#include <atomic>
#include <chrono>

#include "common/clock.hpp"

namespace rsi::test {

// A clock that moves only when told to. Thread-safe.
class FakeClock final : public Clock {
public:
  explicit FakeClock(TimePoint start = TimePoint(std::chrono::seconds(1'700'000'000)))
      : m_micros(to_epoch_micros(start)) {}

  [[nodiscard]] TimePoint now() const override { return from_epoch_micros(m_micros.load()); }
  void advance(std::chrono::microseconds delta) { m_micros.fetch_add(delta.count()); }
  void set(TimePoint time) { m_micros.store(to_epoch_micros(time)); }

private:
  std::atomic<std::int64_t> m_micros;
};

} // namespace rsi::test
