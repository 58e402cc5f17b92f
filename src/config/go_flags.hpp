#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace rsi::config {

// Bad configuration at startup: the daemon prints it and exits with status 2.
class ConfigError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// --help: the daemon prints `what()` (the usage) and exits with status 0.
class HelpRequested : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// The original daemons took Go flags: one or two dashes for every name ("-databaseURL=x",
// "--databaseURL x"). Returns the arguments (without argv[0]) with every multi-letter flag
// spelled with two dashes, which is what the parser expects; "--" ends the flags.
std::vector<std::string> normalize_go_flags(int argc, const char* const* argv);

// A Go duration ("300ms", "1.5h", "2h45m", "1m30s", "0"): units ns, us, µs, ms, s, m, h.
// Fails `permanent` on anything else, naming the text.
[[nodiscard]] Result<std::chrono::milliseconds> parse_go_duration(std::string_view text);

// `duration` as a Go duration parse_go_duration reads back: "1h30m", "15m", "90s" → "1m30s",
// "2500ms", "0". For flag defaults shown in --help.
std::string format_go_duration(std::chrono::milliseconds duration);

} // namespace rsi::config
