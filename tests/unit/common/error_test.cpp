#include "common/error.hpp"

#include <gtest/gtest.h>

namespace rsi {
namespace {

Result<int> parse_positive(int value) {
  if (value <= 0) {
    return fail(ErrorKind::permanent, "parse value: not positive");
  }
  return value;
}

Result<int> doubled(int value) {
  RSI_TRY_ASSIGN(const int parsed, parse_positive(value));
  return parsed * 2;
}

Result<void> check(int value) {
  RSI_TRY(parse_positive(value));
  return {};
}

TEST(ErrorTest, TryAssignPassesValuesAndErrorsThrough) {
  EXPECT_EQ(doubled(21).value(), 42);
  const auto failed = doubled(-1);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().kind, ErrorKind::permanent);
  EXPECT_EQ(failed.error().message, "parse value: not positive");
}

TEST(ErrorTest, TryReturnsTheFirstError) {
  EXPECT_TRUE(check(1));
  EXPECT_FALSE(check(0));
}

TEST(ErrorTest, WrapKeepsTheKindAndPrefixesContext) {
  const Error error{ErrorKind::transient, "connection refused"};
  const Error wrapped = error.wrap("record file");
  EXPECT_EQ(wrapped.kind, ErrorKind::transient);
  EXPECT_EQ(wrapped.message, "record file: connection refused");
  EXPECT_EQ(to_string(ErrorKind::conflict), "conflict");
}

} // namespace
} // namespace rsi
