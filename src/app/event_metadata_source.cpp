#include "app/event_metadata_source.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/file_pointer.hpp"
#include "objectstore/object_store.hpp"
#include "objectstore/s3_object_store.hpp"

namespace rsi::app {

Result<registry::MetadataFetcher>
make_metadata_fetcher(const std::string& url, const http::AwsConfig& aws,
                      const http::Environment& env,
                      std::shared_ptr<http::CredentialsProvider> credentials) {
  constexpr std::string_view k_file = "file://";
  if (url.starts_with(k_file)) {
    std::string path = url.substr(k_file.size());
    return registry::MetadataFetcher([path]() -> Result<std::string> {
      std::ifstream in(path, std::ios::binary);
      if (!in) {
        return fail(ErrorKind::transient, fmt::format("read event metadata {}: cannot open", path));
      }
      std::stringstream body;
      body << in.rdbuf();
      return body.str();
    });
  }
  if (url.starts_with("s3://")) {
    RSI_TRY_ASSIGN(const auto location, core::parse_s3_url(url));
    RSI_TRY_ASSIGN(std::shared_ptr<objectstore::ObjectStore> store,
                   objectstore::make_s3_object_store({.bucket = location.bucket,
                                                      .aws = aws,
                                                      .environment = env,
                                                      .credentials = std::move(credentials)}));
    return registry::MetadataFetcher([store, location, url]() -> Result<std::string> {
      RSI_TRY_ASSIGN(auto body, objectstore::get_string(*store, location.key));
      if (!body) {
        // Missing now may be published later: keep retrying rather than give up.
        return fail(ErrorKind::transient, fmt::format("event metadata {}: no such object", url));
      }
      return std::move(*body);
    });
  }
  return fail(
      ErrorKind::permanent,
      fmt::format("event metadata URL \"{}\": expected file:///path or s3://bucket/key", url));
}

} // namespace rsi::app
