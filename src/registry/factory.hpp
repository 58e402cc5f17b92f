#pragma once

#include <memory>
#include <string>
#include <variant>

#include "common/error.hpp"
#include "registry/blueprint_registry.hpp"
#include "registry/local_registry.hpp"
#include "registry/schema_registry.hpp"

namespace rsi::registry {

struct Config {
  std::variant<BlueprintConfig, LocalConfig> backend;
};

// The registry a URL names: file:///absolute/dir → the local schema directory; http(s)://…
// or a bare host[:port] (the original's -blueprint_host) → Blueprint. Fails permanent on a
// file URL that is not absolute and on other schemes.
[[nodiscard]] Result<Config> config_from_url(const std::string& url);

[[nodiscard]] Result<std::unique_ptr<SchemaRegistry>> make_schema_registry(const Config& config);

} // namespace rsi::registry
