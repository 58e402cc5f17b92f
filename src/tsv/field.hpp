#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "tsv/column.hpp"

namespace rsi::tsv {

// Room field_text() and the converter need for text they write themselves (numbers).
inline constexpr std::size_t k_converted_text_bytes = 64;

// The widest DECIMAL whose every value is carried as a 64-bit unscaled integer (10^18 - 1).
inline constexpr std::uint32_t k_max_integer_decimal_precision = 18;

// One converted value of a row, in the form a warehouse writer needs: the parsed value, so that
// a binary writer never parses text again, and the text where the value has one ready.
//  - varchar, char: `text`, always valid UTF-8 without NUL bytes, trimmed and cut as COPY does.
//  - boolean: `integer` 1/0, `text` "t"/"f".
//  - smallint, integer, bigint: `integer`; real, double precision: `real` (a real holds its
//    float exactly). No `text`: field_text() writes it when a writer needs it.
//  - decimal of precision <= k_max_integer_decimal_precision: `integer`, the unscaled value
//    (12.5 in a DECIMAL(10,2) column is 1250), no `text`: field_text() writes it. Wider: `text`
//    with exactly `scale` fraction digits ("-0.50", "12.00").
//  - timestamp: `text` "YYYY-MM-DD HH:MI:SS[.f{1,6}]" and `integer` microseconds since
//    1970-01-01 00:00:00; date: `text` "YYYY-MM-DD" and `integer` days since 1970-01-01.
// The views stay valid until the reader moves on.
struct Field {
  bool null = true;
  std::string_view text;
  std::int64_t integer = 0;
  double real = 0.0;

  [[nodiscard]] bool is_null() const { return null; }
};

// The value of a non-NULL `field` of a column of `type` as canonical PostgreSQL input text:
// integers without '+' or leading zeros, floats in shortest round-trip form or
// "NaN"/"Infinity"/"-Infinity", decimals with exactly `scale` fraction digits, every other type
// its `text`. Writes into `scratch` when it must.
std::string_view field_text(const Field& field, const ColumnType& type,
                            std::span<char, k_converted_text_bytes> scratch);

} // namespace rsi::tsv
