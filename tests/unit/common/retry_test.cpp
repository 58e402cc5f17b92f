#include "common/retry.hpp"

#include <gtest/gtest.h>

namespace rsi {
namespace {

using namespace std::chrono_literals;

TEST(BackoffPolicyTest, CeilingGrowsExponentiallyUpToTheCap) {
  const BackoffPolicy policy{
      .initial_delay = 100ms, .max_delay = 1s, .multiplier = 2.0, .max_attempts = 5};
  EXPECT_EQ(policy.ceiling(0), 100ms);
  EXPECT_EQ(policy.ceiling(1), 200ms);
  EXPECT_EQ(policy.ceiling(3), 800ms);
  EXPECT_EQ(policy.ceiling(4), 1s);
  EXPECT_EQ(policy.ceiling(30), 1s);
}

TEST(BackoffPolicyTest, JitteredDelayStaysWithinTheCeiling) {
  const BackoffPolicy policy{.initial_delay = 50ms, .max_delay = 400ms};
  std::mt19937_64 rng(42);
  for (int attempt = 0; attempt < 10; ++attempt) {
    for (int sample = 0; sample < 100; ++sample) {
      const auto delay = policy.delay(attempt, rng);
      EXPECT_GE(delay, 0ms);
      EXPECT_LE(delay, policy.ceiling(attempt));
    }
  }
}

TEST(BackoffPolicyTest, ExhaustedAfterMaxAttemptsUnlessUnbounded) {
  const BackoffPolicy bounded{.max_attempts = 3};
  EXPECT_FALSE(bounded.exhausted(2));
  EXPECT_TRUE(bounded.exhausted(3));
  const BackoffPolicy unbounded{.max_attempts = 0};
  EXPECT_FALSE(unbounded.exhausted(1000));
}

} // namespace
} // namespace rsi
