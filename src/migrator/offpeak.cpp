#include "migrator/offpeak.hpp"

#include <chrono>

#include <fmt/format.h>

namespace rsi::migrator {

bool OffpeakWindow::contains(TimePoint now) const {
  if (duration_hours <= 0) {
    return false;
  }
  if (duration_hours >= 24) {
    return true;
  }
  const auto since_midnight = now - std::chrono::floor<std::chrono::days>(now);
  const auto hour =
      static_cast<int>(std::chrono::duration_cast<std::chrono::hours>(since_midnight).count());
  return (hour - start_hour + 24) % 24 < duration_hours;
}

Result<void> OffpeakWindow::check() const {
  if (start_hour < 0 || start_hour > 23) {
    return fail(
        ErrorKind::permanent,
        fmt::format("offpeakStartHour {}: expected an hour from 0 to 23 (UTC)", start_hour));
  }
  if (duration_hours < 0 || duration_hours > 24) {
    return fail(ErrorKind::permanent,
                fmt::format("offpeakDurationHours {}: expected 0 to 24 hours", duration_hours));
  }
  return {};
}

} // namespace rsi::migrator
