#include "common/strings.hpp"

#include <gtest/gtest.h>

namespace rsi {
namespace {

TEST(StringsTest, CaseChangesOnlyAsciiLetters) {
  EXPECT_EQ(to_ascii_lower("Content-TYPE: X9_\xC3\x89"), "content-type: x9_\xC3\x89");
  EXPECT_EQ(to_ascii_upper("us-east-1 \xC3\xA9"), "US-EAST-1 \xC3\xA9");
  EXPECT_EQ(to_ascii_lower(""), "");
}

TEST(StringsTest, EqualityIgnoresAsciiCaseOnly) {
  EXPECT_TRUE(iequals_ascii("Chunked", "chunked"));
  EXPECT_FALSE(iequals_ascii("chunked ", "chunked"));
  EXPECT_FALSE(iequals_ascii("\xC3\x89", "\xC3\xA9")); // É and é are different bytes.
  EXPECT_FALSE(iequals_ascii("[", "{"));               // '[' + 32 is '{': no letters, no folding.
}

TEST(StringsTest, TrimRemovesCLocaleSpaceAtBothEnds) {
  EXPECT_EQ(trim_ascii_space(" \t\r\n\v\fx y\n"), "x y");
  EXPECT_EQ(trim_ascii_space("  "), "");
}

} // namespace
} // namespace rsi
