#include "tsv/utf8_repair.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace rsi::tsv {
namespace {

struct Lead {
  std::size_t length = 0; // Bytes of the sequence this byte starts; 0 for no valid start.
  unsigned char min_second = 0x80;
  unsigned char max_second = 0xBF;
};

// Well-formed UTF-8 (Unicode Table 3-7): the second byte's range depends on the lead byte.
Lead lead_of(unsigned char byte) {
  if (byte >= 0xC2 && byte <= 0xDF) {
    return {2};
  }
  if (byte == 0xE0) {
    return {3, 0xA0, 0xBF};
  }
  if (byte == 0xED) {
    return {3, 0x80, 0x9F}; // Excludes surrogates.
  }
  if (byte >= 0xE1 && byte <= 0xEF) {
    return {3};
  }
  if (byte == 0xF0) {
    return {4, 0x90, 0xBF};
  }
  if (byte == 0xF4) {
    return {4, 0x80, 0x8F}; // Stops at U+10FFFF.
  }
  if (byte >= 0xF1 && byte <= 0xF3) {
    return {4};
  }
  return {};
}

bool continuation(unsigned char byte) { return byte >= 0x80 && byte <= 0xBF; }

bool noncharacter(std::uint32_t code_point) {
  return (code_point >= 0xFDD0 && code_point <= 0xFDEF) || (code_point & 0xFFFEU) == 0xFFFEU;
}

// Length of the character at `bytes[0]` and whether it is valid. An invalid character is the
// maximal subpart of an ill-formed sequence (at least one byte).
struct Character {
  std::size_t length = 1;
  bool valid = false;
};

Character next_character(const unsigned char* bytes, std::size_t available) {
  const Lead lead = lead_of(bytes[0]);
  if (lead.length == 0) {
    return {};
  }
  std::size_t length = 1;
  while (length < lead.length && length < available) {
    const unsigned char byte = bytes[length];
    const bool fits =
        length == 1 ? byte >= lead.min_second && byte <= lead.max_second : continuation(byte);
    if (!fits) {
      break;
    }
    ++length;
  }
  if (length < lead.length) {
    return {length, false};
  }
  std::uint32_t code_point = bytes[0] & (0x7FU >> lead.length);
  for (std::size_t index = 1; index < length; ++index) {
    code_point = (code_point << 6) | (bytes[index] & 0x3FU);
  }
  return {length, !noncharacter(code_point)};
}

bool all_ascii(const unsigned char* bytes) {
  std::uint64_t word = 0;
  std::memcpy(&word, bytes, sizeof(word));
  return (word & 0x8080808080808080ULL) == 0;
}

} // namespace

std::size_t replace_invalid_characters(std::span<char> text, char replacement) {
  auto* const bytes = reinterpret_cast<unsigned char*>(text.data());
  const std::size_t size = text.size();
  std::size_t replaced = 0;
  std::size_t index = 0;
  while (index < size) {
    if (size - index >= 8 && all_ascii(bytes + index)) {
      index += 8;
      continue;
    }
    if (bytes[index] < 0x80) {
      ++index;
      continue;
    }
    const Character character = next_character(bytes + index, size - index);
    if (!character.valid) {
      std::fill_n(text.data() + index, character.length, replacement);
      ++replaced;
    }
    index += character.length;
  }
  return replaced;
}

} // namespace rsi::tsv
