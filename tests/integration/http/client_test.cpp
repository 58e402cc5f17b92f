// http::Client against local cpp-httplib servers that fail on purpose: server errors,
// throttling, dropped connections, slow answers, refused connections.

#include "http/client.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "local_server.hpp"

namespace rsi::http {
namespace {

using namespace std::chrono_literals;

ClientConfig fast_retries(int attempts = 3) {
  ClientConfig config;
  config.retry.initial_delay = 5ms;
  config.retry.max_delay = 20ms;
  config.retry.max_attempts = attempts;
  config.connect_timeout = 1000ms;
  config.timeout = 5000ms;
  return config;
}

Client make_client(ClientConfig config = fast_retries()) {
  auto client = Client::create(std::move(config));
  EXPECT_TRUE(client) << client.error().message;
  return std::move(*client);
}

const std::string k_body = std::string(200'000, 'x') + "end";

class ClientTest : public ::testing::Test {
protected:
  // Serve `handler` for every GET/PUT/POST/HEAD on any path, counting calls.
  void serve(std::function<void(int call, const httplib::Request&, httplib::Response&)> handler) {
    auto wrapped = [this, handler](const httplib::Request& request, httplib::Response& response) {
      handler(++m_calls, request, response);
    };
    m_server.server().Get(".*", wrapped).Put(".*", wrapped).Post(".*", wrapped);
    m_server.start();
  }

  test::LocalServer m_server;
  std::atomic<int> m_calls{0};
};

TEST_F(ClientTest, RetriesServerErrorsUntilSuccess) {
  serve([](int call, const httplib::Request&, httplib::Response& response) {
    response.status = call == 1 ? 500 : call == 2 ? 503 : 200;
    response.set_content(call == 3 ? "ok" : "busy", "text/plain");
  });
  Client client = make_client();

  auto response = client.request({.url = m_server.url("/thing")});

  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->body, "ok");
  EXPECT_EQ(m_calls, 3);
}

TEST_F(ClientTest, RetriesS3SlowDownSqsThrottlingAnd429) {
  serve([](int call, const httplib::Request&, httplib::Response& response) {
    if (call == 1) {
      response.status = 503;
      response.set_content(
          "<Error><Code>SlowDown</Code><Message>Reduce your rate</Message></Error>",
          "application/xml");
    } else if (call == 2) {
      response.status = 400;
      response.set_content(R"({"__type":"com.amazon.coral.availability#ThrottlingException"})",
                           "application/x-amz-json-1.0");
    } else if (call == 3) {
      response.status = 429;
    } else {
      response.set_content("done", "text/plain");
    }
  });
  Client client = make_client(fast_retries(4));

  auto response =
      client.request({.method = "POST", .url = m_server.url("/"), .body = std::string_view("{}")});

  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->body, "done");
  EXPECT_EQ(m_calls, 4);
}

TEST_F(ClientTest, GivesUpAfterTheRetryBudgetWithATransientError) {
  serve([](int, const httplib::Request&, httplib::Response& response) {
    response.status = 503;
    response.set_content("<Error><Code>SlowDown</Code><Message>Reduce your rate</Message></Error>",
                         "application/xml");
  });
  Client client = make_client(fast_retries(3));

  auto response = client.request({.url = m_server.url("/bucket/key?x=1")});

  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind, ErrorKind::transient);
  EXPECT_NE(response.error().message.find("SlowDown: Reduce your rate"), std::string::npos);
  EXPECT_NE(response.error().message.find("gave up after 3 attempts"), std::string::npos);
  EXPECT_EQ(m_calls, 3);
}

TEST_F(ClientTest, ClientErrorsArePermanentWithCodeMessageAndNoCredentials) {
  serve([](int, const httplib::Request&, httplib::Response& response) {
    response.status = 403;
    response.set_header("x-amz-request-id", "REQ123");
    response.set_content("<Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you "
                         "provided does not exist in our records.</Message></Error>",
                         "application/xml");
  });
  auto credentials = make_static_credentials_provider({.access_key_id = "AKIDSECRETISH",
                                                       .secret_access_key = "very-secret-key",
                                                       .session_token = "session-token-value",
                                                       .expiration = std::nullopt});
  ClientConfig config = fast_retries();
  config.signing =
      SigningConfig{.service = "s3", .region = "us-east-1", .credentials = credentials};
  Client client = make_client(config);

  auto response = client.request({.url = m_server.url("/bucket/key")});

  ASSERT_FALSE(response);
  const std::string& message = response.error().message;
  EXPECT_EQ(response.error().kind, ErrorKind::permanent);
  EXPECT_NE(message.find("HTTP 403 InvalidAccessKeyId: The AWS Access Key Id"), std::string::npos)
      << message;
  EXPECT_NE(message.find("request id REQ123"), std::string::npos) << message;
  EXPECT_EQ(message.find("very-secret-key"), std::string::npos);
  EXPECT_EQ(message.find("session-token-value"), std::string::npos);
  EXPECT_EQ(m_calls, 1);
}

TEST_F(ClientTest, ErrorParserHookClassifiesServiceErrors) {
  serve([](int, const httplib::Request&, httplib::Response& response) {
    response.status = 400;
    response.set_content("code=ReceiptHandleIsInvalid", "text/plain");
  });
  ClientConfig config = fast_retries();
  config.parse_error = [](const Response& raw) {
    return ServiceError{
        .code = raw.body.substr(5), .message = "custom", .kind = ErrorKind::conflict};
  };
  Client client = make_client(config);

  auto response = client.request({.url = m_server.url("/")});

  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind, ErrorKind::conflict);
  EXPECT_NE(response.error().message.find("ReceiptHandleIsInvalid: custom"), std::string::npos);
}

TEST_F(ClientTest, ExpectedStatusesComeBackAsResponses) {
  serve([](int, const httplib::Request&, httplib::Response& response) {
    response.status = 404;
    response.set_header("X-Thing", "value");
  });
  Client client = make_client();

  auto response = client.request({.url = m_server.url("/"), .expected_statuses = {404}});

  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(response->header("x-thing").value_or(""), "value");
  EXPECT_EQ(m_calls, 1);
}

TEST_F(ClientTest, RepeatedHeaderNamesAreSentOnceJoined) {
  std::mutex mutex;
  std::string seen;
  serve([&](int, const httplib::Request& request, httplib::Response&) {
    std::lock_guard lock(mutex);
    seen = request.get_header_value("X-Multi");
  });
  Client client = make_client();

  auto response =
      client.request({.url = m_server.url("/"), .headers = {{"X-Multi", "b"}, {"x-multi", "a"}}});

  ASSERT_TRUE(response) << response.error().message;
  std::lock_guard lock(mutex);
  EXPECT_EQ(seen, "b,a");
}

// Declares the full length, sends half, then drops the connection (on the first call).
void half_then_drop(int call, httplib::Response& response) {
  response.set_content_provider(
      k_body.size(), "application/octet-stream",
      [call](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        if (call == 1 && offset >= k_body.size() / 2) {
          return false; // Abort: the client sees a truncated body.
        }
        const std::size_t chunk = std::min<std::size_t>(length, 16 * 1024);
        sink.write(k_body.data() + offset, chunk);
        return true;
      });
}

TEST_F(ClientTest, DroppedConnectionMidBodyIsRetriedWhenTheBodyIsCollected) {
  serve([](int call, const httplib::Request&, httplib::Response& response) {
    half_then_drop(call, response);
  });
  Client client = make_client();

  auto response = client.request({.url = m_server.url("/object")});

  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->body, k_body);
  EXPECT_EQ(m_calls, 2);
}

TEST_F(ClientTest, DroppedConnectionAfterTheSinkGotBytesIsNotRetried) {
  serve([](int call, const httplib::Request&, httplib::Response& response) {
    half_then_drop(call, response);
  });
  Client client = make_client();
  std::size_t received = 0;

  auto response = client.request(
      {.url = m_server.url("/object"), .on_body = [&](std::string_view chunk) -> Result<void> {
         received += chunk.size();
         return {};
       }});

  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind, ErrorKind::transient);
  EXPECT_NE(response.error().message.find("not retried"), std::string::npos)
      << response.error().message;
  EXPECT_GT(received, 0U);
  EXPECT_LT(received, k_body.size());
  EXPECT_EQ(m_calls, 1);
}

TEST_F(ClientTest, AnswerSlowerThanTheTimeoutIsRetried) {
  serve([](int call, const httplib::Request&, httplib::Response& response) {
    if (call == 1) {
      std::this_thread::sleep_for(800ms);
    }
    response.set_content("fast now", "text/plain");
  });
  Client client = make_client();

  const auto start = std::chrono::steady_clock::now();
  auto response = client.request({.url = m_server.url("/"), .timeout = 200ms});

  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->body, "fast now");
  EXPECT_EQ(m_calls, 2);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 750ms);
}

TEST_F(ClientTest, StalledTransferTimesOutAsTransient) {
  serve([](int, const httplib::Request&, httplib::Response& response) {
    std::this_thread::sleep_for(600ms);
    response.set_content("late", "text/plain");
  });
  Client client = make_client(fast_retries(2));

  auto response = client.request({.url = m_server.url("/"), .timeout = 150ms});

  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind, ErrorKind::transient);
  EXPECT_NE(response.error().message.find("gave up after 2 attempts"), std::string::npos);
}

TEST(ClientConnectionTest, RefusedConnectionIsTransient) {
  int port = 0;
  {
    test::LocalServer closed;
    closed.start();
    port = closed.port();
  }
  Client client = make_client(fast_retries(2));

  auto response = client.request({.url = "http://127.0.0.1:" + std::to_string(port) + "/"});

  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind, ErrorKind::transient);
}

TEST(ClientConnectionTest, MalformedUrlIsPermanent) {
  Client client = make_client();

  auto response = client.request({.url = "nope://what"});

  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind, ErrorKind::permanent);
}

// A body handed out in small pieces, counting rewinds.
StreamBody counting_stream(const std::string& data, std::size_t& offset, int& rewinds) {
  return StreamBody{
      .read = [&data, &offset](std::span<char> buffer) -> Result<std::size_t> {
        const std::size_t size = std::min({buffer.size(), data.size() - offset, std::size_t{7000}});
        std::copy_n(data.data() + offset, size, buffer.data());
        offset += size;
        return size;
      },
      .size = data.size(),
      .rewind = [&offset, &rewinds]() -> Result<void> {
        offset = 0;
        ++rewinds;
        return {};
      },
      .sha256_hex = ""};
}

TEST_F(ClientTest, StreamedUploadRewindsForARetry) {
  std::mutex mutex;
  std::vector<std::string> bodies;
  serve([&](int call, const httplib::Request& request, httplib::Response& response) {
    std::lock_guard lock(mutex);
    bodies.push_back(request.body);
    response.status = call == 1 ? 500 : 200;
  });
  Client client = make_client();
  std::size_t offset = 0;
  int rewinds = 0;

  auto response = client.request({.method = "PUT",
                                  .url = m_server.url("/upload"),
                                  .body = counting_stream(k_body, offset, rewinds)});

  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(rewinds, 1);
  std::lock_guard lock(mutex);
  ASSERT_EQ(bodies.size(), 2U);
  EXPECT_EQ(bodies[1], k_body);
}

TEST_F(ClientTest, StreamThatCannotRewindIsNotRetriedOnceRead) {
  serve([](int, const httplib::Request&, httplib::Response& response) { response.status = 500; });
  Client client = make_client();
  std::size_t offset = 0;
  int rewinds = 0;
  StreamBody body = counting_stream(k_body, offset, rewinds);
  body.rewind = nullptr;

  auto response = client.request({.method = "PUT", .url = m_server.url("/upload"), .body = body});

  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind, ErrorKind::transient);
  EXPECT_NE(response.error().message.find("cannot be replayed"), std::string::npos);
  EXPECT_EQ(m_calls, 1);
}

TEST_F(ClientTest, SourceErrorAbortsTheUploadAndIsReturnedAsIs) {
  serve([](int, const httplib::Request&, httplib::Response&) {});
  Client client = make_client();

  auto response =
      client.request({.method = "PUT",
                      .url = m_server.url("/upload"),
                      .body = StreamBody{.read = [](std::span<char>) -> Result<std::size_t> {
                                           return fail(ErrorKind::conflict, "source gave up");
                                         },
                                         .size = 10,
                                         .rewind = nullptr,
                                         .sha256_hex = ""}});

  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind, ErrorKind::conflict);
  EXPECT_EQ(response.error().message, "source gave up");
}

TEST_F(ClientTest, StopRequestEndsTheBackoffWait) {
  serve([](int, const httplib::Request&, httplib::Response& response) { response.status = 503; });
  ClientConfig config = fast_retries(10);
  config.retry.initial_delay = 10s;
  config.retry.max_delay = 10s;
  Client client = make_client(config);
  std::stop_source stop;
  std::jthread stopper([&] {
    std::this_thread::sleep_for(100ms);
    stop.request_stop();
  });

  const auto start = std::chrono::steady_clock::now();
  auto response = client.request({.url = m_server.url("/"), .stop = stop.get_token()});

  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind, ErrorKind::transient);
  EXPECT_NE(response.error().message.find("stopped"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(ClientTest, ConnectionsAreReusedBetweenRequests) {
  std::mutex mutex;
  std::set<int> client_ports;
  serve([&](int, const httplib::Request& request, httplib::Response& response) {
    std::lock_guard lock(mutex);
    client_ports.insert(request.remote_port);
    response.set_content("ok", "text/plain");
  });
  Client client = make_client();

  for (int idx = 0; idx < 5; ++idx) {
    ASSERT_TRUE(client.request({.url = m_server.url("/")}));
  }

  std::lock_guard lock(mutex);
  EXPECT_EQ(client_ports.size(), 1U);
}

} // namespace
} // namespace rsi::http
