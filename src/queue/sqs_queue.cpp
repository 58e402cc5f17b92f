// Amazon SQS queue over the AWS JSON 1.0 protocol (POST / with X-Amz-Target: AmazonSQS.<Action>).
//
// receive is one ReceiveMessage long poll (WaitTimeSeconds, MaxNumberOfMessages, the
// ApproximateReceiveCount and SentTimestamp system attributes, optionally VisibilityTimeout);
// remove and change_visibility are one DeleteMessageBatch / ChangeMessageVisibilityBatch each,
// whose entry ids are the indexes of the messages in the call. Every call goes through one
// http::Client (kept-alive connection, SigV4, retries); the attempt timeout of a receive is its
// wait plus SqsConfig::request_timeout, so a long poll is never cut short.

#include "queue/sqs_queue.hpp"

#include <utility>

#include <fmt/format.h>

#include "queue/sqs_protocol.hpp"

namespace rsi::queue {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class SqsQueue final : public Queue {
public:
  SqsQueue(sqs::Api api, std::string url, SqsConfig config)
      : m_api(std::move(api)), m_url(std::move(url)), m_config(std::move(config)) {}

  // Queue
  Result<std::vector<Message>> receive(std::size_t max_messages, std::chrono::seconds wait,
                                       std::stop_token stop) override {
    RSI_TRY(validate_receive(max_messages, wait, m_api.target().queue_name));
    // AttributeNames is the older spelling of MessageSystemAttributeNames; servers that know
    // only one of them (older emulators) still return the attributes.
    const json attributes = json::array({"ApproximateReceiveCount", "SentTimestamp"});
    json input = {{"QueueUrl", m_url},
                  {"MaxNumberOfMessages", max_messages},
                  {"WaitTimeSeconds", wait.count()},
                  {"MessageSystemAttributeNames", attributes},
                  {"AttributeNames", attributes}};
    if (m_config.visibility_timeout) {
      input["VisibilityTimeout"] = m_config.visibility_timeout->count();
    }
    auto output = m_api.call("ReceiveMessage", input, wait + m_config.request_timeout, stop);
    if (!output && stop.stop_requested()) {
      // Messages SQS picked for the aborted poll reappear after their visibility timeout.
      return std::vector<Message>{};
    }
    RSI_TRY(output);
    auto messages = sqs::parse_receive(*output);
    if (!messages) {
      return fail(messages.error().wrap(fmt::format("receive {}", m_api.target().queue_name)));
    }
    return messages;
  }

  Result<BatchOutcome> remove(std::span<const Message> messages) override {
    RSI_TRY(validate_batch(messages.size(), "remove"));
    return batch("DeleteMessageBatch", "remove", messages, std::nullopt);
  }

  Result<BatchOutcome> change_visibility(std::span<const Message> messages,
                                         std::chrono::seconds timeout) override {
    RSI_TRY(validate_batch(messages.size(), "change_visibility"));
    if (timeout < 0s || timeout > sqs::k_max_visibility_timeout) {
      return fail(ErrorKind::permanent,
                  fmt::format("change_visibility {}: timeout must be 0..{}s, got {}s",
                              m_api.target().queue_name, sqs::k_max_visibility_timeout.count(),
                              timeout.count()));
    }
    return batch("ChangeMessageVisibilityBatch", "change_visibility", messages, timeout);
  }

  Result<QueueDepth> depth() override {
    RSI_TRY_ASSIGN(const json output,
                   m_api.call("GetQueueAttributes",
                              {{"QueueUrl", m_url}, {"AttributeNames", sqs::k_depth_attributes}},
                              m_config.request_timeout));
    auto depth = sqs::parse_depth(output);
    if (!depth) {
      return fail(depth.error().wrap(fmt::format("depth of {}", m_api.target().queue_name)));
    }
    return depth;
  }

private:
  Result<BatchOutcome> batch(std::string_view action, std::string_view operation,
                             std::span<const Message> messages,
                             std::optional<std::chrono::seconds> visibility) {
    if (messages.empty()) {
      return BatchOutcome{}; // SQS rejects an empty batch (EmptyBatchRequest).
    }
    json entries = json::array();
    for (std::size_t index = 0; index < messages.size(); ++index) {
      json entry = {{"Id", std::to_string(index)}, {"ReceiptHandle", messages[index].receipt}};
      if (visibility) {
        entry["VisibilityTimeout"] = visibility->count();
      }
      entries.push_back(std::move(entry));
    }
    RSI_TRY_ASSIGN(const json output,
                   m_api.call(action, {{"QueueUrl", m_url}, {"Entries", std::move(entries)}},
                              m_config.request_timeout));
    return sqs::parse_batch(output, messages, operation);
  }

  sqs::Api m_api;
  std::string m_url;
  SqsConfig m_config;
};

} // namespace

Result<std::unique_ptr<Queue>>
make_sqs_queue(const SqsConfig& config, const http::Environment& env,
               std::shared_ptr<http::CredentialsProvider> credentials) {
  if (config.visibility_timeout && (*config.visibility_timeout < 0s ||
                                    *config.visibility_timeout > sqs::k_max_visibility_timeout)) {
    return fail(ErrorKind::permanent,
                fmt::format("SQS queue {}: visibility timeout must be 0..{}s, got {}s",
                            config.queue, sqs::k_max_visibility_timeout.count(),
                            config.visibility_timeout->count()));
  }
  RSI_TRY_ASSIGN(const sqs::Target target, sqs::resolve_target(config, env));
  RSI_TRY_ASSIGN(auto api, sqs::Api::create(target, config, std::move(credentials)));
  RSI_TRY_ASSIGN(std::string url, sqs::queue_url(api, config.request_timeout));
  return std::make_unique<SqsQueue>(std::move(api), std::move(url), config);
}

} // namespace rsi::queue
