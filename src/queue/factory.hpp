#pragma once

#include <memory>
#include <string_view>
#include <variant>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "http/aws_settings.hpp"
#include "http/credentials.hpp"
#include "queue/local_queue.hpp"
#include "queue/queue.hpp"
#include "queue/sqs_queue.hpp"

namespace rsi::queue {

// Which queue backend to use, with its settings.
using Config = std::variant<LocalConfig, SqsConfig>;

// The backend a queue URL names, with default settings:
//   dir:///path/to/inbox                                   a local inbox directory
//   sqs://queue-name                                       an SQS queue, looked up by name
//   https://sqs.eu-west-1.amazonaws.com/123456789012/name  an SQS queue URL (http:// too, for
//                                                          emulators)
// Fails `permanent` on any other form.
[[nodiscard]] Result<Config> parse_queue_url(std::string_view url);

// One consumer's queue. `clock` (must outlive the queue) times local deliveries; `env` is the
// startup snapshot SQS settings are resolved from; `credentials` may be shared by every SQS
// queue of the process, and null means the default chain over `env`. Fails as the backend's
// make_* does.
[[nodiscard]] Result<std::unique_ptr<Queue>>
make_queue(const Config& config, const Clock& clock, const http::Environment& env,
           std::shared_ptr<http::CredentialsProvider> credentials = nullptr);

} // namespace rsi::queue
