#include "sqs_test_queue.hpp"

#include <cstdlib>
#include <utility>

#include <fmt/format.h>

#include "common/log.hpp"

namespace rsi::test {
namespace {

using nlohmann::json;
constexpr std::chrono::milliseconds k_admin_timeout{10'000};

} // namespace

std::optional<std::string> sqs_endpoint() {
  const char* value = std::getenv("RSI_TEST_SQS_ENDPOINT");
  if (value == nullptr || *value == '\0') {
    return std::nullopt;
  }
  return std::string(value);
}

Result<std::unique_ptr<SqsTestQueue>>
SqsTestQueue::create(const std::string& endpoint, const std::string& name,
                     const std::map<std::string, std::string>& attributes) {
  http::Environment env{{"AWS_REGION", "us-east-1"}, {"AWS_ENDPOINT_URL_SQS", endpoint}};
  // The emulator checks no signature; any key will do.
  auto credentials = http::make_static_credentials_provider(
      {.access_key_id = "test", .secret_access_key = "test"});
  const queue::SqsConfig config{.queue = name};
  RSI_TRY_ASSIGN(const queue::sqs::Target target, queue::sqs::resolve_target(config, env));
  RSI_TRY_ASSIGN(auto api, queue::sqs::Api::create(target, config, credentials));
  json input = {{"QueueName", name}};
  if (!attributes.empty()) {
    input["Attributes"] = attributes;
  }
  RSI_TRY_ASSIGN(const json output, api.call("CreateQueue", input, k_admin_timeout));
  std::unique_ptr<SqsTestQueue> queue(
      new SqsTestQueue(name, std::move(env), std::move(credentials), std::move(api)));
  queue->m_url = output.value("QueueUrl", "");
  if (queue->m_url.empty()) {
    return fail(ErrorKind::permanent, fmt::format("CreateQueue {}: no QueueUrl", name));
  }
  return queue;
}

SqsTestQueue::~SqsTestQueue() {
  if (auto deleted = m_api.call("DeleteQueue", {{"QueueUrl", m_url}}, k_admin_timeout); !deleted) {
    log::warn("cannot delete test queue", {{"queue", m_name}, {"error", deleted.error().message}});
  }
}

Result<std::unique_ptr<queue::Queue>>
SqsTestQueue::open(std::optional<std::chrono::seconds> visibility) const {
  return queue::make_sqs_queue({.queue = m_name, .visibility_timeout = visibility}, m_env,
                               m_credentials);
}

Result<void> SqsTestQueue::send(std::span<const std::string> bodies) {
  json entries = json::array();
  for (std::size_t index = 0; index < bodies.size(); ++index) {
    entries.push_back({{"Id", std::to_string(index)}, {"MessageBody", bodies[index]}});
  }
  RSI_TRY_ASSIGN(
      const json output,
      m_api.call("SendMessageBatch", {{"QueueUrl", m_url}, {"Entries", entries}}, k_admin_timeout));
  if (auto failed = output.find("Failed");
      failed != output.end() && failed->is_array() && !failed->empty()) {
    return fail(ErrorKind::permanent,
                fmt::format("SendMessageBatch {}: {}", m_name, failed->dump()));
  }
  return {};
}

Result<void> SqsTestQueue::purge() {
  RSI_TRY(m_api.call("PurgeQueue", {{"QueueUrl", m_url}}, k_admin_timeout));
  return {};
}

} // namespace rsi::test
