#pragma once

#include "common/clock.hpp"
#include "common/error.hpp"

namespace rsi::migrator {

// The daily window in which tables may be altered (ALTERs lock a table against loads and
// queries, so they wait for the quiet hours): `duration_hours` hours from `start_hour`
// o'clock UTC, wrapping past midnight (start 22, duration 8: 22:00 to 06:00).
struct OffpeakWindow {
  int start_hour = 3;     // -offpeakStartHour, 0..23.
  int duration_hours = 8; // -offpeakDurationHours, 0 (never) .. 24 (always).

  // Whether `now` falls in the window: its UTC hour is in [start, start + duration) modulo 24,
  // as the original compared hours.
  [[nodiscard]] bool contains(TimePoint now) const;

  // Fails permanent for an hour outside 0..23 or a duration outside 0..24.
  [[nodiscard]] Result<void> check() const;
};

} // namespace rsi::migrator
