#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "http/aws_settings.hpp"

namespace rsi::config {

// How the control API is served, for rsloadmanager and `rs_ingester run` alike
// (docs/configuration.md and docs/control-api.md describe each setting).
struct ControlApiConfig {
  std::string address;              // --control-addr host:port ("" disables)
  std::optional<std::string> token; // --control-token, --control-token-file or RSI_CONTROL_TOKEN
  bool allow_insecure = false;      // --control-allow-insecure: beyond loopback without a token
  std::vector<std::string>
      allowed_hosts; // --control-allowed-hosts: Host names besides loopback and addresses
  std::vector<std::string>
      allowed_origins; // --control-allowed-origins: browser origins allowed to change state

  // Whether the address reaches beyond this machine without a token (allowed only with
  // allow_insecure).
  [[nodiscard]] bool exposed_without_token() const;
};

// The flags' values as given, before finish_control_api().
struct ControlApiFlags {
  std::string token;
  std::string token_file;
  std::string allowed_hosts;
  std::string allowed_origins;
};

// Add --control-token, --control-token-file, --control-allow-insecure, --control-allowed-hosts and
// --control-allowed-origins to `app` (--control-addr stays with each program: defaults differ).
void add_control_api_flags(CLI::App& app, ControlApiFlags& flags, ControlApiConfig& config);

// Fill `config` from the parsed `flags` and `env`: the token from the flag, else the file, else
// RSI_CONTROL_TOKEN. Throws ConfigError for an unreadable or empty token file, a flag and a
// file both given, a malformed address, or an address beyond loopback without a token and
// without --control-allow-insecure.
void finish_control_api(const ControlApiFlags& flags, const http::Environment& env,
                        ControlApiConfig& config);

} // namespace rsi::config
