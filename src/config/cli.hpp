#pragma once

#include <chrono>
#include <string>

#include <CLI/CLI.hpp>

#include "common/log.hpp"
#include "http/aws_settings.hpp"
#include "telemetry/rollbar.hpp"

namespace rsi::config {

// Parse Go-style flags (normalize_go_flags) with `app`; throws HelpRequested for --help and
// ConfigError (CLI11's message) for anything it rejects.
void parse_go_style(CLI::App& app, int argc, const char* const* argv);

// A Go duration for `flag`, or a ConfigError naming it.
std::chrono::milliseconds go_duration(const std::string& flag, const std::string& text);

// The same, and positive.
std::chrono::milliseconds positive_duration(const std::string& flag, const std::string& text);

// --env, -rollbarToken, -rollbarEnvironment and --rollbar-endpoint, which both daemons take.
void add_reporting_options(CLI::App& app, log::Config& log, telemetry::RollbarConfig& rollbar);

// After parsing: without --env the log's env field is CLOUD_ENVIRONMENT when that is set (the
// original's logger did so), else "local"; without -rollbarEnvironment Rollbar's environment is
// CLOUD_ENVIRONMENT. A --rollbar-endpoint that is not http(s):// is a ConfigError.
void resolve_reporting(const CLI::App& app, const http::Environment& env, log::Config& log,
                       telemetry::RollbarConfig& rollbar);

} // namespace rsi::config
