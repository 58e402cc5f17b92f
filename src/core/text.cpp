#include "core/text.hpp"

#include <cstdint>

#include <fmt/format.h>

namespace rsi::core {
namespace {

constexpr std::size_t k_max_code_point_bytes = 4;

bool is_continuation(unsigned char byte) { return (byte & 0xC0U) == 0x80U; }

std::string escape_bytes(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (const char character : text) {
    const auto byte = static_cast<unsigned char>(character);
    if (character == '"' || character == '\\') {
      escaped += '\\';
      escaped += character;
    } else if (byte < 0x20U || byte >= 0x7FU) {
      escaped += fmt::format("\\x{:02X}", byte);
    } else {
      escaped += character;
    }
  }
  return escaped;
}

} // namespace

std::optional<DecodedCodePoint> decode_utf8(std::string_view text, std::size_t offset) {
  const auto lead = static_cast<unsigned char>(text[offset]);
  if (lead < 0x80U) {
    return DecodedCodePoint{lead, 1};
  }
  // The lead byte fixes the length and the range of the second byte; the narrower second-byte
  // ranges after E0, ED, F0 and F4 exclude overlong forms, surrogates and code points above
  // U+10FFFF (RFC 3629 section 4).
  std::size_t size_bytes = 0;
  unsigned char second_min = 0x80U;
  unsigned char second_max = 0xBFU;
  char32_t code_point = 0;
  if (lead >= 0xC2U && lead <= 0xDFU) {
    size_bytes = 2;
    code_point = lead & 0x1FU;
  } else if (lead >= 0xE0U && lead <= 0xEFU) {
    size_bytes = 3;
    code_point = lead & 0x0FU;
    second_min = lead == 0xE0U ? 0xA0U : 0x80U;
    second_max = lead == 0xEDU ? 0x9FU : 0xBFU;
  } else if (lead >= 0xF0U && lead <= 0xF4U) {
    size_bytes = k_max_code_point_bytes;
    code_point = lead & 0x07U;
    second_min = lead == 0xF0U ? 0x90U : 0x80U;
    second_max = lead == 0xF4U ? 0x8FU : 0xBFU;
  } else {
    return std::nullopt; // A stray continuation byte, C0/C1 (overlong) or F5-FF.
  }
  if (text.size() - offset < size_bytes) {
    return std::nullopt;
  }
  const auto second = static_cast<unsigned char>(text[offset + 1]);
  if (second < second_min || second > second_max) {
    return std::nullopt;
  }
  code_point = (code_point << 6U) | (second & 0x3FU);
  for (std::size_t index = 2; index < size_bytes; ++index) {
    const auto byte = static_cast<unsigned char>(text[offset + index]);
    if (!is_continuation(byte)) {
      return std::nullopt;
    }
    code_point = (code_point << 6U) | (byte & 0x3FU);
  }
  return DecodedCodePoint{code_point, size_bytes};
}

std::optional<std::size_t> find_invalid_utf8(std::string_view text) {
  std::size_t offset = 0;
  while (offset < text.size()) {
    const auto decoded = decode_utf8(text, offset);
    if (!decoded) {
      return offset;
    }
    offset += decoded->size_bytes;
  }
  return std::nullopt;
}

bool is_control(char32_t code_point) {
  return code_point <= 0x1FU || (code_point >= 0x7FU && code_point <= 0x9FU);
}

std::string escape_for_message(std::string_view text, std::size_t max_bytes) {
  if (text.size() > max_bytes) {
    return escape_bytes(text.substr(0, max_bytes)) + "...";
  }
  return escape_bytes(text);
}

std::string quote_for_message(std::string_view text, std::size_t max_bytes) {
  if (text.size() > max_bytes) {
    return "\"" + escape_bytes(text.substr(0, max_bytes)) + "\"...";
  }
  return "\"" + escape_bytes(text) + "\"";
}

std::string format_code_point(char32_t code_point) {
  return fmt::format("U+{:04X}", static_cast<std::uint32_t>(code_point));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t index = 0; index < text.size(); ++index) {
    const char c = text[index];
    if (c == '%') {
      if (index + 2 >= text.size()) {
        return std::nullopt;
      }
      const int high = hex_digit(text[index + 1]);
      const int low = hex_digit(text[index + 2]);
      if (high < 0 || low < 0) {
        return std::nullopt;
      }
      out.push_back(static_cast<char>(high * 16 + low));
      index += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

} // namespace rsi::core
