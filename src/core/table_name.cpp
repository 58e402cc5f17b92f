// Identifier rules. The reasoning behind each decision is in docs/table-names.md.

#include "core/table_name.hpp"

#include <string>

#include <fmt/format.h>

#include "core/text.hpp"

namespace rsi::core {
namespace {

constexpr std::string_view k_table_name_alphabet =
    "only ASCII letters, digits, '_' and '-' are allowed";

bool is_ascii_letter(char32_t code_point) {
  return (code_point >= U'a' && code_point <= U'z') || (code_point >= U'A' && code_point <= U'Z');
}

bool is_ascii_digit(char32_t code_point) { return code_point >= U'0' && code_point <= U'9'; }

// How a rejected ASCII character reads in a message: ' ' is invisible when quoted alone.
std::string describe_ascii(char32_t code_point) {
  if (code_point == U' ') {
    return "a space";
  }
  return fmt::format("'{}'", static_cast<char>(code_point));
}

std::unexpected<Error> invalid(std::string_view what, std::string_view name,
                               std::string_view cause) {
  return fail(ErrorKind::permanent,
              fmt::format("invalid {} {}: {}", what, quote_for_message(name), cause));
}

// The checks both rules share (length, UTF-8, control characters), with `visit(code_point,
// offset)` adding a rule's own check per character. The first problem in byte order wins.
template <class Visit>
Result<void> check_identifier(std::string_view what, std::string_view name, Visit visit) {
  if (name.empty()) {
    return fail(ErrorKind::permanent, fmt::format("invalid {}: empty", what));
  }
  if (name.size() > k_max_identifier_bytes) {
    return invalid(
        what, name,
        fmt::format("{} bytes long; the limit is {} bytes", name.size(), k_max_identifier_bytes));
  }
  std::size_t offset = 0;
  while (offset < name.size()) {
    const auto decoded = decode_utf8(name, offset);
    if (!decoded) {
      return invalid(what, name,
                     fmt::format("not valid UTF-8 at byte {} (0x{:02X})", offset,
                                 static_cast<unsigned char>(name[offset])));
    }
    if (is_control(decoded->code_point)) {
      return invalid(what, name,
                     fmt::format("control character {} at byte {}",
                                 format_code_point(decoded->code_point), offset));
    }
    RSI_TRY(visit(decoded->code_point, offset));
    offset += decoded->size_bytes;
  }
  return {};
}

} // namespace

Result<void> validate_table_name(std::string_view name) {
  constexpr std::string_view what = "table name";
  return check_identifier(what, name, [&](char32_t code_point, std::size_t offset) -> Result<void> {
    if (code_point >= 0x80U) {
      return invalid(what, name,
                     fmt::format("non-ASCII character {} at byte {}; {}",
                                 format_code_point(code_point), offset, k_table_name_alphabet));
    }
    const bool letter_or_underscore = is_ascii_letter(code_point) || code_point == U'_';
    if (!letter_or_underscore && !is_ascii_digit(code_point) && code_point != U'-') {
      return invalid(what, name,
                     fmt::format("{} at byte {}; {}", describe_ascii(code_point), offset,
                                 k_table_name_alphabet));
    }
    if (offset == 0 && !letter_or_underscore) {
      return invalid(what, name,
                     fmt::format("starts with {}; the first character must be an ASCII "
                                 "letter or '_'",
                                 describe_ascii(code_point)));
    }
    return {};
  });
}

Result<void> validate_column_name(std::string_view name) {
  constexpr std::string_view what = "column name";
  return check_identifier(what, name, [&](char32_t code_point, std::size_t offset) -> Result<void> {
    if (code_point == U'"') {
      return invalid(what, name, fmt::format("'\"' at byte {}", offset));
    }
    return {};
  });
}

} // namespace rsi::core
