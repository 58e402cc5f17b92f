#include "common/retry.hpp"

#include <algorithm>
#include <cmath>

namespace rsi {

std::chrono::milliseconds BackoffPolicy::ceiling(int attempt) const {
  const double scaled = static_cast<double>(initial_delay.count()) *
                        std::pow(multiplier, static_cast<double>(std::max(attempt, 0)));
  const double capped = std::min(scaled, static_cast<double>(max_delay.count()));
  return std::chrono::milliseconds(static_cast<std::int64_t>(capped));
}

std::chrono::milliseconds BackoffPolicy::delay(int attempt, std::mt19937_64& rng) const {
  const std::int64_t top = ceiling(attempt).count();
  if (top <= 0) {
    return std::chrono::milliseconds(0);
  }
  std::uniform_int_distribution<std::int64_t> pick(0, top);
  return std::chrono::milliseconds(pick(rng));
}

std::mt19937_64& jitter_rng() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

} // namespace rsi
