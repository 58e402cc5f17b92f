#pragma once

// Test and benchmark tool: a throwaway queue on an SQS server (the fauxqs emulator started by
// scripts/test), with the producer side the daemons' Queue interface deliberately lacks.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "http/aws_settings.hpp"
#include "http/credentials.hpp"
#include "queue/queue.hpp"
#include "queue/sqs_protocol.hpp"
#include "queue/sqs_queue.hpp"

namespace rsi::test {

// The SQS emulator's endpoint (RSI_TEST_SQS_ENDPOINT), or nullopt when none is running.
std::optional<std::string> sqs_endpoint();

// A queue created with CreateQueue on `endpoint` and deleted (DeleteQueue) on destruction.
class SqsTestQueue {
public:
  // `attributes` are CreateQueue attributes, e.g. {{"VisibilityTimeout", "30"}}.
  [[nodiscard]] static Result<std::unique_ptr<SqsTestQueue>>
  create(const std::string& endpoint, const std::string& name,
         const std::map<std::string, std::string>& attributes = {});

  ~SqsTestQueue();
  SqsTestQueue(const SqsTestQueue&) = delete;
  SqsTestQueue& operator=(const SqsTestQueue&) = delete;
  SqsTestQueue(SqsTestQueue&&) = delete;
  SqsTestQueue& operator=(SqsTestQueue&&) = delete;

  [[nodiscard]] const std::string& name() const { return m_name; }
  [[nodiscard]] const std::string& url() const { return m_url; }
  [[nodiscard]] const http::Environment& environment() const { return m_env; }
  [[nodiscard]] const std::shared_ptr<http::CredentialsProvider>& credentials() const {
    return m_credentials;
  }

  // A consumer of this queue by name (through GetQueueUrl), hiding what it receives for
  // `visibility` (nullopt: the queue's setting).
  [[nodiscard]] Result<std::unique_ptr<queue::Queue>>
  open(std::optional<std::chrono::seconds> visibility = std::nullopt) const;

  // SendMessageBatch, up to 10 bodies; fails if any entry failed.
  [[nodiscard]] Result<void> send(std::span<const std::string> bodies);
  [[nodiscard]] Result<void> send(const std::string& body) {
    return send(std::span<const std::string>(&body, 1));
  }

  [[nodiscard]] Result<void> purge();

private:
  SqsTestQueue(std::string name, http::Environment env,
               std::shared_ptr<http::CredentialsProvider> credentials, queue::sqs::Api api)
      : m_name(std::move(name)), m_env(std::move(env)), m_credentials(std::move(credentials)),
        m_api(std::move(api)) {}

  std::string m_name;
  std::string m_url;
  http::Environment m_env;
  std::shared_ptr<http::CredentialsProvider> m_credentials;
  queue::sqs::Api m_api;
};

} // namespace rsi::test
