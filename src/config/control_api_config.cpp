#include "config/control_api_config.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "config/go_flags.hpp"
#include "http/server.hpp"

namespace rsi::config {
namespace {

std::vector<std::string> comma_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    const auto first = item.find_first_not_of(" \t");
    if (first != std::string::npos) {
      items.push_back(item.substr(first, item.find_last_not_of(" \t") - first + 1));
    }
  }
  return items;
}

std::string read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw ConfigError(fmt::format("--control-token-file {}: cannot read the file", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  // Files written by `echo` or a secret store end in a newline that is no part of the token.
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ' ||
                            token.back() == '\t')) {
    token.pop_back();
  }
  if (token.empty()) {
    throw ConfigError(fmt::format("--control-token-file {}: the file is empty", path));
  }
  return token;
}

} // namespace

bool ControlApiConfig::exposed_without_token() const {
  if (address.empty() || token) {
    return false;
  }
  const auto host_port = http::split_host_port(address);
  return !host_port || !http::is_loopback_host(host_port->first);
}

void add_control_api_flags(CLI::App& app, ControlApiFlags& flags, ControlApiConfig& config) {
  app.add_option(
      "--control-token", flags.token,
      "Bearer token for every control endpoint but / and /health (better: --control-token-file or "
      "RSI_CONTROL_TOKEN, which stay out of ps)");
  app.add_option("--control-token-file", flags.token_file,
                 "File holding the bearer token (a trailing newline is ignored)");
  app.add_flag(
      "--control-allow-insecure", config.allow_insecure,
      "Serve the control API beyond loopback without a token (anyone who reaches the port controls "
      "the loader)");
  app.add_option("--control-allowed-hosts", flags.allowed_hosts,
                 "Comma-separated host names requests that change state may be addressed to, "
                 "besides localhost "
                 "and IP addresses (e.g. ingester.internal)");
  app.add_option("--control-allowed-origins", flags.allowed_origins,
                 "Comma-separated browser origins allowed to send requests that change state "
                 "(e.g. https://blueprint.internal); requests without Origin are always allowed");
}

void finish_control_api(const ControlApiFlags& flags, const http::Environment& env,
                        ControlApiConfig& config) {
  if (!flags.token.empty() && !flags.token_file.empty()) {
    throw ConfigError("give --control-token or --control-token-file, not both");
  }
  if (!flags.token.empty()) {
    config.token = flags.token;
  } else if (!flags.token_file.empty()) {
    config.token = read_token_file(flags.token_file);
  } else if (auto from_env = http::env_value(env, "RSI_CONTROL_TOKEN")) {
    config.token = *from_env;
  }
  config.allowed_hosts = comma_list(flags.allowed_hosts);
  config.allowed_origins = comma_list(flags.allowed_origins);
  if (config.address.empty()) {
    return;
  }
  const auto host_port = http::split_host_port(config.address);
  if (!host_port) {
    throw ConfigError(fmt::format("--control-addr: {}", host_port.error().message));
  }
  if (config.exposed_without_token() && !config.allow_insecure) {
    throw ConfigError(fmt::format(
        "refusing to start: --control-addr {} reaches beyond this machine and the control API has "
        "no token, so "
        "anyone who reaches the port could force loads, bump table versions and skip batches. Set "
        "a token "
        "(RSI_CONTROL_TOKEN, --control-token-file or --control-token), bind to loopback "
        "(--control-addr "
        "127.0.0.1:PORT) behind a proxy, or accept the risk with --control-allow-insecure",
        config.address));
  }
}

} // namespace rsi::config
