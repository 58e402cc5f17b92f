#pragma once

#include <memory>
#include <string>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "http/aws_settings.hpp"
#include "http/credentials.hpp"
#include "registry/event_metadata.hpp"

namespace rsi::app {

// Where the event metadata document is read from: file:///path or s3://bucket/key (through
// the object store, with the process's AWS settings). Fails `permanent` for other URLs.
[[nodiscard]] Result<registry::MetadataFetcher>
make_metadata_fetcher(const std::string& url, const http::AwsConfig& aws,
                      const http::Environment& env,
                      std::shared_ptr<http::CredentialsProvider> credentials);

} // namespace rsi::app
