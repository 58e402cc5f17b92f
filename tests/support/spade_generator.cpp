// The oracle follows the rules as documented, step by step, in their own words:
//  - Spade writes each value with Go's %q (two NUL bytes as `"\x00\x00"`). Other producers
//    write it bare with COPY's ESCAPE (a backslash before \, tab, newline and an opening quote),
//    or in single or double quotes with ESCAPE before \, newline and that quote, tabs left as
//    they are ("All characters within the quotation marks, including delimiters, are
//    retained").
//  - REMOVEQUOTES takes the surrounding quotes off; a field that is then exactly `\N` or `\\N`
//    is NULL (the default NULL AS with ESCAPE); ESCAPE keeps the byte after each backslash.
//  - VARCHAR: EMPTYASNULL; ACCEPTINVCHARS '?' turns every byte of an invalid character (and of
//    the noncharacters U+FDD0..U+FDEF, U+xFFFE, U+xFFFF) into '?'; TRIMBLANKS drops trailing
//    ASCII white space; TRUNCATECOLUMNS keeps the longest run of whole characters that fits the
//    width in bytes.
//  - CHAR: only bytes up to 127 (any other fails the file: ACCEPTINVCHARS is for VARCHAR
//    only); EMPTYASNULL; TRUNCATECOLUMNS to the width in bytes; no TRIMBLANKS; stored
//    blank-padded to the width.
//  - Other types: empty or blank is NULL, white space around the value is ignored; integers
//    take a sign and leading zeros; floats fixed or exponent notation, NaN and Infinity;
//    booleans t/true/y/yes/1 and f/false/n/no/0 in any case; timestamps `YYYY-MM-DD
//    HH:MI:SS[.ffffff]`; dates `YYYY-MM-DD` with an optional time that is ignored.
//  - FILLRECORD: missing trailing columns are NULL.
// Where Redshift's guide is silent the project's documented choices apply (src/tsv): white space
// around a non-character value is ignored and a blank one is NULL; TRIMBLANKS runs before
// TRUNCATECOLUMNS and leaves '' (not NULL) of a value of blanks.
// Expected values are the text PostgreSQL prints for the stored value, and what SQLite stores
// for it (docs/warehouse.md: integers and booleans as INTEGER, floats as REAL but NaN as TEXT,
// times as the text that was read, a date without its time), both computed from the logical
// value (an integer, a time, the digits written), never by parsing what was written.

#include "support/spade_generator.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "common/gzip.hpp"

namespace rsi::test::spade {
namespace {

// One well-formed UTF-8 character at `bytes[at]`: its code point and length, or nullopt when the
// bytes there do not start one (Unicode Table 3-7, written as ranges of the second byte).
struct Decoded {
  std::uint32_t code_point = 0;
  std::size_t length = 0;
};

std::optional<Decoded> decode_utf8(const std::string& bytes, std::size_t at) {
  const auto byte = [&](std::size_t index) { return static_cast<unsigned char>(bytes[index]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) {
    return Decoded{lead, 1};
  }
  std::size_t length = 0;
  unsigned char second_low = 0x80;
  unsigned char second_high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    second_low = lead == 0xE0 ? 0xA0 : 0x80;
    second_high = lead == 0xED ? 0x9F : 0xBF;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    second_low = lead == 0xF0 ? 0x90 : 0x80;
    second_high = lead == 0xF4 ? 0x8F : 0xBF;
  } else {
    return std::nullopt;
  }
  if (at + length > bytes.size() || byte(at + 1) < second_low || byte(at + 1) > second_high) {
    return std::nullopt;
  }
  std::uint32_t code_point = lead & (0xFFU >> (length + 1));
  for (std::size_t index = 1; index < length; ++index) {
    if (index > 1 && (byte(at + index) < 0x80 || byte(at + index) > 0xBF)) {
      return std::nullopt;
    }
    code_point = (code_point << 6) | (byte(at + index) & 0x3FU);
  }
  return Decoded{code_point, length};
}

bool is_noncharacter(std::uint32_t code_point) {
  return (code_point >= 0xFDD0 && code_point <= 0xFDEF) || (code_point & 0xFFFFU) == 0xFFFE ||
         (code_point & 0xFFFFU) == 0xFFFF;
}

// Go's unicode.IsPrint for the non-ASCII code points the generator can produce. Anything else
// is a generator bug, not data.
bool go_is_print(std::uint32_t code_point) {
  switch (code_point) {
  case 0xE9:    // é
  case 0x65E5:  // 日
  case 0x1F600: // 😀
    return true;
  case 0x85:   // NEL, a C1 control
  case 0xFDD0: // noncharacters
  case 0xFFFE:
    return false;
  default:
    throw std::logic_error(
        fmt::format("spade generator: unexpected code point U+{:04X}", code_point));
  }
}

bool is_ascii_white_space(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r';
}

// A producer writing a value bare: ESCAPE before the backslash, the delimiter and the newline;
// before a quotation mark that opens the field (it would be read as REMOVEQUOTES' quote), and,
// when `escape_inner_quotes`, before every other one too (an escaped quote is a quote).
std::string bare_escape(const std::string& bytes, bool escape_inner_quotes) {
  std::string out;
  for (std::size_t index = 0; index < bytes.size(); ++index) {
    const char ch = bytes[index];
    const bool quote = ch == '"' || ch == '\'';
    if (ch == '\\' || ch == '\t' || ch == '\n' || (quote && (index == 0 || escape_inner_quotes))) {
      out.push_back('\\');
    }
    out.push_back(ch);
  }
  return out;
}

// A producer writing a value in `quote`s: ESCAPE before the backslash, the newline (a record
// ends at every unescaped newline, quoted or not) and the quote itself.
std::string quoted_escape(const std::string& bytes, char quote) {
  std::string out;
  for (const char ch : bytes) {
    if (ch == '\\' || ch == '\n' || ch == quote) {
      out.push_back('\\');
    }
    out.push_back(ch);
  }
  return out;
}

std::string in_quotes(const std::string& text, char quote = '"') { return quote + text + quote; }

// COPY's NULL AS default, `\N`, also as `\\N` under ESCAPE: looked at after REMOVEQUOTES.
bool is_null_marker(const std::string& unquoted) {
  return unquoted == "\\N" || unquoted == "\\\\N";
}

// The exact decimal text of `quarters` / 4, as PostgreSQL prints that double (shortest
// round-trip text, which for these values is the exact one).
std::string quarter_text(std::int64_t quarters) {
  const bool negative = quarters < 0;
  const std::int64_t magnitude = negative ? -quarters : quarters;
  std::string text = std::to_string(magnitude / 4);
  static constexpr std::array<std::string_view, 4> k_fractions{"", ".25", ".5", ".75"};
  text += k_fractions[static_cast<std::size_t>(magnitude % 4)];
  return negative && magnitude != 0 ? "-" + text : text;
}

// The same double as SQLite prints a REAL ("%!.15g": at most 15 significant digits, which
// these values never need, and ".0" after a whole number).
std::string quarter_text_sqlite(std::int64_t quarters) {
  std::string text = quarter_text(quarters);
  return text.find('.') == std::string::npos ? text + ".0" : text;
}

constexpr std::array<std::string_view, 5> k_true_spellings{"t", "true", "y", "yes", "1"};
constexpr std::array<std::string_view, 5> k_false_spellings{"f", "false", "n", "no", "0"};

int days_in_month(int year, int month) {
  static constexpr std::array<int, 12> k_days{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : k_days[static_cast<std::size_t>(month - 1)];
}

} // namespace

std::string blueprint_type(const ColumnSpec& column) {
  switch (column.kind) {
  case ColumnKind::varchar:
    return "varchar";
  case ColumnKind::bigint:
    return "bigint";
  case ColumnKind::integer:
    return "int";
  case ColumnKind::double_precision:
    return "float";
  case ColumnKind::boolean:
    return "bool";
  case ColumnKind::timestamp:
    return "f@timestamp@unix";
  case ColumnKind::date:
    return "date";
  case ColumnKind::character:
    return "char";
  }
  return "varchar";
}

std::string blueprint_options(const ColumnSpec& column) {
  return column.kind == ColumnKind::varchar || column.kind == ColumnKind::character
             ? fmt::format("({})", column.width)
             : "";
}

std::string go_quote_body(const std::string& bytes) {
  std::string out;
  std::size_t at = 0;
  while (at < bytes.size()) {
    const auto decoded = decode_utf8(bytes, at);
    if (!decoded) { // Go writes each byte of invalid UTF-8 as \xNN.
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(bytes[at]));
      ++at;
      continue;
    }
    const std::uint32_t code_point = decoded->code_point;
    switch (code_point) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\a':
      out += "\\a";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\v':
      out += "\\v";
      break;
    default:
      if (code_point < 0x20 || code_point == 0x7F) {
        out += fmt::format("\\x{:02x}", code_point);
      } else if (code_point < 0x80 || go_is_print(code_point)) {
        out += bytes.substr(at, decoded->length);
      } else if (code_point < 0x10000) {
        out += fmt::format("\\u{:04x}", code_point);
      } else {
        out += fmt::format("\\U{:08x}", code_point);
      }
    }
    at += decoded->length;
  }
  return out;
}

std::string sqlite_value(std::string_view storage_class, std::string_view text) {
  return fmt::format("{}:{}", storage_class, text);
}

std::string copy_unescape(const std::string& text) {
  std::string out;
  for (std::size_t index = 0; index < text.size(); ++index) {
    if (text[index] == '\\' && index + 1 < text.size()) {
      ++index;
    }
    out.push_back(text[index]);
  }
  return out;
}

ExpectedValue expected_varchar(const std::string& loaded, std::uint32_t width) {
  if (loaded.empty()) {
    return std::nullopt; // EMPTYASNULL
  }
  // ACCEPTINVCHARS: a byte that does not start a valid character is an invalid character's
  // byte (the rest of an ill-formed sequence are continuation bytes, which start nothing), and
  // a noncharacter is replaced whole: either way one '?' per byte.
  std::string repaired;
  std::vector<std::size_t> character_sizes;
  std::size_t at = 0;
  while (at < loaded.size()) {
    const auto decoded = decode_utf8(loaded, at);
    if (!decoded || is_noncharacter(decoded->code_point)) {
      const std::size_t length = decoded ? decoded->length : 1;
      repaired.append(length, '?');
      character_sizes.insert(character_sizes.end(), length, 1);
      at += length;
      continue;
    }
    repaired += loaded.substr(at, decoded->length);
    character_sizes.push_back(decoded->length);
    at += decoded->length;
  }
  // TRIMBLANKS: trailing white space (ASCII, one byte per character).
  while (!repaired.empty() && is_ascii_white_space(repaired.back())) {
    repaired.pop_back();
    character_sizes.pop_back();
  }
  // TRUNCATECOLUMNS: whole characters while they fit in `width` bytes.
  std::size_t kept = 0;
  for (const std::size_t size : character_sizes) {
    if (kept + size > width) {
      break;
    }
    kept += size;
  }
  return repaired.substr(0, kept);
}

ExpectedValue expected_char(const std::string& loaded, std::uint32_t width) {
  if (loaded.empty()) {
    return std::nullopt; // EMPTYASNULL
  }
  std::string stored = loaded.substr(0, width); // TRUNCATECOLUMNS: bytes, all ASCII here.
  stored.resize(width, ' ');
  return stored;
}

SpadeFile SpadeGenerator::make_file(std::span<const ColumnSpec> columns, std::int64_t first_id,
                                    int row_count) {
  if (columns.empty() || columns.front().kind != ColumnKind::bigint) {
    throw std::logic_error("spade generator: the first column must be the bigint row id");
  }
  SpadeFile file;
  for (int row = 0; row < row_count; ++row) {
    const std::int64_t id = first_id + row;
    ExpectedRow expected{std::to_string(id)};
    ExpectedRow stored{sqlite_value("integer", std::to_string(id))};
    std::string line = chance(50) ? in_quotes(std::to_string(id)) : std::to_string(id);
    // FILLRECORD: some rows stop early; the columns after the last written one are NULL.
    std::size_t written = columns.size();
    if (columns.size() > 1 && chance(12)) {
      written = 1 + static_cast<std::size_t>(pick(static_cast<int>(columns.size()) - 1));
    }
    for (std::size_t index = 1; index < columns.size(); ++index) {
      if (index >= written) {
        expected.emplace_back(std::nullopt);
        stored.emplace_back(std::nullopt);
        continue;
      }
      Cell cell = make_cell(columns[index]);
      line += '\t';
      line += cell.written;
      expected.push_back(std::move(cell.expected));
      stored.push_back(std::move(cell.sqlite));
    }
    file.text += line;
    // The last line of a file may end without a newline.
    if (row + 1 < row_count || chance(70)) {
      file.text += '\n';
    }
    file.rows.push_back(std::move(expected));
    file.sqlite_rows.push_back(std::move(stored));
  }
  // Some files are several gzip members, cut anywhere (inside a record, a value, an escape or
  // a UTF-8 sequence), as a writer that appends members does; they read as one stream.
  std::vector<std::size_t> cuts{0, file.text.size()};
  if (file.text.size() > 2 && chance(25)) {
    for (int extra = 1 + pick(2); extra > 0; --extra) {
      cuts.push_back(static_cast<std::size_t>(pick(static_cast<int>(file.text.size()))));
    }
    std::sort(cuts.begin(), cuts.end());
  }
  for (std::size_t index = 0; index + 1 < cuts.size(); ++index) {
    auto member =
        gzip(std::string_view(file.text).substr(cuts[index], cuts[index + 1] - cuts[index]));
    if (!member) {
      throw std::runtime_error(member.error().message);
    }
    file.gzip += *member;
  }
  return file;
}

SpadeGenerator::Cell SpadeGenerator::make_cell(const ColumnSpec& column) {
  // NULL however it is spelled, for any type: the NULL AS marker, or an empty field.
  static constexpr std::array<std::string_view, 3> k_null_markers{"\\N", "\"\\N\"", "'\\N'"};
  static constexpr std::array<std::string_view, 3> k_empty_fields{"", "\"\"", "''"};
  const int roll = pick(100);
  if (roll < 5) {
    return {std::string(k_null_markers[static_cast<std::size_t>(pick(3))]), std::nullopt,
            std::nullopt};
  }
  if (roll < 10) {
    return {std::string(k_empty_fields[static_cast<std::size_t>(pick(3))]), std::nullopt,
            std::nullopt};
  }
  switch (column.kind) {
  case ColumnKind::varchar:
    return make_string_cell(column);
  case ColumnKind::character:
    return make_char_cell(column);
  case ColumnKind::bigint:
  case ColumnKind::integer:
    return make_integer_cell(column.kind);
  case ColumnKind::double_precision:
    return make_double_cell();
  case ColumnKind::boolean:
    return make_boolean_cell();
  case ColumnKind::timestamp:
  case ColumnKind::date:
    return make_time_cell(column.kind);
  }
  throw std::logic_error("spade generator: unknown column kind");
}

std::string SpadeGenerator::spell(std::string text) {
  if (chance(10)) {
    text = (chance(50) ? " " : "  ") + text + (chance(50) ? " " : "");
  }
  if (!chance(60)) {
    return text;
  }
  return in_quotes(text, chance(25) ? '\'' : '"');
}

std::string SpadeGenerator::make_logical_string(std::uint32_t width) {
  // Pieces of text, weighted towards plain letters; `incomplete` ones end in a cut-off
  // sequence that the next piece must not complete (a continuation byte would).
  struct Piece {
    std::string_view bytes;
    bool incomplete = false;
  };
  static constexpr std::array<Piece, 27> k_pieces{{
      {"a"},
      {"b"},
      {"spade"},
      {"x"},
      {"Q"},
      {"7"},
      {" "},
      {"   "},
      {"\""},
      {"'"},
      {"\\"},
      {"\t"},
      {"\n"},
      {"\r"},
      {"\v"},
      {"\xC3\xA9"},         // é
      {"\xE6\x97\xA5"},     // 日
      {"\xF0\x9F\x98\x80"}, // 😀
      {"\xC2\x85"},         // U+0085: valid, a control character to Go
      {"\xFF"},             // never valid
      {"\xC3", true},       // a 2-byte lead alone
      {"\xE2\x82", true},   // a 3-byte sequence cut short
      {"\xC0\xAF"},         // overlong '/'
      {"\xED\xA0\x80"},     // a surrogate
      {"\xF4\x90\x80\x80"}, // past U+10FFFF
      {"\xEF\xB7\x90"},     // U+FDD0, a noncharacter
      {"\xEF\xBF\xBE"},     // U+FFFE, a noncharacter
  }};
  std::size_t target = static_cast<std::size_t>(pick(static_cast<int>(width) + 1));
  if (chance(15)) { // TRUNCATECOLUMNS: longer than the column.
    target = width + 1 + static_cast<std::size_t>(pick(static_cast<int>(width) + 8));
  }
  std::string out;
  bool after_incomplete = false;
  while (out.size() < target) {
    if (after_incomplete) {
      out += 'z';
      after_incomplete = false;
      continue;
    }
    // Half of the pieces are plain letters so that values read like text.
    const Piece& piece = chance(50) ? k_pieces[static_cast<std::size_t>(pick(6))]
                                    : k_pieces[static_cast<std::size_t>(pick(k_pieces.size()))];
    out += piece.bytes;
    after_incomplete = piece.incomplete;
  }
  if (chance(5)) { // Only Spade's quoting can carry a NUL byte (as \x00).
    out.insert(static_cast<std::size_t>(pick(static_cast<int>(out.size()) + 1)), 1, '\0');
  }
  return out;
}

std::string SpadeGenerator::make_ascii_string(std::uint32_t width) {
  static constexpr std::array<std::string_view, 17> k_pieces{
      "a", "b",  "spade", "x",  "Q",  "7",  " ",    "   ", "\"",
      "'", "\\", "\t",    "\n", "\r", "\v", "\x7F", "\x01"};
  std::size_t target = static_cast<std::size_t>(pick(static_cast<int>(width) + 1));
  if (chance(15)) { // TRUNCATECOLUMNS: longer than the column.
    target = width + 1 + static_cast<std::size_t>(pick(static_cast<int>(width) + 4));
  }
  std::string out;
  while (out.size() < target) {
    out += chance(50) ? k_pieces[static_cast<std::size_t>(pick(6))]
                      : k_pieces[static_cast<std::size_t>(pick(k_pieces.size()))];
  }
  if (chance(5)) { // Only Spade's quoting can carry a NUL byte (as \x00).
    out.insert(static_cast<std::size_t>(pick(static_cast<int>(out.size()) + 1)), 1, '\0');
  }
  return out;
}

std::pair<std::string, std::string> SpadeGenerator::write_string(const std::string& logical) {
  const int roll = pick(100);
  if (roll < 45 || logical.find('\0') != std::string::npos) { // Only Spade's quoting carries NUL.
    const std::string unquoted = go_quote_body(logical);
    return {in_quotes(unquoted), unquoted};
  }
  if (roll < 75) {
    std::string unquoted = bare_escape(logical, chance(50));
    return {unquoted, unquoted};
  }
  const char quote = roll < 90 ? '"' : '\'';
  const std::string unquoted = quoted_escape(logical, quote);
  return {in_quotes(unquoted, quote), unquoted};
}

SpadeGenerator::Cell SpadeGenerator::make_string_cell(const ColumnSpec& column) {
  const std::string logical = chance(3) ? "\\N" : make_logical_string(column.width);
  auto [written, unquoted] = write_string(logical);
  // REMOVEQUOTES has taken the quotes off `unquoted`; then the NULL marker, then ESCAPE.
  if (is_null_marker(unquoted)) {
    return {written, std::nullopt, std::nullopt};
  }
  ExpectedValue expected = expected_varchar(copy_unescape(unquoted), column.width);
  ExpectedValue stored = expected ? ExpectedValue(sqlite_value("text", *expected)) : std::nullopt;
  return {written, std::move(expected), std::move(stored)};
}

SpadeGenerator::Cell SpadeGenerator::make_char_cell(const ColumnSpec& column) {
  const std::string logical = chance(3) ? "\\N" : make_ascii_string(column.width);
  auto [written, unquoted] = write_string(logical);
  if (is_null_marker(unquoted)) {
    return {written, std::nullopt, std::nullopt};
  }
  const ExpectedValue stored = expected_char(copy_unescape(unquoted), column.width);
  if (!stored) {
    return {written, std::nullopt, std::nullopt};
  }
  // PostgreSQL's text form of a CHAR(n) value drops its trailing blanks (spaces only).
  const auto kept = stored->find_last_not_of(' ');
  std::string text = kept == std::string::npos ? "" : stored->substr(0, kept + 1);
  return {written, std::move(text), sqlite_value("text", *stored)};
}

SpadeGenerator::Cell SpadeGenerator::make_integer_cell(ColumnKind kind) {
  if (chance(4)) {
    return {spell("   "), std::nullopt, std::nullopt}; // Blank: NULL for a non-character type.
  }
  std::int64_t value = 0;
  if (kind == ColumnKind::bigint) {
    static constexpr std::array<std::int64_t, 4> k_edges{
        std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(), 0, -1};
    value = chance(15) ? k_edges[static_cast<std::size_t>(pick(4))]
                       : static_cast<std::int64_t>(m_rng()) * (chance(50) ? 1 : -977);
  } else {
    static constexpr std::array<std::int64_t, 3> k_edges{
        std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max(), 0};
    value = chance(15) ? k_edges[static_cast<std::size_t>(pick(3))] : pick(2'000'001) - 1'000'000;
  }
  const bool negative = value < 0;
  // The magnitude's digits without going through -value (which overflows at the minimum).
  std::string digits = std::to_string(value);
  if (negative) {
    digits.erase(0, 1);
  }
  if (chance(10)) {
    digits = std::string(static_cast<std::size_t>(1 + pick(3)), '0') + digits;
  }
  const std::string sign = negative ? "-" : (chance(10) ? "+" : "");
  return {spell(sign + digits), std::to_string(value),
          sqlite_value("integer", std::to_string(value))};
}

SpadeGenerator::Cell SpadeGenerator::make_double_cell() {
  if (chance(4)) {
    return {spell(" "), std::nullopt, std::nullopt};
  }
  if (chance(6)) {
    // SQLite would store a NaN REAL as NULL, so the warehouse keeps the text; the infinities
    // are REALs, which SQLite prints as "Inf".
    static constexpr std::array<std::string_view, 3> k_specials{"NaN", "Infinity", "-Infinity"};
    static constexpr std::array<std::string_view, 3> k_sqlite_specials{"text:NaN", "real:Inf",
                                                                       "real:-Inf"};
    const auto special_index = static_cast<std::size_t>(pick(3));
    const std::string special(k_specials[special_index]);
    return {spell(special), special, std::string(k_sqlite_specials[special_index])};
  }
  // Multiples of 1/4: exact in binary, so the stored double and its text are known exactly.
  const std::int64_t quarters = pick(800'001) - 400'000;
  const std::int64_t hundredths = quarters * 25;
  const bool negative = hundredths < 0;
  const std::int64_t magnitude = negative ? -hundredths : hundredths;
  std::string text;
  switch (pick(4)) {
  case 0: // Fixed, two fraction digits: "12.50", and "0.25" also as ".25".
    text = fmt::format("{}.{:02}", magnitude / 100, magnitude % 100);
    if (magnitude < 100 && chance(50)) {
      text.erase(0, 1);
    }
    break;
  case 1: // An integer and an exponent: "1250E-2".
    text = fmt::format("{}{}-2", magnitude, chance(50) ? 'E' : 'e');
    break;
  case 2: { // Scientific: "1.25E1", "2.5e-1".
    const std::string digits = std::to_string(magnitude);
    const std::string fraction = digits.size() > 1 ? "." + digits.substr(1) : ".0";
    const int exponent = magnitude == 0 ? 0 : static_cast<int>(digits.size()) - 3;
    text = fmt::format("{}{}{}{}", digits.front(), fraction, chance(50) ? 'E' : 'e', exponent);
    break;
  }
  default: // The shortest text, with a point only when there is a fraction ("12" also as "12.").
    text = quarter_text(magnitude / 25);
    if (text.find('.') == std::string::npos && chance(30)) {
      text += '.';
    }
    break;
  }
  const std::string sign = negative ? "-" : (chance(10) ? "+" : "");
  return {spell(sign + text), quarter_text(quarters),
          sqlite_value("real", quarter_text_sqlite(quarters))};
}

SpadeGenerator::Cell SpadeGenerator::make_boolean_cell() {
  const bool value = chance(50);
  const auto& spellings = value ? k_true_spellings : k_false_spellings;
  std::string text(spellings[static_cast<std::size_t>(pick(spellings.size()))]);
  for (char& ch : text) {
    if (ch >= 'a' && ch <= 'z' && chance(30)) {
      ch = static_cast<char>(ch - 'a' + 'A');
    }
  }
  return {spell(text), value ? "true" : "false", sqlite_value("integer", value ? "1" : "0")};
}

SpadeGenerator::Cell SpadeGenerator::make_time_cell(ColumnKind kind) {
  int year = 1990 + pick(41);
  int month = 1 + pick(12);
  int day = 1 + pick(days_in_month(year, month));
  if (chance(5)) {
    year = 2016;
    month = 2;
    day = 29;
  }
  const int hour = pick(24);
  const int minute = pick(60);
  const int second = pick(60);
  std::string fraction = std::to_string(pick(1'000'000));
  fraction = std::string(6 - fraction.size(), '0') + fraction;
  fraction.resize(static_cast<std::size_t>(pick(7))); // 0 to 6 digits, trailing zeros kept.
  const std::string date = fmt::format("{:04}-{:02}-{:02}", year, month, day);
  std::string time = fmt::format("{:02}:{:02}:{:02}", hour, minute, second);
  if (!fraction.empty()) {
    time += "." + fraction;
  }
  if (kind == ColumnKind::date) {
    // The time after a date is accepted and ignored.
    return {spell(chance(30) ? date + " " + time : date), date, sqlite_value("text", date)};
  }
  // PostgreSQL prints the fraction without trailing zeros, and none when it is zero.
  std::string shown_fraction = fraction;
  while (!shown_fraction.empty() && shown_fraction.back() == '0') {
    shown_fraction.pop_back();
  }
  const std::string expected = fmt::format("{} {:02}:{:02}:{:02}{}", date, hour, minute, second,
                                           shown_fraction.empty() ? "" : "." + shown_fraction);
  // SQLite keeps the text that was read (blanks around it ignored), fraction digits as written.
  return {spell(date + " " + time), expected, sqlite_value("text", date + " " + time)};
}

} // namespace rsi::test::spade
