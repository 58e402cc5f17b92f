#include "http/time_format.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <ctime>
#include <string>

namespace rsi::http {
namespace {

bool parse_digits(std::string_view text, std::size_t offset, std::size_t count, int& value) {
  if (offset + count > text.size()) {
    return false;
  }
  const char* begin = text.data() + offset;
  const auto [end, ec] = std::from_chars(begin, begin + count, value);
  return ec == std::errc{} && end == begin + count;
}

std::optional<TimePoint> from_utc(std::tm& tm, int offset_seconds) {
  const std::time_t seconds = timegm(&tm);
  if (seconds == static_cast<std::time_t>(-1)) {
    return std::nullopt;
  }
  return TimePoint(std::chrono::seconds(seconds - offset_seconds));
}

} // namespace

std::optional<TimePoint> parse_iso8601(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  std::tm tm{};
  if (!parse_digits(text, 0, 4, tm.tm_year) || text.size() < 20 || text[4] != '-' ||
      !parse_digits(text, 5, 2, tm.tm_mon) || text[7] != '-' ||
      !parse_digits(text, 8, 2, tm.tm_mday) || (text[10] != 'T' && text[10] != ' ') ||
      !parse_digits(text, 11, 2, tm.tm_hour) || text[13] != ':' ||
      !parse_digits(text, 14, 2, tm.tm_min) || text[16] != ':' ||
      !parse_digits(text, 17, 2, tm.tm_sec)) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])) != 0) {
      ++pos; // Credentials expire on whole seconds; the fraction does not matter.
    }
  }
  int offset_seconds = 0;
  const std::string_view zone = text.substr(pos);
  if (zone == "Z" || zone == "z") {
    offset_seconds = 0;
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int hours = 0;
    int minutes = 0;
    if (!parse_digits(zone, 1, 2, hours) || !parse_digits(zone, 4, 2, minutes)) {
      return std::nullopt;
    }
    offset_seconds = (hours * 3600 + minutes * 60) * (zone[0] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }
  return from_utc(tm, offset_seconds);
}

std::optional<TimePoint> parse_http_date(std::string_view text) {
  // "Wed, 12 Oct 2009 17:50:00 GMT": fixed positions after the day name.
  static constexpr std::array<std::string_view, 12> k_months = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto comma = text.find(", ");
  if (comma == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view rest = text.substr(comma + 2);
  std::tm tm{};
  if (rest.size() != 24 || !parse_digits(rest, 0, 2, tm.tm_mday) || rest[2] != ' ' ||
      rest[6] != ' ' || !parse_digits(rest, 7, 4, tm.tm_year) || rest[11] != ' ' ||
      !parse_digits(rest, 12, 2, tm.tm_hour) || rest[14] != ':' ||
      !parse_digits(rest, 15, 2, tm.tm_min) || rest[17] != ':' ||
      !parse_digits(rest, 18, 2, tm.tm_sec) || rest.substr(20) != " GMT") {
    return std::nullopt;
  }
  const auto month = std::find(k_months.begin(), k_months.end(), rest.substr(3, 3));
  if (month == k_months.end()) {
    return std::nullopt;
  }
  tm.tm_mon = static_cast<int>(month - k_months.begin());
  tm.tm_year -= 1900;
  return from_utc(tm, 0);
}

} // namespace rsi::http
