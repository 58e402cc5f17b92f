#include "common/utf8.hpp"

namespace rsi {
namespace {

bool continuation(unsigned char byte) { return (byte & 0xC0U) == 0x80U; }

} // namespace

std::size_t utf8_sequence_length(std::string_view text) {
  if (text.empty()) {
    return 0;
  }
  const auto lead = static_cast<unsigned char>(text[0]);
  if (lead < 0x80U) {
    return 1;
  }
  std::size_t length = 0;
  unsigned char min_second = 0x80U;
  unsigned char max_second = 0xBFU;
  if (lead >= 0xC2U && lead <= 0xDFU) {
    length = 2;
  } else if (lead >= 0xE0U && lead <= 0xEFU) {
    length = 3;
    if (lead == 0xE0U) {
      min_second = 0xA0U; // overlong
    } else if (lead == 0xEDU) {
      max_second = 0x9FU; // surrogates
    }
  } else if (lead >= 0xF0U && lead <= 0xF4U) {
    length = 4;
    if (lead == 0xF0U) {
      min_second = 0x90U; // overlong
    } else if (lead == 0xF4U) {
      max_second = 0x8FU; // past U+10FFFF
    }
  } else {
    return 0;
  }
  if (text.size() < length) {
    return 0;
  }
  const auto second = static_cast<unsigned char>(text[1]);
  if (second < min_second || second > max_second) {
    return 0;
  }
  for (std::size_t index = 2; index < length; ++index) {
    if (!continuation(static_cast<unsigned char>(text[index]))) {
      return 0;
    }
  }
  return length;
}

bool is_valid_utf8(std::string_view text) {
  while (!text.empty()) {
    const std::size_t length = utf8_sequence_length(text);
    if (length == 0) {
      return false;
    }
    text.remove_prefix(length);
  }
  return true;
}

std::string replace_invalid_utf8(std::string_view text, char replacement) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const std::size_t length = utf8_sequence_length(text);
    if (length == 0) {
      out.push_back(replacement);
      text.remove_prefix(1);
    } else {
      out.append(text.substr(0, length));
      text.remove_prefix(length);
    }
  }
  return out;
}

} // namespace rsi
