#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace rsi {

// Exponential backoff with full jitter: attempt n waits a random time in
// [0, min(max_delay, initial_delay * multiplier^n)]. Attempts count from 0.
struct BackoffPolicy {
  std::chrono::milliseconds initial_delay{100};
  std::chrono::milliseconds max_delay{10'000};
  double multiplier = 2.0;
  int max_attempts = 5; // Total tries including the first; 0 means unbounded.

  [[nodiscard]] std::chrono::milliseconds ceiling(int attempt) const;
  [[nodiscard]] std::chrono::milliseconds delay(int attempt, std::mt19937_64& rng) const;
  [[nodiscard]] bool exhausted(int attempts_made) const {
    return max_attempts > 0 && attempts_made >= max_attempts;
  }
};

// A per-thread random source seeded from the OS, for jitter only.
std::mt19937_64& jitter_rng();

} // namespace rsi
