#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "common/retry.hpp"
#include "http/aws_settings.hpp"
#include "http/credentials.hpp"
#include "queue/queue.hpp"

namespace rsi::queue {

// An Amazon SQS queue (`sqs://name` or an https queue URL), spoken to with the AWS JSON 1.0
// protocol. Transient failures (5xx, throttling, timeouts, connection errors) are retried with
// `retry` before they are returned.
struct SqsConfig {
  std::string queue; // A queue name (looked up with GetQueueUrl) or a full queue URL.
  // Region, endpoint override and profile; empty fields fall back to the environment
  // (AWS_REGION, AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL, ...: see http/aws_settings.hpp).
  http::AwsConfig aws;
  std::optional<std::chrono::seconds> visibility_timeout; // nullopt: the queue's own setting.
  BackoffPolicy retry{.initial_delay = std::chrono::milliseconds(100),
                      .max_delay = std::chrono::milliseconds(5'000),
                      .multiplier = 2.0,
                      .max_attempts = 5};
  // Bound of one request attempt; a receive adds its long-poll wait on top.
  std::chrono::milliseconds request_timeout{10'000};
};

// Resolves the endpoint from `config` and `env` (a snapshot taken at startup) and, for a queue
// name, its URL. `credentials` (required) may be shared by every queue of the process. Fails
// `permanent` when the queue does not exist or the settings are incomplete, `transient` when
// SQS cannot be reached.
[[nodiscard]] Result<std::unique_ptr<Queue>>
make_sqs_queue(const SqsConfig& config, const http::Environment& env,
               std::shared_ptr<http::CredentialsProvider> credentials);

} // namespace rsi::queue
