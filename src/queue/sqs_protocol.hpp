#pragma once

// Internals of the SQS backend, shared with its tests and the queue test tools: where requests
// go, how one AWS JSON 1.0 call is made, and how SQS's answers and errors are read. Daemon code
// uses queue.hpp and sqs_queue.hpp only.

#include <array>
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "http/aws_settings.hpp"
#include "http/client.hpp"
#include "http/credentials.hpp"
#include "queue/queue.hpp"
#include "queue/sqs_queue.hpp"

namespace rsi::queue::sqs {

inline constexpr std::chrono::seconds k_max_visibility_timeout{43'200}; // 12 hours.

// Where a configured queue lives.
struct Target {
  std::string
      endpoint;       // URL every action is POSTed to, e.g. "https://sqs.eu-west-1.amazonaws.com/".
  std::string region; // For signing.
  std::string queue_name;
  std::string queue_url; // Empty when only the name is known (GetQueueUrl finds it).
  std::string ca_file;   // PEM bundle of the CAs trusted for HTTPS (AWS_CA_BUNDLE); empty: the
                         // system's.
};

// Resolve `config.queue` (a name or a queue URL) with the AWS settings of `config.aws` and
// `env`. A URL on an AWS host supplies the region unless one is configured; a URL on another
// host (an emulator) is its own endpoint unless one is configured, and signs for us-east-1
// when no region is set. Fails `permanent` on a malformed name or URL, a missing region or an
// unreadable CA bundle.
[[nodiscard]] Result<Target> resolve_target(const SqsConfig& config, const http::Environment& env);

// SQS's error in a non-2xx response: the JSON body ({"__type":"com.amazonaws.sqs#Code",
// "message":..}), else the x-amzn-query-error header ("AWS.SimpleQueueService.Code;Sender").
// OverLimit and KMS throttling are marked transient; the client classifies the rest.
http::ServiceError parse_error(const http::Response& response);

// The kind of one entry in a batch response's `Failed` list: a receipt that is invalid, expired
// or not in flight is a conflict; a receiver (server) fault is transient; the rest permanent.
ErrorKind classify_entry_failure(std::string_view code, std::string_view message,
                                 bool sender_fault);

// The messages of a ReceiveMessage response (SentTimestamp and ApproximateReceiveCount read
// from its Attributes). Fails `transient` on a malformed response.
[[nodiscard]] Result<std::vector<Message>> parse_receive(const nlohmann::json& response);

// The outcome of a DeleteMessageBatch or ChangeMessageVisibilityBatch response whose entry
// `Id`s are the indexes into `messages`. An entry in neither Successful nor Failed is reported
// failed (transient). `operation` names the call in error messages.
BatchOutcome parse_batch(const nlohmann::json& response, std::span<const Message> messages,
                         std::string_view operation);

// The attribute names GetQueueAttributes is asked for by Queue::depth.
inline constexpr std::array<const char*, 3> k_depth_attributes{
    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed"};

// The depth in a GetQueueAttributes response ({"Attributes":{"ApproximateNumberOfMessages":
// "3",…}}); an attribute that is missing counts 0. Fails `transient` on a malformed response.
[[nodiscard]] Result<QueueDepth> parse_depth(const nlohmann::json& response);

// One HTTP client posting AWS JSON 1.0 actions to one endpoint, signed for SQS. Retries as
// http::Client does. Not thread-safe.
class Api {
public:
  // Fails `permanent` without credentials.
  [[nodiscard]] static Result<Api> create(const Target& target, const SqsConfig& config,
                                          std::shared_ptr<http::CredentialsProvider> credentials);

  // POST `input` as action `action` ("ReceiveMessage") and return the parsed JSON answer.
  // `timeout` bounds one attempt. Errors read "SQS <action> <queue>: <cause>".
  // Requesting `stop` aborts the call (a transient error).
  [[nodiscard]] Result<nlohmann::json> call(std::string_view action, const nlohmann::json& input,
                                            std::chrono::milliseconds timeout,
                                            std::stop_token stop = {});

  [[nodiscard]] const Target& target() const { return m_target; }
  void set_queue_url(std::string url) { m_target.queue_url = std::move(url); }

private:
  Api(Target target, http::Client client)
      : m_target(std::move(target)), m_client(std::move(client)) {}

  Target m_target;
  http::Client m_client;
};

// The queue URL of `api`'s target: as configured, or looked up by name with GetQueueUrl (and
// remembered). Fails `permanent` when the queue does not exist.
[[nodiscard]] Result<std::string> queue_url(Api& api, std::chrono::milliseconds timeout);

} // namespace rsi::queue::sqs
