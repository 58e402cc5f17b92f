#pragma once

#include <chrono>
#include <string>

#include <CLI/CLI.hpp>

namespace rsi::config {

// Parse Go-style flags (normalize_go_flags) with `app`; throws HelpRequested for --help and
// ConfigError (CLI11's message) for anything it rejects.
void parse_go_style(CLI::App& app, int argc, const char* const* argv);

// A Go duration for `flag`, or a ConfigError naming it.
std::chrono::milliseconds go_duration(const std::string& flag, const std::string& text);

// The same, and positive.
std::chrono::milliseconds positive_duration(const std::string& flag, const std::string& text);

} // namespace rsi::config
