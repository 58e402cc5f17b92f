#include "config/cli.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "config/go_flags.hpp"

namespace rsi::config {

void parse_go_style(CLI::App& app, int argc, const char* const* argv) {
  std::vector<std::string> args = normalize_go_flags(argc, argv);
  std::reverse(args.begin(), args.end()); // CLI11 takes a reversed vector.
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    throw HelpRequested(app.help());
  } catch (const CLI::ParseError& error) {
    throw ConfigError(error.what());
  }
}

std::chrono::milliseconds go_duration(const std::string& flag, const std::string& text) {
  auto parsed = parse_go_duration(text);
  if (!parsed) {
    throw ConfigError(fmt::format("-{}: {}", flag, parsed.error().message));
  }
  return *parsed;
}

std::chrono::milliseconds positive_duration(const std::string& flag, const std::string& text) {
  const auto parsed = go_duration(flag, text);
  if (parsed.count() <= 0) {
    throw ConfigError(fmt::format("-{}: must be positive, got \"{}\"", flag, text));
  }
  return parsed;
}

} // namespace rsi::config
