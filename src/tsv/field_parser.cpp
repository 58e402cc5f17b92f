// Record splitting with Redshift COPY semantics for the rs_ingester profile
//   COPY ... removequotes delimiter '\t' gzip escape truncatecolumns roundec fillrecord
//   emptyasnull acceptinvchars '?' trimblanks
// (no TIMEFORMAT/DATEFORMAT, so the defaults apply; MAXERROR 0).
//
// What the Redshift Database Developer Guide says ("Data conversion parameters",
// copy-parameters-data-conversion), and where this library implements it:
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

#include "tsv/field_parser.hpp"

#include <cstring>

#include "tsv/byte_scan.hpp"

namespace rsi::tsv {
namespace {

constexpr char k_escape = '\\';
constexpr char k_delimiter = '\t';

// Scans [p, end) for the bytes that end an unquoted field or need a look in a quoted one, and
// notes in `high` whether a byte above 127 may be in the field.
char* scan_unquoted_stop(char* p, char* end, bool& high) {
  return p + (scan_first_of4<true>(p, end, k_delimiter, k_escape, '\0', '\0', high) - p);
}
char* scan_quoted_stop(char* p, char* end, bool& high) {
  return p + (scan_first_of4<true>(p, end, '"', '\'', k_escape, '\0', high) - p);
}

bool is_high(char ch) { return static_cast<unsigned char>(ch) > 0x7F; }

// Copies [from, to) down to `write` when escapes already shifted the field; returns the new
// write position.
char* keep(char* write, const char* from, const char* to) {
  const auto count = static_cast<std::size_t>(to - from);
  if (write != from) {
    std::memmove(write, from, count);
  }
  return write + count;
}

// The default NULL AS string `\N`, also accepted escaped as `\\N`: recognised from the raw
// length and the unescaped text, since unescaping overwrote the raw bytes.
bool is_null_marker(std::size_t raw_size, std::string_view unescaped, bool escaped) {
  return escaped && ((raw_size == 2 && unescaped == "N") || (raw_size == 3 && unescaped == "\\N"));
}

enum class FieldEnd { delimiter, record };

struct FieldScan {
  FieldEnd end = FieldEnd::record;
  RecordError error = RecordError::none;
  char* next = nullptr; // Where the next field starts.
};

FieldScan scan_unquoted(char* p, char* end, RawField& field) {
  char* const start = p;
  char* write = p;
  bool escaped = false;
  bool high = false;
  FieldScan result;
  while (true) {
    char* stop = scan_unquoted_stop(p, end, high);
    write = keep(write, p, stop);
    p = stop;
    if (p == end) {
      result.end = FieldEnd::record;
      break;
    }
    if (*p == '\0') {
      result.error = RecordError::nul_byte;
      return result;
    }
    if (*p == k_delimiter) {
      result.end = FieldEnd::delimiter;
      ++p;
      break;
    }
    // An escape: the next byte is data, unless there is none or it is a NUL (which "cannot be
    // escaped").
    if (p + 1 == end) {
      result.error = RecordError::escape_at_end;
      return result;
    }
    if (p[1] == '\0') {
      result.error = RecordError::nul_byte;
      return result;
    }
    high = high || is_high(p[1]);
    *write++ = p[1];
    p += 2;
    escaped = true;
  }
  const char* const raw_end = result.end == FieldEnd::delimiter ? p - 1 : p;
  field.data = start;
  field.size = static_cast<std::size_t>(write - start);
  field.null_marker =
      is_null_marker(static_cast<std::size_t>(raw_end - start), field.view(), escaped);
  field.maybe_non_ascii = high;
  result.next = p;
  return result;
}

FieldScan scan_quoted(char* p, char* end, RawField& field) {
  const char quote = *p++;
  char* const start = p;
  char* write = p;
  bool escaped = false;
  bool high = false;
  FieldScan result;
  while (true) {
    char* stop = scan_quoted_stop(p, end, high);
    write = keep(write, p, stop);
    p = stop;
    if (p == end) {
      result.error = RecordError::unterminated_quote;
      return result;
    }
    if (*p == '\0' || (*p == k_escape && p + 1 < end && p[1] == '\0')) {
      result.error = RecordError::nul_byte;
      return result;
    }
    if (*p == k_escape) {
      if (p + 1 == end) {
        result.error = RecordError::unterminated_quote;
        return result;
      }
      high = high || is_high(p[1]);
      *write++ = p[1];
      p += 2;
      escaped = true;
      continue;
    }
    // A quotation mark: it closes the field only when the field ends right after it.
    const bool closes = *p == quote && (p + 1 == end || p[1] == k_delimiter);
    if (!closes) {
      *write++ = *p++;
      continue;
    }
    const char* const raw_end = p;
    ++p;
    if (p < end && *p == k_delimiter) {
      result.end = FieldEnd::delimiter;
      ++p;
    } else {
      result.end = FieldEnd::record;
    }
    field.data = start;
    field.size = static_cast<std::size_t>(write - start);
    field.null_marker =
        is_null_marker(static_cast<std::size_t>(raw_end - start), field.view(), escaped);
    field.maybe_non_ascii = high;
    result.next = p;
    return result;
  }
}

} // namespace

SplitResult split_record(std::span<char> record, std::span<RawField> fields) {
  SplitResult result;
  char* p = record.data();
  char* const end = record.data() + record.size();
  // A record always has a first field, even an empty line.
  while (true) {
    if (result.field_count == fields.size()) {
      result.error = RecordError::extra_columns;
      result.error_field = result.field_count;
      return result;
    }
    RawField& field = fields[result.field_count];
    const bool quoted = p < end && (*p == '"' || *p == '\'');
    const FieldScan scanned = quoted ? scan_quoted(p, end, field) : scan_unquoted(p, end, field);
    if (scanned.error != RecordError::none) {
      result.error = scanned.error;
      result.error_field = result.field_count;
      return result;
    }
    ++result.field_count;
    if (scanned.end == FieldEnd::record) {
      return result;
    }
    p = scanned.next;
  }
}

} // namespace rsi::tsv
