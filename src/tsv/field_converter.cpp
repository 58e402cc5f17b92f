// Value conversion with Redshift COPY semantics (profile: see field_scan.hpp). The rules and
// what the Redshift Database Developer Guide says about them:
//
//  EMPTYASNULL      "load empty CHAR and VARCHAR fields as NULL. Empty fields for other data
//                   types, such as INT, are always loaded with NULL" ("Data conversion
//                   parameters"). Empty means nothing between the delimiters once REMOVEQUOTES
//                   took the quotes off, so `""` is NULL too.
//  blank fields     BLANKSASNULL is not in the profile, but the guide notes that "Blank fields
//                   for other data types, such as INT, are always loaded with NULL": a
//                   non-character field of only white space is NULL; surrounding white space
//                   of a non-character value is ignored (choice: the guide is silent).
//  ACCEPTINVCHARS   "COPY replaces each invalid UTF-8 character with a string of equal length
//  '?'              consisting of the character specified by replacement_char ... an invalid
//                   three-byte character will be replaced with '^^^'"; "valid only for VARCHAR
//                   columns". "Multibyte character load errors" adds the noncharacters
//                   U+FDD0..U+FDEF and U+xFFFE/U+xFFFF, which ACCEPTINVCHARS replaces too
//                   (utf8_repair.cpp).
//  CHAR             "Columns with a CHAR data type only accept single-byte UTF-8 characters, up
//                   to byte value 127": any other byte in a CHAR value is an error
//                   ("Multibyte character not supported for CHAR").
//  TRIMBLANKS       "Removes the trailing white space characters from a VARCHAR string. This
//                   parameter applies only to columns with a VARCHAR data type." White space is
//                   ASCII space, \t, \n, \v, \f, \r (choice). Trimming runs before truncation
//                   and does not turn a value into NULL (EMPTYASNULL is about empty fields).
//  TRUNCATECOLUMNS  "Truncates data in columns to the appropriate number of characters so that
//                   it fits the column specification. Applies only to columns with a VARCHAR or
//                   CHAR data type". Widths count bytes ("CHAR and VARCHAR data types are
//                   defined in terms of bytes, not characters", Character types), so a value is
//                   cut to at most `width` bytes, and further back to the start of a UTF-8
//                   character so that no partial character is stored (choice).
//  ROUNDEC          "Rounds up numeric values when the scale of the input value is greater than
//                   the scale of the column ... 20.259 is loaded into a DECIMAL(8,2) column ...
//                   COPY rounds the value to 20.26 ... behaves the same as an INSERT": half away
//                   from zero. "If the number of digits to the left of the decimal point ...
//                   exceeds the precision of the column minus its scale, the value cannot be
//                   copied" (Numeric types), and DECIMAL of precision <= 19 holds at most
//                   9223372036854775807 unscaled. Exponents are not accepted (choice).
//  integers         SMALLINT/INTEGER/BIGINT: [+-]digits within the type's range, else error.
//  REAL, DOUBLE     "standard floating-point format, such as 12.123, or an exponential
//                   format, such as 1.0E4" ("Preparing your input data"), plus NaN and
//                   Infinity; a magnitude outside the type's range (overflow, or underflow
//                   reported by the parser) is an error.
//  BOOLEAN          "Valid literal values": true 't' 'true' 'y' 'yes' '1', false 'f' 'false' 'n'
//                   'no' '0' (Boolean type); matched case-insensitively (choice: PostgreSQL's
//                   rule for the same literals).
//  TIMESTAMP        No TIMEFORMAT, so the default "YYYY-MM-DD HH:MI:SS" for TIMESTAMP, where
//                   "the seconds (SS) field also supports fractional seconds up to a microsecond
//                   level of detail" ("DATEFORMAT and TIMEFORMAT strings"): exactly
//                   `YYYY-MM-DD HH:MI:SS[.f{1,6}]`, checked as a real calendar time.
//  DATE             No DATEFORMAT, so "YYYY-MM-DD"; "The date format can include time
//                   information (hour, minutes, seconds), but this information is ignored": a
//                   valid time after the date is accepted and dropped.

#include "tsv/field_converter.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include <fmt/format.h>

#include "tsv/date_time_text.hpp"
#include "tsv/field_scan.hpp"
#include "tsv/utf8_repair.hpp"

namespace rsi::tsv {
namespace {

using date_time::is_digit;
using date_time::k_micros_per_second;
using date_time::read_date;
using date_time::read_time;

constexpr char k_replacement_char = '?';
constexpr std::size_t k_max_quoted_bytes = 100;
constexpr std::string_view k_max_decimal19_unscaled = "9223372036854775807";
constexpr std::int64_t k_seconds_per_day = 86'400;

constexpr std::array<bool, 256> make_white_space() {
  std::array<bool, 256> table{};
  for (const char ch : {' ', '\t', '\n', '\v', '\f', '\r'}) {
    table[static_cast<unsigned char>(ch)] = true;
  }
  return table;
}
constexpr auto k_white_space = make_white_space();

bool is_white_space(char ch) { return k_white_space[static_cast<unsigned char>(ch)]; }

// Both trims look at one byte when there is nothing to take off, which is nearly always.
[[gnu::always_inline]] inline std::string_view trim_end(std::string_view text) {
  while (!text.empty() && is_white_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

[[gnu::always_inline]] inline std::string_view trim(std::string_view text) {
  text = trim_end(text);
  while (!text.empty() && is_white_space(text.front())) {
    text.remove_prefix(1);
  }
  return text;
}

bool has_non_ascii(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char ch) { return static_cast<unsigned char>(ch) > 0x7F; });
}

// The first position at or after `from` in `text` that is not a digit.
std::size_t skip_digits(std::string_view text, std::size_t from) {
  while (from < text.size() && is_digit(text[from])) {
    ++from;
  }
  return from;
}

Field value_field(std::string_view text, std::int64_t integer = 0) {
  return Field{.null = false, .text = text, .integer = integer};
}

// Character types --------------------------------------------------------------------------

// Cuts `text` to at most `width` bytes without splitting a UTF-8 character.
std::string_view truncate_utf8(std::string_view text, std::size_t width) {
  std::size_t cut = width;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) {
    --cut;
  }
  return text.substr(0, cut);
}

Rejection convert_varchar(std::span<char> raw, bool maybe_non_ascii, std::uint32_t width,
                          ConversionCounts& counts, Field& out) {
  if (maybe_non_ascii) {
    counts.replaced_characters += replace_invalid_characters(raw, k_replacement_char);
  }
  std::string_view text = trim_end(std::string_view(raw.data(), raw.size()));
  if (text.size() > width) {
    text = truncate_utf8(text, width);
    ++counts.truncated_values;
  }
  out = value_field(text);
  return Rejection::none;
}

Rejection convert_char(std::span<char> raw, bool maybe_non_ascii, std::uint32_t width,
                       ConversionCounts& counts, Field& out) {
  std::string_view text(raw.data(), raw.size());
  if (maybe_non_ascii && has_non_ascii(text)) {
    return Rejection::multibyte;
  }
  if (text.size() > width) {
    text = text.substr(0, width);
    ++counts.truncated_values;
  }
  out = value_field(text);
  return Rejection::none;
}

// Numbers ----------------------------------------------------------------------------------

std::uint64_t max_magnitude(TypeKind kind) {
  switch (kind) {
  case TypeKind::smallint:
    return std::numeric_limits<std::int16_t>::max();
  case TypeKind::integer:
    return std::numeric_limits<std::int32_t>::max();
  default:
    return std::numeric_limits<std::int64_t>::max();
  }
}

// [+-]digits, any number of leading zeros, within the type's range. One pass over the digits.
Rejection convert_integer(std::string_view text, TypeKind kind, Field& out) {
  std::size_t pos = 0;
  const bool negative = text.front() == '-';
  if (negative || text.front() == '+') {
    pos = 1;
  }
  if (pos == text.size()) {
    return Rejection::invalid;
  }
  while (pos + 1 < text.size() && text[pos] == '0') {
    ++pos;
  }
  // 19 digits always fit 64 unsigned bits; a longer number is out of every type's range.
  if (text.size() - pos > 19) {
    return skip_digits(text, pos) == text.size() ? Rejection::out_of_range : Rejection::invalid;
  }
  std::uint64_t magnitude = 0;
  for (; pos < text.size(); ++pos) {
    const auto digit = static_cast<unsigned char>(text[pos] - '0');
    if (digit > 9) {
      return Rejection::invalid;
    }
    magnitude = magnitude * 10 + digit;
  }
  // Negative numbers reach one further than positive ones (two's complement).
  if (magnitude > max_magnitude(kind) + (negative ? 1U : 0U)) {
    return Rejection::out_of_range;
  }
  out = Field{.null = false,
              .integer = negative ? static_cast<std::int64_t>(0U - magnitude)
                                  : static_cast<std::int64_t>(magnitude)};
  return Rejection::none;
}

// Powers of ten every float (up to 1e10), double (up to 1e22) and 64-bit integer (up to 1e18)
// holds exactly.
template <class Number>
constexpr auto k_powers_of_ten = [] {
  std::array<Number, std::is_same_v<Number, float>    ? 11
                     : std::is_same_v<Number, double> ? 23
                                                      : 19>
      powers{};
  powers[0] = 1;
  for (std::size_t index = 1; index < powers.size(); ++index) {
    powers[index] = powers[index - 1] * 10;
  }
  return powers;
}();

// `[-]digits[.digits]` with few enough significant digits that the integer of all of them and
// the power of ten of the fraction are exact in `Float`: then one division, which IEEE 754
// rounds correctly, gives the nearest value (Clinger's fast path), as std::from_chars would.
// False for any other text, which std::from_chars then reads.
template <class Float> bool read_simple_float(std::string_view text, Float& value) {
  constexpr int k_max_digits = sizeof(Float) == 4 ? 7 : 15;
  const bool negative = text.front() == '-';
  std::size_t pos = negative ? 1 : 0;
  std::uint64_t mantissa = 0;
  int digits = 0;
  const auto read_run = [&] {
    const std::size_t from = pos;
    for (; pos < text.size() && is_digit(text[pos]); ++pos) {
      mantissa = mantissa * 10 + static_cast<std::uint64_t>(text[pos] - '0');
      digits += mantissa != 0 ? 1 : 0;
      if (digits > k_max_digits) {
        return std::size_t{0};
      }
    }
    return pos - from;
  };
  if (read_run() == 0) {
    return false;
  }
  std::size_t scale = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    scale = read_run();
    if (scale == 0 || scale >= k_powers_of_ten<Float>.size()) {
      return false;
    }
  }
  if (pos != text.size()) {
    return false;
  }
  value = static_cast<Float>(mantissa) / k_powers_of_ten<Float>[scale];
  value = negative ? -value : value;
  return true;
}

template <class Float> Rejection convert_float(std::string_view text, Field& out) {
  Float value = 0;
  if (read_simple_float(text, value)) {
    out = Field{.null = false, .real = static_cast<double>(value)};
    return Rejection::none;
  }
  // std::from_chars takes a leading '-' but no '+'.
  if (text.size() > 1 && text.front() == '+' && text[1] != '-' && text[1] != '+') {
    text.remove_prefix(1);
  }
  const auto parsed = std::from_chars(text.data(), text.data() + text.size(), value);
  if (parsed.ec == std::errc::invalid_argument || parsed.ptr != text.data() + text.size()) {
    return Rejection::invalid;
  }
  if (parsed.ec == std::errc::result_out_of_range) {
    return Rejection::out_of_range;
  }
  out = Field{.null = false, .real = static_cast<double>(value)};
  return Rejection::none;
}

// Adds one unit in the last place to the decimal digits in `digits`; returns false on a carry
// out of the first digit.
bool increment(std::span<char> digits) {
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (*it != '9') {
      ++*it;
      return true;
    }
    *it = '0';
  }
  return false;
}

// A DECIMAL(p <= 18) value as its unscaled integer (see Field): the digits checked by
// convert_decimal(), at most p - s of them before the point, rounded (ROUNDEC) to the scale.
Rejection integer_decimal(bool negative, std::string_view int_digits, std::string_view frac_digits,
                          const ColumnType& type, Field& out) {
  std::int64_t unscaled = 0;
  for (const char digit : int_digits) {
    unscaled = unscaled * 10 + (digit - '0');
  }
  for (std::size_t index = 0; index < type.scale; ++index) {
    unscaled = unscaled * 10 + (index < frac_digits.size() ? frac_digits[index] - '0' : 0);
  }
  if (frac_digits.size() > type.scale && frac_digits[type.scale] >= '5') {
    ++unscaled; // Half away from zero, on the first dropped digit.
  }
  if (unscaled >= k_powers_of_ten<std::int64_t>[type.precision]) {
    return Rejection::out_of_range; // Rounding carried into one more integer digit.
  }
  out = Field{.null = false, .integer = negative ? -unscaled : unscaled};
  return Rejection::none;
}

Rejection convert_decimal(std::string_view text, const ColumnType& type, std::span<char> scratch,
                          Field& out) {
  std::size_t pos = 0;
  const bool negative = text.front() == '-';
  if (negative || text.front() == '+') {
    pos = 1;
  }
  const std::size_t int_end = skip_digits(text, pos);
  std::string_view int_digits = text.substr(pos, int_end - pos);
  std::string_view frac_digits;
  pos = int_end;
  if (pos < text.size() && text[pos] == '.') {
    const std::size_t frac_end = skip_digits(text, pos + 1);
    frac_digits = text.substr(pos + 1, frac_end - pos - 1);
    pos = frac_end;
  }
  if (pos != text.size() || (int_digits.empty() && frac_digits.empty())) {
    return Rejection::invalid;
  }
  while (!int_digits.empty() && int_digits.front() == '0') {
    int_digits.remove_prefix(1);
  }
  const std::size_t max_int_digits = type.precision - type.scale;
  if (int_digits.size() > max_int_digits) {
    return Rejection::out_of_range;
  }
  if (type.precision <= k_max_integer_decimal_precision) {
    return integer_decimal(negative, int_digits, frac_digits, type, out);
  }

  // Unscaled digits: integer part, then the fraction cut or padded to the scale (<= 38 in all,
  // plus one for a carry out of the integer part).
  std::array<char, 40> unscaled{};
  char* digits_end = std::copy(int_digits.begin(), int_digits.end(), unscaled.data() + 1);
  const std::size_t kept_frac = std::min<std::size_t>(frac_digits.size(), type.scale);
  digits_end = std::copy_n(frac_digits.begin(), kept_frac, digits_end);
  digits_end = std::fill_n(digits_end, type.scale - kept_frac, '0');
  std::span<char> digits(unscaled.data() + 1, digits_end);
  // ROUNDEC: round half away from zero on the first dropped digit.
  if (frac_digits.size() > type.scale && frac_digits[type.scale] >= '5' && !increment(digits)) {
    unscaled[0] = '1';
    digits = std::span<char>(unscaled.data(), digits_end);
  }
  const std::size_t int_count = digits.size() - type.scale;
  if (int_count > max_int_digits) {
    return Rejection::out_of_range;
  }
  // DECIMAL(p<=19) is a 64-bit integer: its unscaled magnitude stops at 2^63-1.
  std::string_view significant(digits.data(), digits.size());
  significant.remove_prefix(std::min(significant.find_first_not_of('0'), significant.size()));
  if (type.precision <= 19 && (significant.size() > k_max_decimal19_unscaled.size() ||
                               (significant.size() == k_max_decimal19_unscaled.size() &&
                                significant > k_max_decimal19_unscaled))) {
    return Rejection::out_of_range;
  }

  char* write = scratch.data();
  if (negative && !significant.empty()) {
    *write++ = '-';
  }
  if (int_count == 0) {
    *write++ = '0';
  }
  write = std::copy_n(digits.begin(), int_count, write);
  if (type.scale > 0) {
    *write++ = '.';
    write = std::copy(digits.begin() + static_cast<std::ptrdiff_t>(int_count), digits.end(), write);
  }
  out = value_field(std::string_view(scratch.data(), write));
  return Rejection::none;
}

// Booleans and times -----------------------------------------------------------------------

char lower_ascii(char ch) { return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch + 32) : ch; }

// True when `text` is `literal` (lower case) in any case.
bool is_literal(std::string_view text, std::string_view literal) {
  if (text.size() != literal.size()) {
    return false;
  }
  for (std::size_t index = 0; index < text.size(); ++index) {
    if (lower_ascii(text[index]) != literal[index]) {
      return false;
    }
  }
  return true;
}

Rejection convert_boolean(std::string_view text, Field& out) {
  switch (lower_ascii(text.front())) {
  case 't':
  case 'y':
  case '1':
    if (text.size() == 1 || is_literal(text, "true") || is_literal(text, "yes")) {
      out = value_field("t", 1);
      return Rejection::none;
    }
    break;
  case 'f':
  case 'n':
  case '0':
    if (text.size() == 1 || is_literal(text, "false") || is_literal(text, "no")) {
      out = value_field("f", 0);
      return Rejection::none;
    }
    break;
  default:
    break;
  }
  return Rejection::invalid;
}

Rejection convert_timestamp(std::string_view text, Field& out) {
  std::int64_t days = 0;
  std::int64_t micros = 0;
  if (!(read_date(text, days) && text.size() > 11 && text[10] == ' ' &&
        read_time(text.substr(11), micros))) {
    return Rejection::invalid;
  }
  out = value_field(text, days * k_seconds_per_day * k_micros_per_second + micros);
  return Rejection::none;
}

Rejection convert_date(std::string_view text, Field& out) {
  std::int64_t days = 0;
  std::int64_t ignored = 0;
  if (!(read_date(text, days) &&
        (text.size() == 10 || (text[10] == ' ' && read_time(text.substr(11), ignored))))) {
    return Rejection::invalid;
  }
  out = value_field(text.substr(0, 10), days);
  return Rejection::none;
}

// convert_value(), inlined into read_row().
[[gnu::always_inline]] inline Rejection convert_any(const ColumnType& type, std::span<char> raw,
                                                    bool maybe_non_ascii,
                                                    std::span<char, k_converted_text_bytes> scratch,
                                                    ConversionCounts& counts, Field& out) {
  if (raw.empty()) {
    out = Field{}; // EMPTYASNULL for character types; always NULL for the others.
    return Rejection::none;
  }
  if (type.kind == TypeKind::varchar) {
    return convert_varchar(raw, maybe_non_ascii, type.width, counts, out);
  }
  if (type.kind == TypeKind::character) {
    return convert_char(raw, maybe_non_ascii, type.width, counts, out);
  }
  const std::string_view text = trim(std::string_view(raw.data(), raw.size()));
  if (text.empty()) {
    out = Field{}; // A blank non-character field is NULL.
    return Rejection::none;
  }
  switch (type.kind) {
  case TypeKind::smallint:
  case TypeKind::integer:
  case TypeKind::bigint:
    return convert_integer(text, type.kind, out);
  case TypeKind::real:
    return convert_float<float>(text, out);
  case TypeKind::double_precision:
    return convert_float<double>(text, out);
  case TypeKind::decimal:
    return convert_decimal(text, type, scratch, out);
  case TypeKind::boolean:
    return convert_boolean(text, out);
  case TypeKind::timestamp:
    return convert_timestamp(text, out);
  case TypeKind::date:
    return convert_date(text, out);
  case TypeKind::varchar:
  case TypeKind::character:
    break;
  }
  return Rejection::invalid;
}

} // namespace

Rejection convert_value(const ColumnType& type, std::span<char> raw, bool maybe_non_ascii,
                        std::span<char, k_converted_text_bytes> scratch, ConversionCounts& counts,
                        Field& out) {
  return convert_any(type, raw, maybe_non_ascii, scratch, counts, out);
}

RowResult read_row(std::span<char> record, std::span<const Column> columns, std::span<char> scratch,
                   ConversionCounts& counts, std::span<Field> out) {
  RowResult result;
  char* p = record.data();
  char* const end = record.data() + record.size();
  std::size_t index = 0;
  // A record always has a first field, even an empty line.
  while (true) {
    if (index == columns.size()) {
      result.split.error = RecordError::extra_columns;
      result.split.error_field = index;
      return result;
    }
    RawField field;
    const scan::FieldScan scanned = scan::scan_field(p, end, field);
    if (scanned.error != RecordError::none) {
      result.split.error = scanned.error;
      result.split.error_field = index;
      return result;
    }
    if (result.rejected.rejection == Rejection::none) {
      if (field.null_marker) {
        out[index] = Field{}; // The NULL AS string.
      } else {
        const std::span<char, k_converted_text_bytes> column_scratch(
            scratch.data() + index * k_converted_text_bytes, k_converted_text_bytes);
        const Rejection rejection =
            convert_any(columns[index].type, field.bytes(), field.maybe_non_ascii, column_scratch,
                        counts, out[index]);
        if (rejection != Rejection::none) {
          result.rejected = {.column = index, .rejection = rejection};
          result.raw = field.view();
        }
      }
    }
    ++index;
    if (scanned.last) {
      break;
    }
    p = scanned.next;
  }
  for (; index < columns.size(); ++index) {
    out[index] = Field{}; // FILLRECORD.
  }
  return result;
}

std::string rejection_message(Rejection rejection, const ColumnType& type, std::string_view raw) {
  const std::string_view text = type.kind == TypeKind::character ? raw : trim(raw);
  switch (rejection) {
  case Rejection::multibyte:
    return fmt::format("multibyte character not supported for CHAR {}", quote_for_message(text));
  case Rejection::out_of_range:
    if (type.kind == TypeKind::decimal) {
      return fmt::format("decimal out of range for {} {}", to_string(type),
                         quote_for_message(text));
    }
    return fmt::format("{} out of range {}", type_name(type.kind), quote_for_message(text));
  case Rejection::invalid:
  case Rejection::none:
    break;
  }
  return fmt::format("invalid {} {}", type_name(type.kind), quote_for_message(text));
}

Result<Field> convert_field(const ColumnType& type, std::span<char> raw,
                            std::span<char, k_converted_text_bytes> scratch,
                            ConversionCounts& counts) {
  const std::string given(raw.data(), raw.size()); // The message quotes the value as given.
  Field field;
  const Rejection rejection = convert_value(type, raw, true, scratch, counts, field);
  if (rejection != Rejection::none) {
    return fail(ErrorKind::permanent, rejection_message(rejection, type, given));
  }
  if (!field.null) {
    field.text = field_text(field, type, scratch);
  }
  return field;
}

std::string quote_for_message(std::string_view value) {
  std::string out = "\"";
  const std::string_view shown = value.substr(0, k_max_quoted_bytes);
  for (const char raw : shown) {
    const auto byte = static_cast<unsigned char>(raw);
    if (raw == '"' || raw == '\\') {
      out.push_back('\\');
      out.push_back(raw);
    } else if (byte < 0x20 || byte >= 0x7F) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out.push_back(raw);
    }
  }
  out.push_back('"');
  if (value.size() > shown.size()) {
    out += fmt::format(" (first {} of {} bytes)", shown.size(), value.size());
  }
  return out;
}

} // namespace rsi::tsv
