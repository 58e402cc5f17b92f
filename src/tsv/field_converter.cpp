// Value conversion with Redshift COPY semantics (profile: see field_parser.cpp). The rules and
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
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "common/strings.hpp"
#include "tsv/utf8_repair.hpp"

namespace rsi::tsv {
namespace {

constexpr char k_replacement_char = '?';
constexpr std::size_t k_max_quoted_bytes = 100;
constexpr std::string_view k_max_decimal19_unscaled = "9223372036854775807";

bool is_white_space(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r';
}

bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

std::string_view trim_end(std::string_view text) {
  while (!text.empty() && is_white_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

std::string_view trim(std::string_view text) {
  text = trim_end(text);
  while (!text.empty() && is_white_space(text.front())) {
    text.remove_prefix(1);
  }
  return text;
}

std::unexpected<Error> rejected(std::string_view reason, std::string_view value) {
  return fail(ErrorKind::permanent, fmt::format("{} {}", reason, quote_for_message(value)));
}

Field text_field(std::string_view text) { return Field{.text = text}; }

// Character types --------------------------------------------------------------------------

// Cuts `text` to at most `width` bytes without splitting a UTF-8 character.
std::string_view truncate_utf8(std::string_view text, std::size_t width) {
  std::size_t cut = width;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) {
    --cut;
  }
  return text.substr(0, cut);
}

Result<Field> convert_varchar(std::span<char> raw, std::uint32_t width, ConversionCounts& counts) {
  counts.replaced_characters += replace_invalid_characters(raw, k_replacement_char);
  std::string_view text = trim_end(std::string_view(raw.data(), raw.size()));
  if (text.size() > width) {
    text = truncate_utf8(text, width);
    ++counts.truncated_values;
  }
  return text_field(text);
}

Result<Field> convert_char(std::span<char> raw, std::uint32_t width, ConversionCounts& counts) {
  std::string_view text(raw.data(), raw.size());
  if (std::any_of(text.begin(), text.end(),
                  [](char ch) { return static_cast<unsigned char>(ch) > 0x7F; })) {
    return rejected("multibyte character not supported for CHAR", text);
  }
  if (text.size() > width) {
    text = text.substr(0, width);
    ++counts.truncated_values;
  }
  return text_field(text);
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

Result<Field> convert_integer(std::string_view text, TypeKind kind, std::span<char> scratch) {
  std::string_view digits = text;
  const bool negative = !digits.empty() && digits.front() == '-';
  if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) {
    digits.remove_prefix(1);
  }
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_digit)) {
    return rejected(fmt::format("invalid {}", type_name(kind)), text);
  }
  std::uint64_t magnitude = 0;
  const auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
  // Negative numbers reach one further than positive ones (two's complement).
  const std::uint64_t limit = max_magnitude(kind) + (negative ? 1U : 0U);
  if (parsed.ec == std::errc::result_out_of_range || magnitude > limit) {
    return rejected(fmt::format("{} out of range", type_name(kind)), text);
  }
  const std::int64_t value =
      negative ? static_cast<std::int64_t>(0U - magnitude) : static_cast<std::int64_t>(magnitude);
  const auto written = std::to_chars(scratch.data(), scratch.data() + scratch.size(), value);
  return Field{.text = std::string_view(scratch.data(), written.ptr), .integer = value};
}

template <class Float>
Result<Field> convert_float(std::string_view text, TypeKind kind, std::span<char> scratch) {
  std::string_view number = text;
  // std::from_chars takes a leading '-' but no '+'.
  if (number.size() > 1 && number.front() == '+' && number[1] != '-' && number[1] != '+') {
    number.remove_prefix(1);
  }
  Float value = 0;
  const auto parsed = std::from_chars(number.data(), number.data() + number.size(), value);
  if (parsed.ec == std::errc::invalid_argument || parsed.ptr != number.data() + number.size()) {
    return rejected(fmt::format("invalid {}", type_name(kind)), text);
  }
  if (parsed.ec == std::errc::result_out_of_range) {
    return rejected(fmt::format("{} out of range", type_name(kind)), text);
  }
  std::string_view canonical;
  if (std::isnan(value)) {
    canonical = "NaN";
  } else if (std::isinf(value)) {
    canonical = value > 0 ? "Infinity" : "-Infinity";
  } else {
    const auto written = std::to_chars(scratch.data(), scratch.data() + scratch.size(), value);
    canonical = std::string_view(scratch.data(), written.ptr);
  }
  return Field{.text = canonical, .real = static_cast<double>(value)};
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

Result<Field> convert_decimal(std::string_view text, const ColumnType& type,
                              std::span<char> scratch) {
  std::string_view rest = text;
  bool negative = false;
  if (!rest.empty() && (rest.front() == '-' || rest.front() == '+')) {
    negative = rest.front() == '-';
    rest.remove_prefix(1);
  }
  const auto int_end = std::find_if_not(rest.begin(), rest.end(), is_digit);
  std::string_view int_digits(rest.begin(), int_end);
  std::string_view frac_digits;
  rest.remove_prefix(int_digits.size());
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    frac_digits =
        std::string_view(rest.begin(), std::find_if_not(rest.begin(), rest.end(), is_digit));
    rest.remove_prefix(frac_digits.size());
  }
  if (!rest.empty() || (int_digits.empty() && frac_digits.empty())) {
    return rejected("invalid decimal", text);
  }
  while (!int_digits.empty() && int_digits.front() == '0') {
    int_digits.remove_prefix(1);
  }
  const std::size_t max_int_digits = type.precision - type.scale;
  if (int_digits.size() > max_int_digits) {
    return rejected(fmt::format("decimal out of range for {}", to_string(type)), text);
  }

  // Unscaled digits: integer part, then the fraction cut or padded to the scale (<= 38 in all,
  // plus one for a carry out of the integer part).
  std::array<char, 40> unscaled{};
  char* out = std::copy(int_digits.begin(), int_digits.end(), unscaled.data() + 1);
  const std::size_t kept_frac = std::min<std::size_t>(frac_digits.size(), type.scale);
  out = std::copy_n(frac_digits.begin(), kept_frac, out);
  out = std::fill_n(out, type.scale - kept_frac, '0');
  std::span<char> digits(unscaled.data() + 1, out);
  // ROUNDEC: round half away from zero on the first dropped digit.
  if (frac_digits.size() > type.scale && frac_digits[type.scale] >= '5' && !increment(digits)) {
    unscaled[0] = '1';
    digits = std::span<char>(unscaled.data(), out);
  }
  const std::size_t int_count = digits.size() - type.scale;
  if (int_count > max_int_digits) {
    return rejected(fmt::format("decimal out of range for {}", to_string(type)), text);
  }
  // DECIMAL(p<=19) is a 64-bit integer: its unscaled magnitude stops at 2^63-1.
  std::string_view significant(digits.data(), digits.size());
  significant.remove_prefix(std::min(significant.find_first_not_of('0'), significant.size()));
  if (type.precision <= 19 && (significant.size() > k_max_decimal19_unscaled.size() ||
                               (significant.size() == k_max_decimal19_unscaled.size() &&
                                significant > k_max_decimal19_unscaled))) {
    return rejected(fmt::format("decimal out of range for {}", to_string(type)), text);
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
  return text_field(std::string_view(scratch.data(), write));
}

// Booleans and times -----------------------------------------------------------------------

Result<Field> convert_boolean(std::string_view text) {
  for (const std::string_view literal : {"t", "true", "y", "yes", "1"}) {
    if (iequals_ascii(text, literal)) {
      return Field{.text = std::string_view("t"), .integer = 1};
    }
  }
  for (const std::string_view literal : {"f", "false", "n", "no", "0"}) {
    if (iequals_ascii(text, literal)) {
      return Field{.text = std::string_view("f"), .integer = 0};
    }
  }
  return rejected("invalid boolean", text);
}

// Reads `count` digits at `text[pos]` into `value`.
bool read_digits(std::string_view text, std::size_t pos, std::size_t count, int& value) {
  if (pos + count > text.size()) {
    return false;
  }
  value = 0;
  for (std::size_t index = pos; index < pos + count; ++index) {
    if (!is_digit(text[index])) {
      return false;
    }
    value = value * 10 + (text[index] - '0');
  }
  return true;
}

int days_in_month(int year, int month) {
  static constexpr std::array<int, 12> k_days{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : k_days[static_cast<std::size_t>(month - 1)];
}

// YYYY-MM-DD at the start of `text`.
bool valid_date(std::string_view text) {
  int year = 0;
  int month = 0;
  int day = 0;
  return read_digits(text, 0, 4, year) && text.size() >= 10 && text[4] == '-' &&
         read_digits(text, 5, 2, month) && text[7] == '-' && read_digits(text, 8, 2, day) &&
         year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= days_in_month(year, month);
}

// HH:MI:SS[.f{1,6}] filling all of `text`.
bool valid_time(std::string_view text) {
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (!(text.size() >= 8 && read_digits(text, 0, 2, hour) && text[2] == ':' &&
        read_digits(text, 3, 2, minute) && text[5] == ':' && read_digits(text, 6, 2, second) &&
        hour <= 23 && minute <= 59 && second <= 59)) {
    return false;
  }
  if (text.size() == 8) {
    return true;
  }
  const std::string_view fraction = text.substr(9);
  return text[8] == '.' && !fraction.empty() && fraction.size() <= 6 &&
         std::all_of(fraction.begin(), fraction.end(), is_digit);
}

Result<Field> convert_timestamp(std::string_view text) {
  if (!(valid_date(text) && text.size() > 11 && text[10] == ' ' && valid_time(text.substr(11)))) {
    return rejected("invalid timestamp", text);
  }
  return text_field(text);
}

Result<Field> convert_date(std::string_view text) {
  const bool valid =
      valid_date(text) && (text.size() == 10 || (text[10] == ' ' && valid_time(text.substr(11))));
  if (!valid) {
    return rejected("invalid date", text);
  }
  return text_field(text.substr(0, 10));
}

} // namespace

Result<Field> convert_field(const ColumnType& type, std::span<char> raw,
                            std::span<char, k_converted_text_bytes> scratch,
                            ConversionCounts& counts) {
  if (raw.empty()) {
    return Field{}; // EMPTYASNULL for character types; always NULL for the others.
  }
  if (type.kind == TypeKind::varchar) {
    return convert_varchar(raw, type.width, counts);
  }
  if (type.kind == TypeKind::character) {
    return convert_char(raw, type.width, counts);
  }
  const std::string_view text = trim(std::string_view(raw.data(), raw.size()));
  if (text.empty()) {
    return Field{}; // A blank non-character field is NULL.
  }
  switch (type.kind) {
  case TypeKind::smallint:
  case TypeKind::integer:
  case TypeKind::bigint:
    return convert_integer(text, type.kind, scratch);
  case TypeKind::real:
    return convert_float<float>(text, type.kind, scratch);
  case TypeKind::double_precision:
    return convert_float<double>(text, type.kind, scratch);
  case TypeKind::decimal:
    return convert_decimal(text, type, scratch);
  case TypeKind::boolean:
    return convert_boolean(text);
  case TypeKind::timestamp:
    return convert_timestamp(text);
  case TypeKind::date:
    return convert_date(text);
  case TypeKind::varchar:
  case TypeKind::character:
    break;
  }
  return rejected("unsupported column type for", text);
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
