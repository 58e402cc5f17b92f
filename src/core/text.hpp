#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace rsi::core {

// One code point decoded from UTF-8 text.
struct DecodedCodePoint {
  char32_t code_point = 0;
  std::size_t size_bytes = 0; // 1 to 4.
};

// Decode the code point that starts at byte `offset` of `text`, or nullopt when the bytes there
// are not well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF,
// no truncated sequence). `offset` must be less than `text.size()`.
std::optional<DecodedCodePoint> decode_utf8(std::string_view text, std::size_t offset);

// The byte offset of the first ill-formed UTF-8 sequence in `text`, or nullopt when it is valid.
std::optional<std::size_t> find_invalid_utf8(std::string_view text);

// True for C0 controls (U+0000-U+001F), DEL (U+007F) and C1 controls (U+0080-U+009F).
bool is_control(char32_t code_point);

// `text` made safe to put into an error message or log line: `"` and `\` are backslash-escaped
// and every byte outside printable ASCII becomes `\xNN` (so control characters, invalid UTF-8
// and look-alike Unicode cannot hide in a message). Text longer than `max_bytes` is cut and
// marked with a trailing `...`.
std::string escape_for_message(std::string_view text, std::size_t max_bytes = 64);

// escape_for_message in double quotes; the `...` of a cut text goes after the closing quote.
std::string quote_for_message(std::string_view text, std::size_t max_bytes = 64);

// "U+00E9" for `code_point`.
std::string format_code_point(char32_t code_point);

// The value of a hexadecimal digit (either case), or -1.
int hex_digit(char c);

// `text` with its %XX escapes decoded (and '+' as a space when `plus_is_space`: URL queries, S3's
// event notification keys); nullopt for a broken escape ('%' not followed by two hex digits).
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

} // namespace rsi::core
