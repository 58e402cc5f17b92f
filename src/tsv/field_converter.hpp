#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "tsv/column.hpp"
#include "tsv/field.hpp"
#include "tsv/field_parser.hpp"

namespace rsi::tsv {

// What the conversions did that a load reports.
struct ConversionCounts {
  std::uint64_t truncated_values = 0;    // TRUNCATECOLUMNS shortened a value.
  std::uint64_t replaced_characters = 0; // ACCEPTINVCHARS replaced an invalid UTF-8 character.
};

// Why COPY rejects a value.
enum class Rejection : std::uint8_t {
  none,
  invalid,      // Not a value of the column's type: "invalid timestamp ...".
  out_of_range, // A number the type cannot hold: "smallint out of range ...".
  multibyte,    // A byte above 127 in a CHAR value.
};

// Converts one field for a column of `type` with the COPY rules described at the top of
// field_converter.cpp. `raw` is the field after quote removal and unescaping (never the NULL
// marker); it may be rewritten in place, and `out` points into `raw` or into `scratch`.
// `maybe_non_ascii` false promises that `raw` has no byte above 127 (the splitter knows), which
// spares a character field its UTF-8 check. Returns why COPY would reject the value, or
// Rejection::none; rejection_message() says it in words.
Rejection convert_value(const ColumnType& type, std::span<char> raw, bool maybe_non_ascii,
                        std::span<char, k_converted_text_bytes> scratch, ConversionCounts& counts,
                        Field& out);

// The message for a value convert_value() rejected, from the field as it was given to it:
// `invalid timestamp "2016-13-01 00:00:00"` (the caller adds file, line and column).
std::string rejection_message(Rejection rejection, const ColumnType& type, std::string_view raw);

// One record split (split_record()'s rules, field_scan.hpp) and its fields converted for
// `columns` in one pass, the reader's way of reading a row: fields missing at the end are NULL
// (FILLRECORD); `scratch` has k_converted_text_bytes per column. A record-level error (extra
// columns, unterminated quote, NUL byte, escape at the end) wins over a value rejected earlier
// in the same record, so after a rejection the rest of the record is still split.
struct RowRejection {
  std::size_t column = 0; // 0-based.
  Rejection rejection = Rejection::none;
};
struct RowResult {
  SplitResult split;     // Its field_count is not set.
  RowRejection rejected; // The first rejected value, when the record splits.
  std::string_view raw;  // That value as convert_value() was given it, for its message.
};
[[nodiscard]] RowResult read_row(std::span<char> record, std::span<const Column> columns,
                                 std::span<char> scratch, ConversionCounts& counts,
                                 std::span<Field> out);

// convert_value() for one field of unknown bytes, with the message of a rejection as an
// ErrorKind::permanent error, and `text` filled in for every type (field_text()).
[[nodiscard]] Result<Field> convert_field(const ColumnType& type, std::span<char> raw,
                                          std::span<char, k_converted_text_bytes> scratch,
                                          ConversionCounts& counts);

// `value` in double quotes for an error message: at most 100 bytes, with quotes, backslashes
// and bytes outside printable ASCII written as \", \\ and \xNN.
std::string quote_for_message(std::string_view value);

} // namespace rsi::tsv
