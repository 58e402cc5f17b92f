#pragma once

// Field scanning with Redshift COPY semantics for the rs_ingester profile
//   COPY ... removequotes delimiter '\t' gzip escape truncatecolumns roundec fillrecord
//   emptyasnull acceptinvchars '?' trimblanks
// (no TIMEFORMAT/DATEFORMAT, so the defaults apply; MAXERROR 0).
//
// What the Redshift Database Developer Guide says ("Data conversion parameters",
// copy-parameters-data-conversion), and where this library implements it ("here": this file, shared
// by split_record() and the reader's one-pass read_row() in field_converter.cpp):
//
//  DELIMITER '\t'  Fields are separated by tabs; records end at a newline.     here
//  ESCAPE          "the backslash character (\) in input data is treated as an escape
//                  character. The character that immediately follows the backslash character
//                  is loaded into the table as part of the current column value, even if it is
//                  a character that normally serves a special purpose" - the delimiter, a
//                  quotation mark, an embedded newline, the backslash itself. "The ESCAPE
//                  parameter does not interpret octal, hex, Unicode, or other escape sequence
//                  notation": `\x00` loads as `x00`, `\012` as `012`, `\t` as `t`, a backslash
//                  before a tab keeps the tab in the value, a backslash before a newline joins
//                  the next line into the value (reader.cpp finds record ends that way). here
//                  NUL bytes: ESCAPE says "The control character 0x00 (NUL) cannot be
//                  escaped ... This character is treated as an end of record (EOR) marker,
//                  causing the remainder of the record to be truncated", while "Preparing your
//                  input data" says "If you do not use NULL AS, null terminators will cause
//                  COPY to fail." The profile has no NULL AS, and dropping the rest of a record
//                  silently would lose data, so a NUL byte anywhere is an error.       here
//  NULL AS         Not given, so the default null string `\N` applies; with ESCAPE "\N and \\N
//                  produce the same results": a field that is exactly `\N` or `\\N` (after
//                  quote removal, before unescaping) is NULL, whatever the column type. here
//  REMOVEQUOTES    "Removes surrounding quotation marks from strings in the incoming data. All
//                  characters within the quotation marks, including delimiters, are retained.
//                  If a string has a beginning single or double quotation mark but no
//                  corresponding ending mark, the COPY command fails to load that row and
//                  returns an error." With ESCAPE, an escaped quotation mark is retained.  here
//  FILLRECORD      "Allows data files to be loaded when contiguous columns are missing at the
//                  end of some of the records ... If the EMPTYASNULL parameter is present ...
//                  NULLs are loaded": missing trailing columns are NULL.       reader.cpp
//  EMPTYASNULL     "load empty CHAR and VARCHAR fields as NULL. Empty fields for other data
//                  types, such as INT, are always loaded with NULL."   field_converter.cpp
//  ACCEPTINVCHARS '?', TRIMBLANKS, TRUNCATECOLUMNS, ROUNDEC, default TIMEFORMAT/DATEFORMAT,
//  booleans and numeric ranges: see field_converter.cpp and utf8_repair.cpp.
//
// Where the documentation is silent, this library chooses (and the tests pin down):
//  - A quoted field opens with ' or " as its first byte and closes at the same quotation mark
//    when a tab or the end of the record follows it; other quotation marks inside are data.
//    An unescaped newline inside quotes ends the record like anywhere else, so the quote is
//    unterminated: an error.
//  - A quotation mark that does not open the field is an ordinary character.
//  - More fields than the table has columns is an error (TRUNCATECOLUMNS shortens values, not
//    records, and dropping fields would lose data); an empty line is one empty field, so with
//    FILLRECORD a row of NULLs.
//  - A backslash as the very last byte of the data escapes nothing: an error.
//  - A carriage return is data (the guide asks to escape it or strip it with dos2unix).

#include <cstddef>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "tsv/field_parser.hpp"

namespace rsi::tsv::scan {

inline constexpr char k_escape = '\\';
inline constexpr char k_delimiter = '\t';

// The first byte in [p, end) that is `A`, `B` or `C`, or `end`; sets `high` when a byte above
// 127 may be before it (16 bytes at a time where SSE2 is available, so a byte or two past it may
// count too, which only costs a UTF-8 check). The bytes are template arguments so that the
// compares use constants rather than broadcasting them on every field.
template <char A, char B, char C>
[[gnu::always_inline]] inline char* scan_to(char* p, char* end, bool& high) {
#if defined(__SSE2__)
  const __m128i want_a = _mm_set1_epi8(A);
  const __m128i want_b = _mm_set1_epi8(B);
  const __m128i want_c = _mm_set1_epi8(C);
  __m128i seen = _mm_setzero_si128(); // Every chunk looked at, OR-ed: its top bits say "high".
  while (end - p >= 16) {
    const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    seen = _mm_or_si128(seen, chunk);
    const __m128i hits =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(chunk, want_a), _mm_cmpeq_epi8(chunk, want_b)),
                     _mm_cmpeq_epi8(chunk, want_c));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(hits));
    if (mask != 0) {
      high |= _mm_movemask_epi8(seen) != 0;
      return p + __builtin_ctz(mask);
    }
    p += 16;
  }
  high |= _mm_movemask_epi8(seen) != 0;
#endif
  unsigned char bytes = 0;
  for (; p < end; ++p) {
    const char ch = *p;
    if (ch == A || ch == B || ch == C) {
      break;
    }
    bytes |= static_cast<unsigned char>(ch);
  }
  high |= bytes > 0x7F;
  return p;
}

inline bool is_high(char ch) { return static_cast<unsigned char>(ch) > 0x7F; }

// Copies [from, to) down to `write` when escapes already shifted the field; returns the new
// write position.
inline char* keep(char* write, const char* from, const char* to) {
  const auto count = static_cast<std::size_t>(to - from);
  if (write != from) {
    std::memmove(write, from, count);
  }
  return write + count;
}

// The default NULL AS string `\N`, also accepted escaped as `\\N`: recognised from the raw
// length and the unescaped text, since unescaping overwrote the raw bytes.
inline bool is_null_marker(std::size_t raw_size, std::string_view unescaped) {
  return (raw_size == 2 && unescaped == "N") || (raw_size == 3 && unescaped == "\\N");
}

struct FieldScan {
  RecordError error = RecordError::none;
  char* next = nullptr; // Where the next field starts.
  bool last = false;    // The record ended with this field.
};

// Sets `field` to [start, write), read from the raw bytes [start, raw_end).
[[gnu::always_inline]] inline void set_field(RawField& field, char* start, char* write,
                                             const char* raw_end, bool escaped, bool high) {
  field.data = start;
  field.size = static_cast<std::size_t>(write - start);
  field.null_marker =
      escaped && is_null_marker(static_cast<std::size_t>(raw_end - start), field.view());
  field.maybe_non_ascii = high;
}

[[gnu::always_inline]] inline FieldScan scan_unquoted(char* p, char* end, RawField& field) {
  char* const start = p;
  char* write = p;
  bool escaped = false;
  bool high = false;
  while (true) {
    char* const stop = scan_to<k_delimiter, k_escape, '\0'>(p, end, high);
    write = keep(write, p, stop);
    if (stop == end || *stop == k_delimiter) {
      set_field(field, start, write, stop, escaped, high);
      return {.next = stop == end ? end : stop + 1, .last = stop == end};
    }
    // An escape: the next byte is data, unless there is none or it is a NUL (which "cannot be
    // escaped"); or a NUL.
    if (*stop == '\0' || (stop + 1 < end && stop[1] == '\0')) {
      return {.error = RecordError::nul_byte};
    }
    if (stop + 1 == end) {
      return {.error = RecordError::escape_at_end};
    }
    high = high || is_high(stop[1]);
    *write++ = stop[1];
    p = stop + 2;
    escaped = true;
  }
}

template <char Quote>
[[gnu::always_inline]] inline FieldScan scan_quoted(char* p, char* end, RawField& field) {
  char* const start = ++p;
  char* write = p;
  bool escaped = false;
  bool high = false;
  while (true) {
    char* const stop = scan_to<Quote, k_escape, '\0'>(p, end, high);
    write = keep(write, p, stop);
    if (stop == end) {
      return {.error = RecordError::unterminated_quote};
    }
    // The quotation mark closes the field only when the field ends right after it.
    if (*stop == Quote && (stop + 1 == end || stop[1] == k_delimiter)) {
      set_field(field, start, write, stop, escaped, high);
      return {.next = stop + 1 == end ? end : stop + 2, .last = stop + 1 == end};
    }
    if (*stop == Quote) {
      *write++ = Quote;
      p = stop + 1;
      continue;
    }
    if (*stop == '\0' || (stop + 1 < end && stop[1] == '\0')) {
      return {.error = RecordError::nul_byte};
    }
    if (stop + 1 == end) {
      return {.error = RecordError::unterminated_quote};
    }
    high = high || is_high(stop[1]);
    *write++ = stop[1];
    p = stop + 2;
    escaped = true;
  }
}

// One field starting at `p` (quoted or not, by its first byte) into `field`.
[[gnu::always_inline]] inline FieldScan scan_field(char* p, char* end, RawField& field) {
  const char first = p < end ? *p : '\0';
  return first == '"'    ? scan_quoted<'"'>(p, end, field)
         : first == '\'' ? scan_quoted<'\''>(p, end, field)
                         : scan_unquoted(p, end, field);
}

} // namespace rsi::tsv::scan
