#pragma once

// Dates and times as COPY's default DATEFORMAT and TIMEFORMAT read them ("YYYY-MM-DD",
// "HH:MI:SS[.f{1,6}]"), checked and turned into days and microseconds in one go. Inline: the
// reader's conversion loop (field_converter.cpp) calls them for every timestamp and date.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace rsi::tsv::date_time {

inline constexpr std::int64_t k_micros_per_second = 1'000'000;

inline bool is_digit(char ch) { return static_cast<unsigned char>(ch - '0') < 10; }

// Reads the `count` digits at `text[pos]` (the caller checked the size).
inline bool read_digits(std::string_view text, std::size_t pos, std::size_t count, int& value) {
  value = 0;
  for (std::size_t index = pos; index < pos + count; ++index) {
    if (!is_digit(text[index])) {
      return false;
    }
    value = value * 10 + (text[index] - '0');
  }
  return true;
}

inline int days_in_month(int year, int month) {
  static constexpr std::array<int, 12> k_days{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : k_days[static_cast<std::size_t>(month - 1)];
}

// Days from 1970-01-01 to a valid civil date (Howard Hinnant's days_from_civil).
inline std::int64_t days_from_civil(int year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const int era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const auto shifted_month = static_cast<unsigned>(month > 2 ? month - 3 : month + 9);
  const unsigned day_of_year = (153 * shifted_month + 2) / 5 + static_cast<unsigned>(day) - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

// Eight bytes of text checked at once: a pattern has a digit mask (0xFF at each byte that must
// be '0'..'9') and the literal bytes elsewhere, byte i of the text in bits 8i..8i+7.
struct Pattern8 {
  std::uint64_t digits = 0;
  std::uint64_t literal = 0;
};

// "YYYY-MM-" and the like: a letter stands for a digit, anything else for itself.
constexpr Pattern8 pattern8(const char (&text)[9]) {
  Pattern8 pattern;
  for (std::size_t index = 0; index < 8; ++index) {
    const auto byte = static_cast<unsigned char>(text[index]);
    if (byte >= 'A' && byte <= 'Z') {
      pattern.digits |= std::uint64_t{0xFF} << (8 * index);
      pattern.literal |= std::uint64_t{'0'} << (8 * index);
    } else {
      pattern.literal |= std::uint64_t{byte} << (8 * index);
    }
  }
  return pattern;
}

// `text[pos, pos + 8)` (the caller checked the size) against `pattern`: true when it matches,
// with each digit's value in its byte of `values`.
inline bool match8(std::string_view text, std::size_t pos, Pattern8 pattern,
                   std::uint64_t& values) {
  std::uint64_t bytes = 0;
  std::memcpy(&bytes, text.data() + pos, sizeof(bytes));
  if constexpr (std::endian::native == std::endian::big) {
    bytes = std::byteswap(bytes);
  }
  const std::uint64_t x = bytes ^ pattern.literal; // Digits now 0..9, the literals 0.
  constexpr std::uint64_t k_high_bits = 0x8080808080808080;
  constexpr std::uint64_t k_over_nine = 0x7676767676767676; // Adding it sets the top bit of >= 10.
  if ((x & ~pattern.digits) != 0 || (((x + k_over_nine) | x) & k_high_bits & pattern.digits) != 0) {
    return false;
  }
  values = x;
  return true;
}

inline int digit_at(std::uint64_t values, std::size_t index) {
  return static_cast<int>((values >> (8 * index)) & 0xFFU);
}

// YYYY-MM-DD at the start of `text`: its days since 1970-01-01. Two overlapping 8-byte checks,
// "YYYY-MM-" and "YY-MM-DD".
[[gnu::always_inline]] inline bool read_date(std::string_view text, std::int64_t& days) {
  static constexpr Pattern8 k_head = pattern8("YYYY-MM-");
  static constexpr Pattern8 k_tail = pattern8("YY-MM-DD");
  std::uint64_t head = 0;
  std::uint64_t tail = 0;
  if (text.size() < 10 || !match8(text, 0, k_head, head) || !match8(text, 2, k_tail, tail)) {
    return false;
  }
  const int year = digit_at(head, 0) * 1000 + digit_at(head, 1) * 100 + digit_at(head, 2) * 10 +
                   digit_at(head, 3);
  const int month = digit_at(head, 5) * 10 + digit_at(head, 6);
  const int day = digit_at(tail, 6) * 10 + digit_at(tail, 7);
  if (!(year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= days_in_month(year, month))) {
    return false;
  }
  days = days_from_civil(year, month, day);
  return true;
}

// HH:MI:SS[.f{1,6}] filling all of `text`: its microseconds since midnight.
inline bool read_time(std::string_view text, std::int64_t& micros) {
  static constexpr Pattern8 k_time = pattern8("HH:MM:SS");
  std::uint64_t time = 0;
  if (text.size() < 8 || !match8(text, 0, k_time, time)) {
    return false;
  }
  const int hour = digit_at(time, 0) * 10 + digit_at(time, 1);
  const int minute = digit_at(time, 3) * 10 + digit_at(time, 4);
  const int second = digit_at(time, 6) * 10 + digit_at(time, 7);
  if (hour > 23 || minute > 59 || second > 59) {
    return false;
  }
  micros = ((hour * 60 + minute) * 60 + second) * k_micros_per_second;
  if (text.size() == 8) {
    return true;
  }
  const std::size_t digits = text.size() - 9;
  int fraction = 0;
  if (text[8] != '.' || digits == 0 || digits > 6 || !read_digits(text, 9, digits, fraction)) {
    return false;
  }
  for (std::size_t pad = digits; pad < 6; ++pad) {
    fraction *= 10;
  }
  micros += fraction;
  return true;
}

} // namespace rsi::tsv::date_time
