#include "common/utf8.hpp"

#include <gtest/gtest.h>

#include "common/uuid.hpp"

namespace rsi {
namespace {

struct Utf8Case {
  std::string input;
  bool valid = false;
  std::string replaced;
};

TEST(Utf8Test, ValidatesAndReplacesByteByByte) {
  const Utf8Case cases[] = {
      {"", true, ""},
      {"minute-watched", true, "minute-watched"},
      {"caf\xc3\xa9", true, "caf\xc3\xa9"},
      {"\xe2\x82\xac", true, "\xe2\x82\xac"},
      {"\xf0\x9f\x98\x80", true, "\xf0\x9f\x98\x80"},
      {"a\xffz", false, "a?z"},
      {"\xc0\xaf", false, "??"},           // overlong '/'
      {"\xed\xa0\x80", false, "???"},      // surrogate
      {"\xf4\x90\x80\x80", false, "????"}, // past U+10FFFF
      {"\xe2\x82", false, "??"},           // truncated sequence
      {std::string("a\0b", 3), true, std::string("a\0b", 3)},
  };
  for (const auto& test_case : cases) {
    EXPECT_EQ(is_valid_utf8(test_case.input), test_case.valid) << test_case.replaced;
    EXPECT_EQ(replace_invalid_utf8(test_case.input), test_case.replaced);
  }
}

TEST(UuidTest, NewUuidsAreCanonicalAndDistinct) {
  const std::string first = new_uuid();
  const std::string second = new_uuid();
  EXPECT_TRUE(is_uuid(first)) << first;
  EXPECT_NE(first, second);
  EXPECT_EQ(first[14], '4');
  EXPECT_FALSE(is_uuid("not-a-uuid"));
  EXPECT_FALSE(is_uuid("0a7c1d2e-0000-4000-8000-00000000000g"));
}

} // namespace
} // namespace rsi
