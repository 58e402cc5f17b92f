#include "core/table_name.hpp"

#include <string>

#include <gtest/gtest.h>

#include "param_name.hpp"

namespace rsi::core {
namespace {

struct NameCase {
  std::string test_name;
  std::string name;
  std::string expected_error; // Empty: the name is accepted. Otherwise a substring of the error.
};

class TableNameTest : public ::testing::TestWithParam<NameCase> {};

TEST_P(TableNameTest, AcceptsExactlyBlueprintEventNames) {
  const NameCase& name_case = GetParam();

  const auto valid = validate_table_name(name_case.name);

  if (name_case.expected_error.empty()) {
    EXPECT_TRUE(valid) << valid.error().message;
    return;
  }
  ASSERT_FALSE(valid);
  EXPECT_EQ(valid.error().kind, ErrorKind::permanent);
  EXPECT_NE(valid.error().message.find(name_case.expected_error), std::string::npos)
      << valid.error().message;
}

INSTANTIATE_TEST_SUITE_P(Accepted, TableNameTest,
                         ::testing::Values(NameCase{"Snake", "minute_watched", ""},
                                           NameCase{"Hyphen", "minute-watched", ""},
                                           NameCase{"LeadingUnderscore", "_internal", ""},
                                           NameCase{"Digits", "v2_events_2016", ""},
                                           NameCase{"Uppercase", "VideoPlay", ""},
                                           NameCase{"OneLetter", "a", ""},
                                           NameCase{"TrailingHyphen", "a-", ""},
                                           NameCase{"Exactly127Bytes", std::string(127, 'a'), ""}),
                         param_name<NameCase>);

INSTANTIATE_TEST_SUITE_P(
    Rejected, TableNameTest,
    ::testing::Values(
        NameCase{"Empty", "", "invalid table name: empty"},
        NameCase{"Bytes128", std::string(128, 'a'), "128 bytes long; the limit is 127 bytes"},
        NameCase{"Bytes4096", std::string(4096, 'a'), "4096 bytes long"},
        NameCase{"Nul", std::string("a\0b", 3), "control character U+0000 at byte 1"},
        NameCase{"OnlyNul", std::string(1, '\0'), "control character U+0000 at byte 0"},
        NameCase{"Newline", "events\n", "control character U+000A at byte 6"},
        NameCase{"Tab", "a\tb", "control character U+0009 at byte 1"},
        NameCase{"Escape", "a\x1b[31mred", "control character U+001B"},
        NameCase{"Delete", "a\x7f", "control character U+007F at byte 1"},
        NameCase{"C1Control", "a\xc2\x85", "control character U+0085 at byte 1"},
        NameCase{"InvalidUtf8Byte", "a\xff", "not valid UTF-8 at byte 1 (0xFF)"},
        NameCase{"TruncatedUtf8", "a\xc3", "not valid UTF-8 at byte 1 (0xC3)"},
        NameCase{"OverlongSlash", "a\xc0\xaf", "not valid UTF-8 at byte 1"},
        NameCase{"Surrogate", "a\xed\xa0\x80", "not valid UTF-8 at byte 1"},
        NameCase{"StrayContinuation", "\x80", "not valid UTF-8 at byte 0"},
        NameCase{"Accented", "caf\xc3\xa9", "non-ASCII character U+00E9 at byte 3"},
        NameCase{"CyrillicLookAlike", "vide\xd0\xbe_play", "non-ASCII character U+043E at byte 4"},
        NameCase{"ZeroWidthSpace", "video\xe2\x80\x8bplay", "non-ASCII character U+200B"},
        NameCase{"RightToLeftOverride",
                 "\xe2\x80\xae"
                 "abc",
                 "non-ASCII character U+202E"},
        NameCase{"Emoji", "party_\xf0\x9f\x8e\x89", "non-ASCII character U+1F389 at byte 6"},
        NameCase{"NoBreakSpace", "a\xc2\xa0", "non-ASCII character U+00A0"},
        NameCase{"LeadingSpace", " events", "a space at byte 0"},
        NameCase{"TrailingSpace", "events ", "a space at byte 6"},
        NameCase{"InnerSpace", "my events", "a space at byte 2"},
        NameCase{"DoubleQuote", "a\"b", "'\"' at byte 1"},
        NameCase{"QuoteInjection", "t\"; DROP TABLE users; --", "'\"' at byte 1"},
        NameCase{"Semicolon", "a;b", "';' at byte 1"},
        NameCase{"SingleQuote", "o'brien", "''' at byte 1"},
        NameCase{"Dot", "logs.events", "'.' at byte 4"}, NameCase{"DotDot", "..", "'.' at byte 0"},
        NameCase{"Slash", "a/b", "'/' at byte 1"}, NameCase{"Backslash", "a\\b", "'\\' at byte 1"},
        NameCase{"StatsdSeparators", "a:1|c", "':' at byte 1"},
        NameCase{"Dollar", "a$b", "'$' at byte 1"}, NameCase{"Percent", "a%20b", "'%' at byte 1"},
        NameCase{"LeadingDigit", "2fast", "starts with '2'; the first character must be"},
        NameCase{"LeadingHyphen", "-rf", "starts with '-'"}),
    param_name<NameCase>);

TEST(TableNameMessageTest, QuotesAndEscapesTheNameInTheMessage) {
  const auto valid = validate_table_name(std::string("bad\0name\"", 9));

  ASSERT_FALSE(valid);
  EXPECT_EQ(valid.error().message,
            "invalid table name \"bad\\x00name\\\"\": control character U+0000 at byte 3");
}

TEST(TableNameMessageTest, CutsLongNamesInTheMessage) {
  const auto valid = validate_table_name(std::string(200, 'x'));

  ASSERT_FALSE(valid);
  EXPECT_EQ(valid.error().message, "invalid table name \"" + std::string(64, 'x') +
                                       "\"...: 200 bytes long; the limit is 127 bytes");
}

class ColumnNameTest : public ::testing::TestWithParam<NameCase> {};

TEST_P(ColumnNameTest, AcceptsAnyNameThatQuotesSafely) {
  const NameCase& name_case = GetParam();

  const auto valid = validate_column_name(name_case.name);

  if (name_case.expected_error.empty()) {
    EXPECT_TRUE(valid) << valid.error().message;
    return;
  }
  ASSERT_FALSE(valid);
  EXPECT_EQ(valid.error().kind, ErrorKind::permanent);
  EXPECT_NE(valid.error().message.find(name_case.expected_error), std::string::npos)
      << valid.error().message;
}

INSTANTIATE_TEST_SUITE_P(Accepted, ColumnNameTest,
                         ::testing::Values(NameCase{"Snake", "minutes_logged", ""},
                                           NameCase{"ReservedWord", "time", ""},
                                           NameCase{"Space", "device id", ""},
                                           NameCase{"Punctuation", "a.b;c", ""},
                                           NameCase{"Unicode", "caf\xc3\xa9", ""},
                                           NameCase{"Exactly127Bytes", std::string(127, 'c'), ""}),
                         param_name<NameCase>);

INSTANTIATE_TEST_SUITE_P(
    Rejected, ColumnNameTest,
    ::testing::Values(NameCase{"Empty", "", "invalid column name: empty"},
                      NameCase{"Bytes128", std::string(128, 'c'), "128 bytes long"},
                      NameCase{"DoubleQuote", "a\"b", "'\"' at byte 1"},
                      NameCase{"Nul", std::string("a\0", 2), "control character U+0000"},
                      NameCase{"Newline", "a\nb", "control character U+000A"},
                      NameCase{"InvalidUtf8", "a\xfe", "not valid UTF-8 at byte 1"}),
    param_name<NameCase>);

} // namespace
} // namespace rsi::core
