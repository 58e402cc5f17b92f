#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace rsi {

// ASCII white space as the C locale's isspace: space, \t, \n, \v, \f, \r.
constexpr bool is_ascii_space(char ch) { return ch == ' ' || (ch >= '\t' && ch <= '\r'); }

// `text` without leading and trailing ASCII white space.
constexpr std::string_view trim_ascii_space(std::string_view text) {
  while (!text.empty() && is_ascii_space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_ascii_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

constexpr char to_ascii_lower(char ch) {
  return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch;
}

constexpr char to_ascii_upper(char ch) {
  return ch >= 'a' && ch <= 'z' ? static_cast<char>(ch - 'a' + 'A') : ch;
}

// `text` with ASCII letters lowered (keywords, header names, host names); other bytes as they are.
inline std::string to_ascii_lower(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(), [](char ch) { return to_ascii_lower(ch); });
  return out;
}

inline std::string to_ascii_upper(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(), [](char ch) { return to_ascii_upper(ch); });
  return out;
}

// Equal ignoring ASCII case (HTTP header names, SQL identifiers folded by the warehouse).
constexpr bool iequals_ascii(std::string_view left, std::string_view right) {
  return left.size() == right.size() &&
         std::equal(left.begin(), left.end(), right.begin(),
                    [](char lhs, char rhs) { return to_ascii_lower(lhs) == to_ascii_lower(rhs); });
}

} // namespace rsi
