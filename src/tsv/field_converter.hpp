#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "tsv/column.hpp"
#include "tsv/field.hpp"

namespace rsi::tsv {

// Room each column needs for text the converter writes itself (numbers it reformats).
inline constexpr std::size_t k_converted_text_bytes = 64;

// What the conversions did that a load reports.
struct ConversionCounts {
  std::uint64_t truncated_values = 0;    // TRUNCATECOLUMNS shortened a value.
  std::uint64_t replaced_characters = 0; // ACCEPTINVCHARS replaced an invalid UTF-8 character.
};

// Converts one field for a column of `type` with the COPY rules described at the top of
// field_converter.cpp. `raw` is the field after quote removal and unescaping (never the NULL
// marker); it may be rewritten in place, and the returned text points into `raw` or into
// `scratch`. A value COPY would reject fails with ErrorKind::permanent and a message such as
// `invalid timestamp "2016-13-01 00:00:00"` (the caller adds file, line and column).
[[nodiscard]] Result<Field> convert_field(const ColumnType& type, std::span<char> raw,
                                          std::span<char, k_converted_text_bytes> scratch,
                                          ConversionCounts& counts);

// `value` in double quotes for an error message: at most 100 bytes, with quotes, backslashes
// and bytes outside printable ASCII written as \", \\ and \xNN.
std::string quote_for_message(std::string_view value);

} // namespace rsi::tsv
