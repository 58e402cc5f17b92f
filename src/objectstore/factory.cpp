#include "objectstore/factory.hpp"

#include <fmt/format.h>

#include "http/url.hpp"

namespace rsi::objectstore {

Result<Config> config_from_url(std::string_view url, const http::Environment& environment) {
  const auto invalid = [&](std::string_view why) {
    return fail(ErrorKind::permanent, fmt::format("object store URL {:?}: {}", url, why));
  };
  if (url.starts_with("s3://")) {
    const std::string_view rest = url.substr(5);
    const auto slash = rest.find('/');
    S3Config s3;
    s3.bucket = std::string(rest.substr(0, slash));
    if (slash != std::string_view::npos) {
      s3.prefix = std::string(rest.substr(slash + 1));
    }
    if (s3.bucket.empty()) {
      return invalid("no bucket");
    }
    s3.environment = environment;
    return Config{.backend = std::move(s3)};
  }
  if (url.starts_with("file://")) {
    const std::string_view path = url.substr(7);
    if (!path.starts_with('/')) {
      return invalid("file URLs need an absolute path (file:///dir)");
    }
    return Config{.backend = LocalConfig{.root = http::uri_decode(path), .create_root = true}};
  }
  return invalid("expected s3://bucket/prefix or file:///dir");
}

Result<std::unique_ptr<ObjectStore>> make_object_store(const Config& config) {
  if (const auto* local = std::get_if<LocalConfig>(&config.backend)) {
    return make_local_object_store(*local);
  }
  return make_s3_object_store(std::get<S3Config>(config.backend));
}

} // namespace rsi::objectstore
