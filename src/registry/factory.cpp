#include "registry/factory.hpp"

#include <fmt/format.h>

namespace rsi::registry {

Result<Config> config_from_url(const std::string& url) {
  constexpr std::string_view k_file = "file://";
  if (url.starts_with(k_file)) {
    const std::string path = url.substr(k_file.size());
    if (path.empty() || path.front() != '/') {
      return fail(ErrorKind::permanent,
                  fmt::format("schema registry URL {}: expected file:///absolute/dir", url));
    }
    return Config{LocalConfig{.root = path}};
  }
  const auto scheme_end = url.find("://");
  if (scheme_end != std::string::npos && !url.starts_with("http://") &&
      !url.starts_with("https://")) {
    return fail(ErrorKind::permanent,
                fmt::format("schema registry URL: expected http(s)://host, host[:port] or "
                            "file:///dir (got {}://…)",
                            url.substr(0, scheme_end)));
  }
  RSI_TRY(blueprint_base_url(url));
  return Config{BlueprintConfig{.host = url}};
}

Result<std::unique_ptr<SchemaRegistry>> make_schema_registry(const Config& config) {
  if (const auto* local = std::get_if<LocalConfig>(&config.backend)) {
    return make_local_registry(*local);
  }
  return make_blueprint_registry(std::get<BlueprintConfig>(config.backend));
}

} // namespace rsi::registry
