// read_row() splits and converts a record in one pass. These tests hold it to the two-step
// definition it replaced, on random records built from the bytes the COPY rules care about:
// split_record() first (a record-level error wins), then convert_value() column by column
// (NULL AS marker and FILLRECORD NULLs, the first rejected value).

#include <array>
#include <bit>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "tsv/field_converter.hpp"
#include "tsv/field_parser.hpp"

namespace rsi::tsv {
namespace {

const std::vector<Column> k_columns = {
    {"v", ColumnType::varchar(6)},
    {"c", ColumnType::character(3)},
    {"i", ColumnType::of(TypeKind::smallint)},
    {"b", ColumnType::of(TypeKind::bigint)},
    {"r", ColumnType::of(TypeKind::real)},
    {"d", ColumnType::of(TypeKind::double_precision)},
    {"n", ColumnType::decimal(6, 2)},
    {"t", ColumnType::of(TypeKind::boolean)},
    {"ts", ColumnType::of(TypeKind::timestamp)},
    {"dt", ColumnType::of(TypeKind::date)},
};

// What a record gave, comparable whatever buffer the views point into.
struct Outcome {
  RecordError error = RecordError::none;
  std::size_t error_field = 0;
  RowRejection rejected;
  std::string rejected_raw;
  struct Value {
    bool null = true;
    std::string text;
    std::int64_t integer = 0;
    std::uint64_t real_bits = 0;
    friend bool operator==(const Value&, const Value&) = default;
  };
  std::vector<Value> values; // When the record loads.
  std::uint64_t truncated = 0;
  std::uint64_t replaced = 0;

  friend bool operator==(const Outcome& left, const Outcome& right) {
    return left.error == right.error && left.error_field == right.error_field &&
           left.rejected.column == right.rejected.column &&
           left.rejected.rejection == right.rejected.rejection &&
           left.rejected_raw == right.rejected_raw && left.values == right.values &&
           left.truncated == right.truncated && left.replaced == right.replaced;
  }
};

void keep_values(std::span<const Field> fields, const ConversionCounts& counts, Outcome& outcome) {
  for (const Field& field : fields) {
    outcome.values.push_back({.null = field.null,
                              .text = std::string(field.text),
                              .integer = field.integer,
                              .real_bits = std::bit_cast<std::uint64_t>(field.real)});
  }
  outcome.truncated = counts.truncated_values;
  outcome.replaced = counts.replaced_characters;
}

Outcome one_pass(std::string record) {
  std::vector<char> scratch(k_columns.size() * k_converted_text_bytes);
  std::vector<Field> fields(k_columns.size());
  ConversionCounts counts;
  const RowResult result = read_row(record, k_columns, scratch, counts, fields);
  Outcome outcome{.error = result.split.error, .error_field = result.split.error_field};
  if (outcome.error != RecordError::none) {
    return outcome;
  }
  if (result.rejected.rejection != Rejection::none) {
    outcome.rejected = result.rejected;
    outcome.rejected_raw = std::string(result.raw);
    return outcome;
  }
  keep_values(fields, counts, outcome);
  return outcome;
}

Outcome two_steps(std::string record) {
  std::vector<RawField> raw(k_columns.size());
  const SplitResult split = split_record(record, raw);
  Outcome outcome{.error = split.error, .error_field = split.error_field};
  if (split.error != RecordError::none) {
    return outcome;
  }
  std::vector<char> scratch(k_columns.size() * k_converted_text_bytes);
  std::vector<Field> fields(k_columns.size());
  ConversionCounts counts;
  for (std::size_t index = 0; index < k_columns.size(); ++index) {
    if (index >= split.field_count || raw[index].null_marker) {
      fields[index] = Field{};
      continue;
    }
    const std::span<char, k_converted_text_bytes> column_scratch(
        scratch.data() + index * k_converted_text_bytes, k_converted_text_bytes);
    const Rejection rejection =
        convert_value(k_columns[index].type, raw[index].bytes(), raw[index].maybe_non_ascii,
                      column_scratch, counts, fields[index]);
    if (rejection != Rejection::none) {
      outcome.rejected = {.column = index, .rejection = rejection};
      outcome.rejected_raw = std::string(raw[index].view());
      return outcome;
    }
  }
  keep_values(fields, counts, outcome);
  return outcome;
}

// A field from pieces that matter to the rules: values of each type, quotes, escapes, NULL
// markers, white space, high and NUL bytes.
std::string random_field(std::mt19937_64& rng) {
  static const std::array<std::string_view, 34> k_pieces = {
      "a",          "xyz",
      "\"",         "'",
      "\\",         "\\\\",
      "\\N",        "\\\"",
      "\\\t",       "\\\n",
      "\t",         " ",
      "\r",         "N",
      "0",          "12",
      "-7",         "+3",
      "32768",      "1.5",
      "-0.005",     "1e3",
      "NaN",        "inf",
      "20.259",     "true",
      "f",          "YES",
      "\xc3\xa9",   "\xff",
      "2017-01-30", " 16:26:23",
      ".123456",    std::string_view("\0", 1)};
  std::string field;
  const auto pieces = rng() % 4;
  for (std::uint64_t count = 0; count < pieces; ++count) {
    field += k_pieces[rng() % k_pieces.size()];
  }
  switch (rng() % 6) {
  case 0:
    return "\"" + field + "\"";
  case 1:
    return "'" + field + "'";
  default:
    return field;
  }
}

TEST(TsvReadRowTest, OnePassGivesWhatSplittingThenConvertingGives) {
  std::mt19937_64 rng(0x7e57);
  std::size_t loaded = 0;
  std::size_t rejected = 0;
  std::size_t failed = 0;
  for (int round = 0; round < 200'000; ++round) {
    std::string record;
    const auto fields = 1 + rng() % (k_columns.size() + 2);
    for (std::uint64_t index = 0; index < fields; ++index) {
      if (index > 0) {
        record += '\t';
      }
      record += random_field(rng);
    }
    const Outcome expected = two_steps(record);
    ASSERT_EQ(one_pass(record), expected) << "record \"" << record << "\"";
    loaded += expected.error == RecordError::none && expected.rejected.rejection == Rejection::none;
    rejected += expected.rejected.rejection != Rejection::none;
    failed += expected.error != RecordError::none;
  }
  // The records reach every outcome often.
  EXPECT_GT(loaded, 1000U);
  EXPECT_GT(rejected, 1000U);
  EXPECT_GT(failed, 1000U);
}

TEST(TsvReadRowTest, SpadeLikeRecordsLoadTheSameInOnePass) {
  const std::string record = "\"ab\\\"c\"\t\"US\"\t\"12\"\t\"-3\"\t\"1.5e3\"\t\"0.1\"\t\"20.259\"\t"
                             "\"t\"\t\"2017-01-30 16:26:23.5\"\t\"2017-01-30\"";
  const Outcome expected = two_steps(record);
  ASSERT_EQ(expected.error, RecordError::none);
  ASSERT_EQ(expected.rejected.rejection, Rejection::none);
  EXPECT_EQ(one_pass(record), expected);
  EXPECT_EQ(one_pass("\"x\"\t\\N"), two_steps("\"x\"\t\\N")); // FILLRECORD and NULL AS.
}

} // namespace
} // namespace rsi::tsv
