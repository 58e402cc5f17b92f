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

void add_reporting_options(CLI::App& app, log::Config& log, telemetry::RollbarConfig& rollbar) {
  app.add_option_function<std::string>(
         "--log-level",
         [&log](const std::string& text) {
           if (!log::parse_level(text, log.level)) {
             throw ConfigError(fmt::format("--log-level: unknown level \"{}\"", text));
           }
         },
         "debug, info, warn or error")
      ->default_str(std::string(log::to_string(log.level)));
  app.add_option(
      "--env", log.env,
      "Deployment name written into every log line (default: CLOUD_ENVIRONMENT, else local)");
  app.add_option(
      "--rollbarToken", rollbar.token,
      "Rollbar access token (post_server_item): every error-level log line is reported to Rollbar; "
      "empty: no reporting");
  app.add_option(
      "--rollbarEnvironment", rollbar.environment,
      "Rollbar environment of the reports (default: CLOUD_ENVIRONMENT; none: no reporting)");
  app.add_option("--rollbar-endpoint", rollbar.endpoint,
                 "Rollbar item API URL (for tests and proxies)");
}

void resolve_reporting(const CLI::App& app, const http::Environment& env, log::Config& log,
                       telemetry::RollbarConfig& rollbar) {
  // Set but empty counts as set, as Go's os.LookupEnv did in the original's logger.
  const auto cloud_environment = env.find("CLOUD_ENVIRONMENT");
  if (app.count("--env") == 0 && cloud_environment != env.end()) {
    log.env = cloud_environment->second;
  }
  if (rollbar.environment.empty() && cloud_environment != env.end()) {
    rollbar.environment = cloud_environment->second;
  }
  if (!rollbar.endpoint.starts_with("https://") && !rollbar.endpoint.starts_with("http://")) {
    throw ConfigError("--rollbar-endpoint must be an http:// or https:// URL");
  }
}

void add_max_bad_rows_flag(CLI::App& app, std::uint32_t& target) {
  app.add_option("--max-bad-rows", target,
                 "Rows a load may reject (kept in infra.rejected_row) before the file at fault is "
                 "quarantined; 0 = none, the original's behaviour")
      ->check(CLI::Range(std::uint32_t{0}, std::uint32_t{100'000}));
}

void add_max_batch_files_flag(CLI::App& app, std::size_t& target) {
  app.add_option("--max-batch-files", target,
                 "Files per batch; 0 = every waiting file of the table");
}

void add_route_flag(CLI::App& app, std::vector<std::string>& specs) {
  app.add_option("--route", specs,
                 "S3 key → table and version: 'PATTERN [table=NAME] [version=N|current] "
                 "[bucket=NAME]', e.g. 'logs/{table}/v{version}/**' (repeatable; the first match "
                 "wins)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

std::vector<core::Route> resolve_routes(const std::vector<std::string>& specs) {
  auto routes = core::parse_routes(specs);
  if (!routes) {
    throw ConfigError("--route: " + routes.error().message);
  }
  return std::move(*routes);
}

void require_registry_for_routes(const std::vector<core::Route>& routes, bool have_registry) {
  for (const auto& route : routes) {
    if (route.takes_current_version() && !have_registry) {
      throw ConfigError(fmt::format(
          "--route '{}' takes the table's current version from the schema registry: give "
          "--registry-url (Blueprint http(s)://… or file:///dir), or put {{version}} or "
          "version=N in the route",
          route.text()));
    }
  }
}

} // namespace rsi::config
