#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "common/retry.hpp"
#include "registry/schema_registry.hpp"

namespace rsi::registry {

struct BlueprintConfig {
  // -blueprint_host: "host[:port]" (as the original took it; http is assumed) or an
  // http(s):// URL, optionally with a path prefix. A trailing '/' is ignored.
  std::string host;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds timeout{30'000}; // Whole request, retries not included.
  // Retries of transient failures (connection refused, timeouts, 5xx) within one call.
  BackoffPolicy retry{.initial_delay = std::chrono::milliseconds(200),
                      .max_delay = std::chrono::seconds(5),
                      .multiplier = 2.0,
                      .max_attempts = 4};
};

// The base URL `host` stands for ("http://host:port/prefix", no trailing '/'). Fails
// permanent when it is empty or not http(s).
[[nodiscard]] Result<std::string> blueprint_base_url(const std::string& host);

// Blueprint over HTTP (libcurl through http::Client), asking for gzip bodies. Needs a live
// http::CurlGlobal. Fails permanent for a host blueprint_base_url rejects.
[[nodiscard]] Result<std::unique_ptr<SchemaRegistry>>
make_blueprint_registry(const BlueprintConfig& config);

} // namespace rsi::registry
