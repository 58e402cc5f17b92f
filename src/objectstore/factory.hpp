#pragma once

#include <memory>
#include <string_view>
#include <variant>

#include "common/error.hpp"
#include "http/aws_settings.hpp"
#include "objectstore/local_object_store.hpp"
#include "objectstore/object_store.hpp"
#include "objectstore/s3_object_store.hpp"

namespace rsi::objectstore {

struct Config {
  std::variant<LocalConfig, S3Config> backend;
};

// The backend a URL names: "s3://bucket[/prefix]" (S3Config with `environment` for region,
// endpoint and credentials) or "file:///absolute/dir" (LocalConfig). Fails permanent on any
// other URL. A prefix is used as written ("s3://b/logs/" → keys under "logs/").
[[nodiscard]] Result<Config> config_from_url(std::string_view url,
                                             const http::Environment& environment = {});

[[nodiscard]] Result<std::unique_ptr<ObjectStore>> make_object_store(const Config& config);

} // namespace rsi::objectstore
