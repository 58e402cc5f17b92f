#include "app/startup.hpp"

#include <cstdio>

#include <sys/stat.h>

#include "pg/conninfo.hpp"

namespace rsi::app {

Result<void> start_server(http::Server& server, const std::string& address) {
  RSI_TRY_ASSIGN(auto host_port, http::split_host_port(address));
  if (host_port.first == "localhost") {
    host_port.first = "127.0.0.1";
  }
  RSI_TRY(server.start(host_port.first, host_port.second));
  log::info("HTTP endpoint listening", {{"address", address}, {"port", server.port()}});
  return {};
}

void keep_new_files_private() { ::umask(077); }

Result<std::string> with_tls_default(const std::string& url, const http::Environment& env) {
  if (url.starts_with("sqlite:")) {
    return url;
  }
  const auto tls =
      url.starts_with("redshift://") ? pg::TlsDefault::verify_full : pg::TlsDefault::require;
  return pg::with_default_sslmode(url, tls, http::env_value(env, "PGSSLMODE").has_value());
}

http::ServerOptions control_server_options(const config::ControlApiConfig& control) {
  return {.bearer_token = control.token,
          .allowed_hosts = control.allowed_hosts,
          .allowed_origins = control.allowed_origins};
}

void warn_if_exposed(const char* program, const config::ControlApiConfig& control) {
  if (!control.exposed_without_token()) {
    return;
  }
  std::fprintf(stderr,
               "%s: WARNING: the control API on %s has no token and reaches beyond this machine "
               "(--control-allow-insecure): anyone who reaches the port can force loads, bump "
               "table versions "
               "and skip batches\n",
               program, control.address.c_str());
  log::warn("control API served beyond loopback without a token", {{"address", control.address}});
}

Result<std::unique_ptr<telemetry::Metrics>>
make_metrics(const std::string& prefix, const std::optional<std::string>& statsd_address) {
  std::unique_ptr<telemetry::StatsdSink> sink;
  if (statsd_address) {
    RSI_TRY_ASSIGN(sink, telemetry::make_udp_statsd_sink(*statsd_address));
  }
  return std::make_unique<telemetry::Metrics>(prefix, std::move(sink));
}

std::unique_ptr<telemetry::RollbarReporter> start_rollbar(const telemetry::RollbarConfig& config,
                                                          const Clock& clock) {
  if (config.token.empty()) {
    return nullptr;
  }
  if (config.environment.empty()) {
    // The original turned Rollbar off in this case too.
    log::warn(
        "Rollbar reporting off: -rollbarToken needs -rollbarEnvironment or CLOUD_ENVIRONMENT");
    return nullptr;
  }
  auto reporter = telemetry::RollbarReporter::start(config, clock);
  if (!reporter) {
    log::warn("Rollbar reporting off", {{"error", reporter.error().message}});
    return nullptr;
  }
  (*reporter)->attach_to_log();
  log::info("reporting error-level log lines to Rollbar", {{"environment", config.environment}});
  return std::move(*reporter);
}

} // namespace rsi::app
