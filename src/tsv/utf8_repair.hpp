#pragma once

#include <cstddef>
#include <span>

namespace rsi::tsv {

// ACCEPTINVCHARS: replaces, in place, every invalid UTF-8 character of `text` by a string of
// equal length made of `replacement`, and returns how many characters it replaced. Invalid
// means ill-formed UTF-8 (stray continuation bytes, truncated sequences, overlong forms,
// surrogates, code points past U+10FFFF, bytes C0, C1, F5..FF), where an ill-formed sequence
// is cut into characters as the longest prefixes that could have started a valid one (the
// Unicode "maximal subpart" practice), plus the noncharacters that Redshift lists as valid
// UTF-8 but invalid characters: U+FDD0..U+FDEF and every code point ending in FFFE or FFFF.
std::size_t replace_invalid_characters(std::span<char> text, char replacement);

} // namespace rsi::tsv
