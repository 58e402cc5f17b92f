#include "core/text.hpp"

#include <string>

#include <gtest/gtest.h>

#include "param_name.hpp"

namespace rsi::core {
namespace {

struct Utf8Case {
  std::string test_name;
  std::string text;
  std::optional<std::size_t> invalid_at;
};

class Utf8Test : public ::testing::TestWithParam<Utf8Case> {};

TEST_P(Utf8Test, FindsTheFirstIllFormedSequence) {
  EXPECT_EQ(find_invalid_utf8(GetParam().text), GetParam().invalid_at);
}

// Boundaries from RFC 3629 section 4 and the Unicode "well-formed byte sequences" table.
INSTANTIATE_TEST_SUITE_P(
    Vectors, Utf8Test,
    ::testing::Values(
        Utf8Case{"Empty", "", std::nullopt}, Utf8Case{"Ascii", "abc", std::nullopt},
        Utf8Case{"TwoBytes", "\xc2\x80\xdf\xbf", std::nullopt},
        Utf8Case{"ThreeBytes", "\xe0\xa0\x80\xef\xbf\xbf", std::nullopt},
        Utf8Case{"FourBytes", "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", std::nullopt},
        Utf8Case{"OverlongTwo", "a\xc1\xbf", 1}, Utf8Case{"OverlongThree", "\xe0\x9f\xbf", 0},
        Utf8Case{"OverlongFour", "\xf0\x8f\xbf\xbf", 0},
        Utf8Case{"SurrogateLow", "\xed\xa0\x80", 0}, Utf8Case{"SurrogateHigh", "ab\xed\xbf\xbf", 2},
        Utf8Case{"AboveMax", "\xf4\x90\x80\x80", 0}, Utf8Case{"LeadF5", "\xf5\x80\x80\x80", 0},
        Utf8Case{"Truncated", "\xe2\x82", 0}, Utf8Case{"BadContinuation", "\xe2\x28\xa1", 0},
        Utf8Case{"LoneContinuation", "ok\xbf", 2}),
    param_name<Utf8Case>);

TEST(Utf8DecodeTest, ReturnsTheCodePointAndItsSize) {
  const std::string text = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x8e\x89";

  EXPECT_EQ(decode_utf8(text, 0)->code_point, U'a');
  EXPECT_EQ(decode_utf8(text, 1)->code_point, U'\u00e9');
  EXPECT_EQ(decode_utf8(text, 1)->size_bytes, 2U);
  EXPECT_EQ(decode_utf8(text, 3)->code_point, U'\u20ac');
  EXPECT_EQ(decode_utf8(text, 6)->code_point, U'\U0001F389');
  EXPECT_EQ(decode_utf8(text, 6)->size_bytes, 4U);
  EXPECT_FALSE(decode_utf8(text, 2)); // A continuation byte.
}

TEST(ControlCharacterTest, CoversC0DeleteAndC1) {
  EXPECT_TRUE(is_control(0x00));
  EXPECT_TRUE(is_control(0x1F));
  EXPECT_TRUE(is_control(0x7F));
  EXPECT_TRUE(is_control(0x85));
  EXPECT_TRUE(is_control(0x9F));
  EXPECT_FALSE(is_control(U' '));
  EXPECT_FALSE(is_control(U'~'));
  EXPECT_FALSE(is_control(0xA0));
}

TEST(QuoteForMessageTest, EscapesEverythingOutsidePrintableAscii) {
  EXPECT_EQ(quote_for_message("plain"), "\"plain\"");
  EXPECT_EQ(quote_for_message("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(quote_for_message(std::string("\0\n\x7f", 3)), "\"\\x00\\x0A\\x7F\"");
  EXPECT_EQ(quote_for_message("caf\xc3\xa9"), "\"caf\\xC3\\xA9\"");
}

TEST(QuoteForMessageTest, CutsLongTextAndSaysSo) {
  EXPECT_EQ(quote_for_message("abcdef", 4), "\"abcd\"...");
  EXPECT_EQ(quote_for_message("abcd", 4), "\"abcd\"");
  EXPECT_EQ(escape_for_message("abcdef", 4), "abcd...");
}

TEST(FormatCodePointTest, UsesUnicodeNotation) {
  EXPECT_EQ(format_code_point(0), "U+0000");
  EXPECT_EQ(format_code_point(0xE9), "U+00E9");
  EXPECT_EQ(format_code_point(0x1F389), "U+1F389");
}

} // namespace
} // namespace rsi::core
