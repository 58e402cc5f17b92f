#pragma once

#include <string>
#include <string_view>

namespace rsi {

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view text);

// `text` with each byte of every invalid sequence replaced by `replacement`, so that it can go
// into a UTF-8 database column or a log line.
std::string replace_invalid_utf8(std::string_view text, char replacement = '?');

// Length in bytes of the valid UTF-8 sequence starting at `text[0]`, or 0 when it is invalid.
std::size_t utf8_sequence_length(std::string_view text);

} // namespace rsi
