// The SQS backend against a local server that plays SQS (cpp-httplib on port 0): what goes on
// the wire, how failures are classified and retried, and per-entry batch failures, which the
// emulator cannot produce.

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "queue/sqs_queue.hpp"

namespace rsi::queue {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct Reply {
  int status = 200;
  std::string body = "{}";
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds delay{0}; // Answer late, as a long poll does.
};

struct SeenRequest {
  std::string action;
  json body;
  std::map<std::string, std::string> headers;
};

Reply sqs_error(int status, std::string_view code, std::string_view message = "") {
  return {
      .status = status,
      .body =
          json{{"__type", fmt::format("com.amazonaws.sqs#{}", code)}, {"message", message}}.dump()};
}

// Answers each action with its scripted replies in order (the last one repeats); GetQueueUrl
// answers by default.
class FakeSqs {
public:
  FakeSqs() {
    m_server.Post("/", [this](const httplib::Request& request, httplib::Response& response) {
      handle(request, response);
    });
    m_port = m_server.bind_to_any_port("127.0.0.1");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    for (int tries = 0; tries < 500 && !m_server.is_running(); ++tries) {
      std::this_thread::sleep_for(10ms); // Bounded wait for the server thread to listen.
    }
  }
  ~FakeSqs() {
    m_server.stop();
    m_thread.join();
  }
  FakeSqs(const FakeSqs&) = delete;
  FakeSqs& operator=(const FakeSqs&) = delete;

  [[nodiscard]] std::string endpoint() const { return fmt::format("http://127.0.0.1:{}", m_port); }

  void script(const std::string& action, std::vector<Reply> replies) {
    const std::lock_guard lock(m_mutex);
    m_replies[action] = std::deque<Reply>(replies.begin(), replies.end());
  }

  [[nodiscard]] std::vector<SeenRequest> seen(const std::string& action) const {
    const std::lock_guard lock(m_mutex);
    std::vector<SeenRequest> matching;
    for (const auto& request : m_seen) {
      if (request.action == action) {
        matching.push_back(request);
      }
    }
    return matching;
  }

  // A consumer of queue `name` on this server, retrying fast.
  [[nodiscard]] Result<std::unique_ptr<Queue>> open(const std::string& name,
                                                    SqsConfig config = {}) const {
    config.queue = name;
    config.retry = {.initial_delay = 1ms, .max_delay = 5ms, .multiplier = 2.0, .max_attempts = 4};
    return make_sqs_queue(config,
                          {{"AWS_REGION", "eu-west-1"}, {"AWS_ENDPOINT_URL_SQS", endpoint()}},
                          http::make_static_credentials_provider(
                              {.access_key_id = "AKIDEXAMPLE", .secret_access_key = "secret"}));
  }

private:
  void handle(const httplib::Request& request, httplib::Response& response) {
    SeenRequest seen{.action = request.get_header_value("X-Amz-Target"),
                     .body = json::parse(request.body, nullptr, false)};
    if (seen.action.starts_with("AmazonSQS.")) {
      seen.action.erase(0, 10);
    }
    for (const auto& [name, value] : request.headers) {
      seen.headers[name] = value;
    }
    Reply reply;
    {
      const std::lock_guard lock(m_mutex);
      m_seen.push_back(seen);
      auto& replies = m_replies[seen.action];
      if (!replies.empty()) {
        reply = replies.front();
        if (replies.size() > 1) {
          replies.pop_front();
        }
      } else if (seen.action == "GetQueueUrl") {
        reply.body = json{{"QueueUrl", fmt::format("{}/000000000000/{}", endpoint(),
                                                   seen.body.value("QueueName", ""))}}
                         .dump();
      }
    }
    std::this_thread::sleep_for(reply.delay);
    response.status = reply.status;
    for (const auto& [name, value] : reply.headers) {
      response.set_header(name, value);
    }
    response.set_content(reply.body, "application/x-amz-json-1.0");
  }

  httplib::Server m_server;
  int m_port = 0;
  std::thread m_thread;
  mutable std::mutex m_mutex;
  std::map<std::string, std::deque<Reply>> m_replies;
  std::vector<SeenRequest> m_seen;
};

const std::string k_one_message = R"({"Messages":[{"MessageId":"m1","ReceiptHandle":"rh1",
    "Body":"hello","Attributes":{"ApproximateReceiveCount":"1","SentTimestamp":"1700000000000"}}]})";

TEST(SqsQueueWire, LooksUpTheQueueUrlByNameOnce) {
  FakeSqs sqs;

  auto queue = sqs.open("spade-events");
  ASSERT_TRUE(queue) << queue.error().message;
  ASSERT_TRUE((*queue)->receive(1, 0s));
  ASSERT_TRUE((*queue)->receive(1, 0s));

  const auto lookups = sqs.seen("GetQueueUrl");
  ASSERT_EQ(lookups.size(), 1U);
  EXPECT_EQ(lookups[0].body["QueueName"], "spade-events");
  const auto receives = sqs.seen("ReceiveMessage");
  ASSERT_EQ(receives.size(), 2U);
  EXPECT_EQ(receives[0].body["QueueUrl"], sqs.endpoint() + "/000000000000/spade-events");
}

TEST(SqsQueueWire, ReceiveAsksForAttributesWaitAndVisibility) {
  FakeSqs sqs;
  auto queue = sqs.open("q", {.visibility_timeout = 45s});
  ASSERT_TRUE(queue) << queue.error().message;

  ASSERT_TRUE((*queue)->receive(7, 3s));

  const auto receives = sqs.seen("ReceiveMessage");
  ASSERT_EQ(receives.size(), 1U);
  const SeenRequest& request = receives[0];
  EXPECT_EQ(request.body["MaxNumberOfMessages"], 7);
  EXPECT_EQ(request.body["WaitTimeSeconds"], 3);
  EXPECT_EQ(request.body["VisibilityTimeout"], 45);
  const json attributes = json::array({"ApproximateReceiveCount", "SentTimestamp"});
  EXPECT_EQ(request.body["MessageSystemAttributeNames"], attributes);
  EXPECT_EQ(request.body["AttributeNames"], attributes);
  EXPECT_EQ(request.headers.at("Content-Type"), "application/x-amz-json-1.0");
  EXPECT_TRUE(request.headers.at("Authorization").starts_with("AWS4-HMAC-SHA256 "));
  EXPECT_NE(request.headers.at("Authorization").find("/eu-west-1/sqs/aws4_request"),
            std::string::npos);
}

TEST(SqsQueueWire, WithoutAVisibilityTimeoutTheQueueSettingApplies) {
  FakeSqs sqs;
  auto queue = sqs.open("q");
  ASSERT_TRUE(queue) << queue.error().message;

  ASSERT_TRUE((*queue)->receive(1, 0s));

  EXPECT_FALSE(sqs.seen("ReceiveMessage").at(0).body.contains("VisibilityTimeout"));
}

TEST(SqsQueueWire, BatchEntriesCarryIndexIdsAndReceipts) {
  FakeSqs sqs;
  auto queue = sqs.open("q");
  ASSERT_TRUE(queue) << queue.error().message;
  const std::vector<Message> messages{{.id = "a", .receipt = "rh-a"},
                                      {.id = "b", .receipt = "rh-b"}};
  sqs.script("ChangeMessageVisibilityBatch",
             {{.body = R"({"Successful":[{"Id":"0"},{"Id":"1"}]})"}});

  auto changed = (*queue)->change_visibility(messages, 120s);

  ASSERT_TRUE(changed) << changed.error().message;
  EXPECT_TRUE(changed->all_succeeded());
  const json entries = sqs.seen("ChangeMessageVisibilityBatch").at(0).body["Entries"];
  EXPECT_EQ(entries, json::parse(R"([{"Id":"0","ReceiptHandle":"rh-a","VisibilityTimeout":120},
                                     {"Id":"1","ReceiptHandle":"rh-b","VisibilityTimeout":120}])"));
}

TEST(SqsQueueWire, DeleteBatchReportsEachFailedEntry) {
  FakeSqs sqs;
  auto queue = sqs.open("q");
  ASSERT_TRUE(queue) << queue.error().message;
  const std::vector<Message> messages{{.id = "a", .receipt = "rh-a"},
                                      {.id = "b", .receipt = "rh-b"},
                                      {.id = "c", .receipt = "rh-c"}};
  sqs.script("DeleteMessageBatch", {{.body = R"({"Successful":[{"Id":"1"}],"Failed":[
                 {"Id":"0","SenderFault":true,"Code":"ReceiptHandleIsInvalid",
                  "Message":"The input receipt handle \"rh-a\" is not a valid receipt handle."},
                 {"Id":"2","SenderFault":false,"Code":"InternalError","Message":"oops"}]})"}});

  auto removed = (*queue)->remove(messages);

  ASSERT_TRUE(removed) << removed.error().message;
  ASSERT_EQ(removed->failed.size(), 2U);
  EXPECT_EQ(removed->failed[0].id, "a");
  EXPECT_EQ(removed->failed[0].error.kind, ErrorKind::conflict);
  EXPECT_NE(removed->failed[0].error.message.find("not a valid receipt handle"), std::string::npos);
  EXPECT_EQ(removed->failed[1].id, "c");
  EXPECT_EQ(removed->failed[1].error.kind, ErrorKind::transient);
  EXPECT_EQ(sqs.seen("DeleteMessageBatch").at(0).body["Entries"].size(), 3U);
}

TEST(SqsQueueFaults, ServerErrorsAreRetriedUntilSuccess) {
  FakeSqs sqs;
  auto queue = sqs.open("q");
  ASSERT_TRUE(queue) << queue.error().message;
  sqs.script("ReceiveMessage", {sqs_error(500, "InternalError"),
                                {.status = 503, .body = "Service Unavailable"},
                                {.body = k_one_message}});

  auto received = (*queue)->receive(10, 0s);

  ASSERT_TRUE(received) << received.error().message;
  ASSERT_EQ(received->size(), 1U);
  EXPECT_EQ((*received)[0].body, "hello");
  EXPECT_EQ(sqs.seen("ReceiveMessage").size(), 3U);
}

TEST(SqsQueueFaults, ThrottlingIsRetried) {
  FakeSqs sqs;
  auto queue = sqs.open("q");
  ASSERT_TRUE(queue) << queue.error().message;
  sqs.script("DeleteMessageBatch", {sqs_error(400, "RequestThrottled", "Rate exceeded"),
                                    sqs_error(400, "ThrottlingException", "Rate exceeded"),
                                    {.body = R"({"Successful":[{"Id":"0"}]})"}});
  const std::vector<Message> messages{{.id = "a", .receipt = "rh-a"}};

  auto removed = (*queue)->remove(messages);

  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_TRUE(removed->all_succeeded());
  EXPECT_EQ(sqs.seen("DeleteMessageBatch").size(), 3U);
}

TEST(SqsQueueFaults, PersistentServerErrorsEndTransientAfterTheRetries) {
  FakeSqs sqs;
  auto queue = sqs.open("q");
  ASSERT_TRUE(queue) << queue.error().message;
  sqs.script("ReceiveMessage", {sqs_error(503, "ServiceUnavailable")});

  auto received = (*queue)->receive(10, 0s);

  ASSERT_FALSE(received);
  EXPECT_EQ(received.error().kind, ErrorKind::transient);
  EXPECT_EQ(sqs.seen("ReceiveMessage").size(), 4U);
}

TEST(SqsQueueFaults, MissingQueueIsAPermanentErrorNamingTheQueue) {
  FakeSqs sqs;
  sqs.script(
      "GetQueueUrl",
      {{.status = 400,
        .body = R"({"__type":"com.amazonaws.sqs#QueueDoesNotExist",
                           "message":"The specified queue does not exist."})",
        .headers = {{"x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender"}}}});

  auto queue = sqs.open("no-such-queue");

  ASSERT_FALSE(queue);
  EXPECT_EQ(queue.error().kind, ErrorKind::permanent);
  EXPECT_NE(queue.error().message.find("no-such-queue"), std::string::npos)
      << queue.error().message;
  EXPECT_NE(queue.error().message.find("QueueDoesNotExist"), std::string::npos)
      << queue.error().message;
  EXPECT_EQ(sqs.seen("GetQueueUrl").size(), 1U);
}

TEST(SqsQueueFaults, QueueDeletedUnderAConsumerIsPermanent) {
  FakeSqs sqs;
  auto queue = sqs.open("q");
  ASSERT_TRUE(queue) << queue.error().message;
  sqs.script(
      "ReceiveMessage",
      {{.status = 400,
        .body = "",
        .headers = {{"x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender"}}}});

  auto received = (*queue)->receive(10, 0s);

  ASSERT_FALSE(received);
  EXPECT_EQ(received.error().kind, ErrorKind::permanent);
  EXPECT_NE(received.error().message.find("NonExistentQueue"), std::string::npos);
  EXPECT_EQ(sqs.seen("ReceiveMessage").size(), 1U);
}

TEST(SqsQueueFaults, LongPollOutlastsTheRequestTimeout) {
  FakeSqs sqs;
  auto queue = sqs.open("q", {.request_timeout = 500ms});
  ASSERT_TRUE(queue) << queue.error().message;
  sqs.script("ReceiveMessage", {{.body = k_one_message, .delay = 1200ms}});

  auto received = (*queue)->receive(10, 1s);

  ASSERT_TRUE(received) << received.error().message;
  EXPECT_EQ(received->size(), 1U);
  EXPECT_EQ(sqs.seen("ReceiveMessage").size(), 1U);
}

TEST(SqsQueueFaults, UnreachableServerIsTransient) {
  int port = 0;
  {
    FakeSqs closed; // Learn a free port, then stop listening on it.
    port = std::stoi(closed.endpoint().substr(closed.endpoint().rfind(':') + 1));
  }
  SqsConfig config{.queue = fmt::format("http://127.0.0.1:{}/000000000000/q", port),
                   .retry = {.initial_delay = 1ms, .max_delay = 2ms, .max_attempts = 2}};

  auto queue = make_sqs_queue(
      config, {},
      http::make_static_credentials_provider({.access_key_id = "k", .secret_access_key = "s"}));
  ASSERT_TRUE(queue) << queue.error().message; // A queue URL needs no lookup.
  auto received = (*queue)->receive(1, 0s);

  ASSERT_FALSE(received);
  EXPECT_EQ(received.error().kind, ErrorKind::transient);
}

} // namespace
} // namespace rsi::queue
