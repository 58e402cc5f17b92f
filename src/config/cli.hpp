#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/log.hpp"
#include "config/go_flags.hpp"
#include "core/route.hpp"
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

enum class DurationRule { any, positive };

// A Go-duration flag ("--name") bound to `target`: --help shows target's value as the default,
// and a value given must parse (and, with DurationRule::positive, be positive), or parsing
// throws a ConfigError naming the flag. So the default lives only in the config type.
template <class Rep, class Period>
CLI::Option* add_duration_flag(CLI::App& app, const std::string& name,
                               std::chrono::duration<Rep, Period>& target,
                               const std::string& description,
                               DurationRule rule = DurationRule::any) {
  const std::string flag = name.substr(name.find_first_not_of('-'));
  auto* option = app.add_option_function<std::string>(
      name,
      [&target, flag, rule](const std::string& text) {
        const auto parsed = rule == DurationRule::positive ? positive_duration(flag, text)
                                                           : go_duration(flag, text);
        target = std::chrono::duration_cast<std::chrono::duration<Rep, Period>>(parsed);
      },
      description);
  option->default_str(
      format_go_duration(std::chrono::duration_cast<std::chrono::milliseconds>(target)));
  return option;
}

// --max-bad-rows: rows a load may reject (Redshift's MAXERROR) before it fails for its data;
// rsloadmanager and rs_ingester run take it.
void add_max_bad_rows_flag(CLI::App& app, std::uint32_t& target);

// --max-batch-files: the most files one batch claims (ingestdb::ClaimPolicy::max_files); 0, the
// default, claims every waiting file of the table. rsloadmanager and rs_ingester run take it.
void add_max_batch_files_flag(CLI::App& app, std::size_t& target);

// --route (repeatable, first match wins): how S3's event notifications, and keys a backfill
// lists, map to a table and version (core/route.hpp). After parsing, resolve_routes turns the
// values into rules; a bad one is a ConfigError naming it.
void add_route_flag(CLI::App& app, std::vector<std::string>& specs);
std::vector<core::Route> resolve_routes(const std::vector<std::string>& specs);

// The ConfigError for routes that take the registry's current version without a registry.
void require_registry_for_routes(const std::vector<core::Route>& routes, bool have_registry);

// --log-level, --env, -rollbarToken, -rollbarEnvironment and --rollbar-endpoint, which both
// daemons take. An unknown level is a ConfigError.
void add_reporting_options(CLI::App& app, log::Config& log, telemetry::RollbarConfig& rollbar);

// After parsing: without --env the log's env field is CLOUD_ENVIRONMENT when that is set (the
// original's logger did so), else "local"; without -rollbarEnvironment Rollbar's environment is
// CLOUD_ENVIRONMENT. A --rollbar-endpoint that is not http(s):// is a ConfigError.
void resolve_reporting(const CLI::App& app, const http::Environment& env, log::Config& log,
                       telemetry::RollbarConfig& rollbar);

} // namespace rsi::config
