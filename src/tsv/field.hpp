#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace rsi::tsv {

// One converted value of a row, in the form a warehouse writer needs. `text` is canonical
// PostgreSQL input for the column type (integers without '+' or leading zeros, decimals with
// exactly `scale` fraction digits, booleans "t"/"f", timestamps "YYYY-MM-DD HH:MI:SS[.ffffff]",
// dates "YYYY-MM-DD", floats in shortest round-trip form or "NaN"/"Infinity"/"-Infinity"),
// and always valid UTF-8 without NUL bytes. The views stay valid until the reader moves on.
struct Field {
  std::optional<std::string_view> text; // nullopt is SQL NULL.
  std::int64_t integer = 0;             // smallint/integer/bigint value; boolean as 1/0.
  double real = 0.0;                    // real/double precision value.

  [[nodiscard]] bool is_null() const { return !text.has_value(); }
};

} // namespace rsi::tsv
