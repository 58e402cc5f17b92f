#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace rsi::tsv {

// One field of a record after REMOVEQUOTES and ESCAPE, unescaped in place in the record.
struct RawField {
  char* data = nullptr;
  std::size_t size = 0;
  bool null_marker = false;    // The field was COPY's default NULL AS string, `\N` (or `\\N`).
  bool maybe_non_ascii = true; // False only when no byte of the field is above 127.

  [[nodiscard]] std::span<char> bytes() const { return {data, size}; }
  [[nodiscard]] std::string_view view() const { return {data, size}; }
};

enum class RecordError {
  none,
  unterminated_quote, // A field opens with a quote that no quote before a tab or the end closes.
  extra_columns,      // More fields than `fields` can hold.
  escape_at_end,      // The data ends right after a backslash.
  nul_byte,           // A NUL byte (0x00), which COPY without NULL AS rejects.
};

struct SplitResult {
  std::size_t field_count = 0; // Fields found; fewer than the columns means FILLRECORD applies.
  RecordError error = RecordError::none;
  std::size_t error_field = 0; // 0-based index of the offending field.
};

// Splits `record` (one line of a Spade TSV file without its terminating newline, possibly
// spanning escaped newlines) into at most `fields.size()` fields, applying the COPY rules
// described at the top of field_scan.hpp. Rewrites `record` in place where escapes are
// removed; the fields point into it.
SplitResult split_record(std::span<char> record, std::span<RawField> fields);

} // namespace rsi::tsv
