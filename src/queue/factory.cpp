#include "queue/factory.hpp"

#include <utility>

#include <fmt/format.h>

namespace rsi::queue {

Result<Config> parse_queue_url(std::string_view url) {
  if (url.starts_with("dir://")) {
    const std::string_view path = url.substr(6);
    if (!path.starts_with('/') || path.size() < 2) {
      return fail(ErrorKind::permanent,
                  fmt::format("queue URL {}: want dir:///absolute/path/to/inbox", url));
    }
    return LocalConfig{.inbox = std::string(path)};
  }
  if (url.starts_with("sqs://")) {
    const std::string_view name = url.substr(6);
    if (name.empty() || name.find('/') != std::string_view::npos) {
      return fail(ErrorKind::permanent, fmt::format("queue URL {}: want sqs://queue-name", url));
    }
    return SqsConfig{.queue = std::string(name)};
  }
  if (url.starts_with("https://") || url.starts_with("http://")) {
    return SqsConfig{.queue = std::string(url)};
  }
  return fail(
      ErrorKind::permanent,
      fmt::format("queue URL {}: want dir:///path, sqs://name or an https:// SQS queue URL", url));
}

Result<std::unique_ptr<Queue>> make_queue(const Config& config, const Clock& clock,
                                          const http::Environment& env,
                                          std::shared_ptr<http::CredentialsProvider> credentials) {
  if (const auto* local = std::get_if<LocalConfig>(&config)) {
    return make_local_queue(*local, clock);
  }
  if (!credentials) {
    credentials = http::make_default_credentials_provider(env, clock);
  }
  return make_sqs_queue(std::get<SqsConfig>(config), env, std::move(credentials));
}

} // namespace rsi::queue
