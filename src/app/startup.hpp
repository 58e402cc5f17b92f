#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "app/signals.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/retry.hpp"
#include "common/sleep.hpp"
#include "config/control_api_config.hpp"
#include "config/go_flags.hpp"
#include "http/aws_settings.hpp"
#include "http/curl_global.hpp"
#include "http/server.hpp"
#include "telemetry/metrics.hpp"
#include "telemetry/rollbar.hpp"

namespace rsi::app {

inline constexpr int k_exit_startup_error = 1;
inline constexpr int k_exit_config_error = 2;
// `rs_ingester run --until-idle` / `wait`: the work ran out, but some of it was not loaded.
inline constexpr int k_exit_left_behind = 3;
// `rs_ingester wait`: still busy when the timeout passed.
inline constexpr int k_exit_timeout = 4;
// `rs_ingester backfill`: stopped by a signal before the listing ended (run it again to finish).
inline constexpr int k_exit_interrupted = 5;

// Open a backend, retrying transient failures with backoff (logged) until it opens or a stop
// is requested; a permanent failure ends the wait at once. nullopt when it did not open.
template <class Backend>
std::optional<std::unique_ptr<Backend>>
open_with_retry(const std::string& what,
                const std::function<Result<std::unique_ptr<Backend>>()>& open,
                std::stop_token stop) {
  const BackoffPolicy backoff{.initial_delay = std::chrono::milliseconds(500),
                              .max_delay = std::chrono::seconds(30),
                              .max_attempts = 0};
  for (int attempt = 0; !stop.stop_requested(); ++attempt) {
    auto opened = open();
    if (opened) {
      if (attempt > 0) {
        log::info("connected after retries", {{"backend", what}, {"attempts", attempt + 1}});
      }
      return std::move(*opened);
    }
    if (opened.error().kind == ErrorKind::permanent) {
      log::error("cannot open backend", {{"backend", what}, {"error", opened.error().message}});
      return std::nullopt;
    }
    const auto delay = backoff.delay(attempt, jitter_rng());
    log::warn("backend unavailable; retrying", {{"backend", what},
                                                {"error", opened.error().message},
                                                {"attempt", attempt + 1},
                                                {"retry_in_ms", delay.count()}});
    sleep_unless_stopped(stop, delay);
  }
  return std::nullopt;
}

// The server options of a control API configured as `control`: its token, allowed hosts and
// origins, and the default limits.
http::ServerOptions control_server_options(const config::ControlApiConfig& control);

// When `control` is served beyond loopback without a token (only with --control-allow-insecure),
// say so on stderr and in the log, where it cannot be missed.
void warn_if_exposed(const char* program, const config::ControlApiConfig& control);

// Start `server` on "host:port" ("localhost" means 127.0.0.1; port 0 picks one) and log it.
[[nodiscard]] Result<void> start_server(http::Server& server, const std::string& address);

// A daemon's configuration from its flags and the environment, or nullopt after printing the
// help (exit 0) or the configuration error (exit 2) — `exit_code` says which.
template <class Config>
std::optional<Config> load_config(const char* daemon,
                                  Config (*load)(int, const char* const*, http::Environment),
                                  int argc, char** argv, int& exit_code) {
  try {
    return load(argc, argv, http::process_environment());
  } catch (const config::HelpRequested& help) {
    std::fputs(help.what(), stdout);
    exit_code = 0;
  } catch (const config::ConfigError& error) {
    std::fprintf(stderr, "%s: %s\n", daemon, error.what());
    exit_code = k_exit_config_error;
  }
  return std::nullopt;
}

// A database URL (ingester database or warehouse) with the TLS default of pg/conninfo.hpp:
// verify-full for redshift://, require for another PostgreSQL server on another machine,
// unchanged for sqlite://, local servers and a URL or PGSSLMODE that says. Fails permanent when
// the URL cannot be parsed.
[[nodiscard]] Result<std::string> with_tls_default(const std::string& url,
                                                   const http::Environment& env);

// Every file and folder the process creates is its user's alone (umask 077: files 600, folders
// 700): databases, batch files and queue messages hold event data, and configuration may hold
// secrets. Called first in every binary.
void keep_new_files_private();

// Metrics with a statsd sink when `statsd_address` is set.
Result<std::unique_ptr<telemetry::Metrics>>
make_metrics(const std::string& prefix, const std::optional<std::string>& statsd_address);

// Rollbar reporting of every error-level log line, when `config` has a token and an
// environment; null (and logged) when it is off or cannot start: the daemon runs on without it.
// Keep it until the daemon's last log line: destroying it sends what is queued (a few seconds
// at most).
std::unique_ptr<telemetry::RollbarReporter> start_rollbar(const telemetry::RollbarConfig& config,
                                                          const Clock& clock);

// What a daemon's own code gets from run_daemon.
struct Daemon {
  std::stop_token stop; // SIGINT or SIGTERM.
  const Clock& clock;
  telemetry::Metrics& metrics;
};

// A daemon's start and end, the same for every daemon: private file modes, signals handled
// (before any thread starts), libcurl, the configuration (help: exit 0; a mistake: exit 2), the
// log, Rollbar and the metrics; then `body`, whose result is the exit status. Rollbar outlives
// `body`, so the daemon's last line reaches it.
template <class Config>
int run_daemon(const char* name, Config (*load)(int, const char* const*, http::Environment),
               int argc, char** argv,
               const std::function<int(const Config& config, Daemon& daemon)>& body) {
  keep_new_files_private();
  StopOnSignals signals;
  http::CurlGlobal curl;
  int exit_code = 0;
  const auto config = load_config<Config>(name, load, argc, argv, exit_code);
  if (!config) {
    return exit_code;
  }
  log::init(config->log);
  SystemClock clock;
  const auto rollbar = start_rollbar(config->rollbar, clock);
  auto metrics = make_metrics(config->stats_prefix, config->statsd_address);
  if (!metrics) {
    log::error("bad configuration",
               {{"setting", "STATSD_HOSTPORT"}, {"error", metrics.error().message}});
    return k_exit_config_error;
  }
  Daemon daemon{.stop = signals.token(), .clock = clock, .metrics = **metrics};
  return body(*config, daemon);
}

} // namespace rsi::app
