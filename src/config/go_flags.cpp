#include "config/go_flags.hpp"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace rsi::config {

std::vector<std::string> normalize_go_flags(int argc, const char* const* argv) {
  std::vector<std::string> out;
  bool flags_done = false;
  for (int index = 1; index < argc; ++index) {
    std::string arg = argv[index];
    if (flags_done || arg.size() < 3 || arg[0] != '-' || arg[1] == '-') {
      flags_done = flags_done || arg == "--";
      out.push_back(std::move(arg));
      continue;
    }
    out.push_back("-" + arg); // "-name..." → "--name..."
  }
  return out;
}

Result<std::chrono::milliseconds> parse_go_duration(std::string_view text) {
  auto invalid = [&] {
    return fail(
        ErrorKind::permanent,
        fmt::format("invalid duration \"{}\" (expected a Go duration such as 90s, 5m or 1h30m)",
                    text));
  };
  std::string_view rest = text;
  bool negative = false;
  if (!rest.empty() && (rest.front() == '-' || rest.front() == '+')) {
    negative = rest.front() == '-';
    rest.remove_prefix(1);
  }
  if (rest == "0") {
    return std::chrono::milliseconds(0);
  }
  if (rest.empty()) {
    return invalid();
  }
  double total_ns = 0;
  while (!rest.empty()) {
    std::size_t digits = 0;
    while (digits < rest.size() &&
           ((rest[digits] >= '0' && rest[digits] <= '9') || rest[digits] == '.')) {
      ++digits;
    }
    if (digits == 0) {
      return invalid();
    }
    const std::string number(rest.substr(0, digits));
    char* end = nullptr;
    const double value = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size()) {
      return invalid();
    }
    rest.remove_prefix(digits);
    std::size_t unit_length = 0;
    while (unit_length < rest.size() &&
           !((rest[unit_length] >= '0' && rest[unit_length] <= '9') || rest[unit_length] == '.')) {
      ++unit_length;
    }
    const std::string_view unit = rest.substr(0, unit_length);
    rest.remove_prefix(unit_length);
    double scale = 0;
    if (unit == "ns") {
      scale = 1;
    } else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") {
      scale = 1e3;
    } else if (unit == "ms") {
      scale = 1e6;
    } else if (unit == "s") {
      scale = 1e9;
    } else if (unit == "m") {
      scale = 60e9;
    } else if (unit == "h") {
      scale = 3600e9;
    } else {
      return invalid();
    }
    total_ns += value * scale;
  }
  const auto millis = static_cast<std::int64_t>(std::llround(total_ns / 1e6));
  return std::chrono::milliseconds(negative ? -millis : millis);
}

std::string format_go_duration(std::chrono::milliseconds duration) {
  std::int64_t ms = duration.count();
  if (ms == 0) {
    return "0";
  }
  std::string out = ms < 0 ? "-" : "";
  ms = ms < 0 ? -ms : ms;
  if (ms % 1000 != 0) {
    return out + fmt::format("{}ms", ms);
  }
  std::int64_t seconds = ms / 1000;
  for (const auto& [unit, size] : {std::pair{"h", 3600}, std::pair{"m", 60}, std::pair{"s", 1}}) {
    if (seconds >= size) {
      out += fmt::format("{}{}", seconds / size, unit);
      seconds %= size;
    }
  }
  return out;
}

} // namespace rsi::config
