#include "tsv/field_parser.hpp"

#include <array>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace rsi::tsv {
namespace {

using Fields = std::vector<std::optional<std::string>>; // nullopt: the NULL AS marker.

constexpr std::size_t k_capacity = 4;

struct SplitCase {
  std::string name;
  std::string record;
  Fields fields; // Expected when `error` is none.
  RecordError error = RecordError::none;
  std::size_t error_field = 0;
  std::size_t capacity = k_capacity;
};

std::ostream& operator<<(std::ostream& out, const SplitCase& split_case) {
  return out << split_case.name;
}

// Record-level COPY rules: DELIMITER '\t', REMOVEQUOTES, ESCAPE, the default NULL AS '\N'.
const std::vector<SplitCase> k_split_cases = {
    {"TabsSeparateFields", "a\tb\tc", {"a", "b", "c"}},
    {"EmptyLineIsOneEmptyField", "", {""}},
    {"TrailingTabEndsWithAnEmptyField", "a\t", {"a", ""}},
    {"CarriageReturnIsData", "a\r", {"a\r"}},
    // REMOVEQUOTES
    {"SurroundingDoubleQuotesAreRemoved", "\"a\"\t\"\"", {"a", ""}},
    {"SurroundingSingleQuotesAreRemoved", "'b'\t'it''s'", {"b", "it''s"}},
    {"DelimiterInsideQuotesIsRetained", "\"a\tb\"\tc", {"a\tb", "c"}},
    {"InnerQuotesAreRetained", "\"say \"hi\" now\"", {"say \"hi\" now"}},
    {"OtherQuoteKindInsideIsData", "\"it's\"\t'a\"b'", {"it's", "a\"b"}},
    {"QuotesOfQuotes", "\"\"\"\"", {"\"\""}},
    {"QuoteNotOpeningTheFieldIsData", "ab\"c\td'", {"ab\"c", "d'"}},
    {"QuotedThenEmptyLastField", "\"a\"\t", {"a", ""}},
    {"UnterminatedQuoteFailsTheRow", "\"abc", {}, RecordError::unterminated_quote, 0},
    {"LoneQuoteIsUnterminated", "x\t\"", {}, RecordError::unterminated_quote, 1},
    {"TextAfterClosingQuoteFails", "\"abc\"def\tx", {}, RecordError::unterminated_quote, 0},
    // ESCAPE
    {"GoHexEscapeLoadsLiterally", "\"\\x00\\x00\"", {"x00x00"}},
    {"OctalIsNotInterpreted", "\\012", {"012"}},
    {"EscapedLettersAreLiterals", "\\t\\n\\r", {"tnr"}},
    {"EscapedQuoteIsRetained", "\"a\\\"b\"\t\\\"c", {"a\"b", "\"c"}},
    {"EscapedQuoteDoesNotClose", "\"a\\\"", {}, RecordError::unterminated_quote, 0},
    {"EscapedBackslash", "a\\\\b\t\"\\\\\"", {"a\\b", "\\"}},
    {"EscapedTabStaysInTheValue", "a\\\tb\tc", {"a\tb", "c"}},
    {"EscapedNewlineStaysInTheValue", "a\\\nb\tc", {"a\nb", "c"}},
    {"EscapesShiftLaterFieldsCorrectly", "\\x\\y\tz\\\\w\t\"q\\'\"", {"xy", "z\\w", "q'"}},
    {"EscapeAtTheEndOfTheDataFails", "abc\\", {}, RecordError::escape_at_end, 0},
    // NULL AS '\N' (default) and its escaped form
    {"BackslashNIsNull", "\\N\tx", {std::nullopt, "x"}},
    {"EscapedBackslashNIsNullToo", "\\\\N", {std::nullopt}},
    {"QuotedBackslashNIsNull", "\"\\N\"", {std::nullopt}},
    {"PlainNIsData", "N\t\\Nx\t\\\\\\N", {"N", "Nx", "\\N"}},
    // NUL bytes
    {"NulByteFailsTheRow", std::string("a\tb\0c", 5), {}, RecordError::nul_byte, 1},
    {"EscapedNulByteFailsTheRow", std::string("a\\\0", 3), {}, RecordError::nul_byte, 0},
    {"QuotedNulByteFailsTheRow", std::string("\"a\0\"", 4), {}, RecordError::nul_byte, 0},
    // Column count
    {"MoreFieldsThanColumnsFails", "a\tb\tc", {}, RecordError::extra_columns, 2, 2},
    {"FewerFieldsThanColumnsIsFine", "a", {"a"}, RecordError::none, 0, 3},
};

class TsvSplitRecordTest : public ::testing::TestWithParam<SplitCase> {};

TEST_P(TsvSplitRecordTest, SplitsLikeCopy) {
  const SplitCase& split_case = GetParam();
  std::string record = split_case.record;
  std::array<RawField, k_capacity> storage{};

  const SplitResult result =
      split_record(record, std::span<RawField>(storage.data(), split_case.capacity));

  ASSERT_EQ(result.error, split_case.error);
  if (split_case.error != RecordError::none) {
    EXPECT_EQ(result.error_field, split_case.error_field);
    return;
  }
  Fields fields;
  for (std::size_t index = 0; index < result.field_count; ++index) {
    const RawField& field = storage[index];
    fields.push_back(field.null_marker ? std::nullopt : std::optional(std::string(field.view())));
  }
  EXPECT_EQ(fields, split_case.fields);
}

INSTANTIATE_TEST_SUITE_P(CopyRules, TsvSplitRecordTest, ::testing::ValuesIn(k_split_cases),
                         [](const auto& param_info) { return param_info.param.name; });

} // namespace
} // namespace rsi::tsv
