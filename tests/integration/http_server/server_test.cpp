// http::Server on 127.0.0.1 (port 0): routing, and every limit with the status it answers,
// driven by raw sockets (hostile requests) and by cpp-httplib as an ordinary client.
#include "http/server.hpp"

#include <atomic>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include "support/raw_http.hpp"

namespace rsi::http {
namespace {

using namespace std::chrono_literals;
using test::RawConnection;
using test::RawResponse;

constexpr auto k_answer_within = 2s; // For answers that must come at once (a generous bound).

ServerLimits small_limits() {
  return {.max_header_bytes = 4096,
          .max_header_fields = 20,
          .max_target_bytes = 512,
          .max_body_bytes = 64 * 1024,
          .max_body_bytes_in_flight = 256 * 1024,
          .request_deadline = 1s,
          .idle_timeout = 500ms,
          .max_requests_per_connection = 3,
          .max_connections = 24,
          .handler_threads = 2};
}

std::string head(const std::string& method, const std::string& path,
                 const std::string& fields = "") {
  return fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\n{}\r\n", method, path, fields);
}

// A server whose routes count their calls and keep the last body they saw.
class ServerTest : public ::testing::Test {
protected:
  void SetUp() override { start({.limits = small_limits()}); }
  void TearDown() override {
    if (m_server) {
      m_server->stop();
    }
  }

  void start(ServerOptions options) {
    if (m_server) {
      m_server->stop();
    }
    m_server = std::make_unique<Server>(std::move(options));
    m_server->route("GET", "/health", [](const ServerRequest&) {
      return ServerResponse{.body = R"({"Status":"ok"})"};
    });
    m_server->route("GET", "/control/table_exists/(.+)", [](const ServerRequest& request) {
      return ServerResponse{.body = request.captures.at(0)};
    });
    m_server->route("GET", "/echo", [](const ServerRequest& request) {
      const auto found = request.query.find("q");
      return ServerResponse{.content_type = "text/plain",
                            .body = found == request.query.end() ? "" : found->second};
    });
    m_server->route("POST", "/boom",
                    [](const ServerRequest&) -> ServerResponse { throw std::runtime_error("x"); });
    const auto record = [this](const ServerRequest& request) {
      const std::lock_guard lock(m_mutex);
      ++m_calls;
      m_last_body = request.body;
      return ServerResponse{.status = 204, .content_type = "", .body = ""};
    };
    m_server->route("POST", "/control/force_load", record, {.needs_token = true});
    m_server->route("POST", "/open", record);
    m_server->route("GET", "/control/status",
                    [](const ServerRequest&) { return ServerResponse{.body = "{}"}; },
                    {.needs_token = true});
    ASSERT_TRUE(m_server->start("127.0.0.1", 0));
    ASSERT_GT(m_server->port(), 0);
  }

  [[nodiscard]] int port() const { return m_server->port(); }
  int calls() {
    const std::lock_guard lock(m_mutex);
    return m_calls;
  }
  std::string last_body() {
    const std::lock_guard lock(m_mutex);
    return m_last_body;
  }

  // `request` on a fresh connection; its response (or a failure naming why there is none).
  RawResponse exchange(const std::string& request,
                       std::chrono::milliseconds timeout = k_answer_within) {
    RawConnection connection(port());
    EXPECT_TRUE(connection.connected());
    connection.send(request);
    auto response = connection.read_response(timeout);
    EXPECT_TRUE(response) << "no response to " << request.substr(0, 200);
    return response.value_or(RawResponse{});
  }

  std::unique_ptr<Server> m_server;
  std::mutex m_mutex;
  int m_calls = 0;
  std::string m_last_body;
};

// Routing

TEST_F(ServerTest, RoutesByMethodAndPatternWithCaptures) {
  httplib::Client client("127.0.0.1", port());
  auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, R"({"Status":"ok"})");
  EXPECT_EQ(health->get_header_value("Content-Type"), "application/json");
  auto exists = client.Get("/control/table_exists/minute-watched");
  ASSERT_TRUE(exists);
  EXPECT_EQ(exists->body, "minute-watched");
}

TEST_F(ServerTest, PathsAndQueriesArePercentDecoded) {
  EXPECT_EQ(exchange(head("GET", "/control/table_exists/a%20b%2Fc")).body, "a b/c");
  EXPECT_EQ(exchange(head("GET", "/echo?q=x+y%26z&other=1")).body, "x y&z");
  EXPECT_EQ(exchange(head("GET", "/control/table_exists/a%zz")).status, 400);
  EXPECT_EQ(exchange(head("GET", "/control/table_exists/a%2")).status, 400);
}

TEST_F(ServerTest, UnknownPathsWrongMethodsAndThrowingHandlersAnswerJsonErrors) {
  httplib::Client client("127.0.0.1", port());
  auto missing = client.Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, R"({"Error":"no such endpoint: /nope"})");
  auto wrong = client.Post("/health", "", "application/json");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->get_header_value("Allow"), "GET");
  EXPECT_EQ(wrong->body, R"({"Error":"method POST not allowed on /health"})");
  auto boom = client.Post("/boom", "", "application/json");
  ASSERT_TRUE(boom);
  EXPECT_EQ(boom->status, 500);
  EXPECT_EQ(boom->body, R"({"Error":"internal error"})");
  const RawResponse unknown_method = exchange(head("BREW", "/health"));
  EXPECT_EQ(unknown_method.status, 405);
  EXPECT_EQ(unknown_method.header("allow"), "GET");
}

TEST_F(ServerTest, HeadOnAGetRouteAnswersLikeGetWithoutTheBody) {
  RawConnection connection(port());
  connection.send(head("HEAD", "/health") + head("GET", "/health"));

  const auto answered_head = connection.read_response(k_answer_within, true);
  const auto answered_get = connection.read_response(k_answer_within);

  ASSERT_TRUE(answered_head && answered_get);
  EXPECT_EQ(answered_head->status, 200);
  EXPECT_EQ(answered_head->header("content-length"), "15");
  EXPECT_EQ(answered_head->header("content-type"), "application/json");
  EXPECT_EQ(answered_head->body, "");
  // Had the HEAD response carried a body, it would have been read as this response's head.
  EXPECT_EQ(answered_get->status, 200);
  EXPECT_EQ(answered_get->body, R"({"Status":"ok"})");
  RawConnection wrong_method(port());
  wrong_method.send(head("HEAD", "/control/force_load"));
  const auto refused = wrong_method.read_response(k_answer_within, true);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 405);
  EXPECT_EQ(refused->header("allow"), "POST");
}

TEST(ServerLifetimeTest, StopsRightAfterStarting) {
  for (int round = 0; round < 20; ++round) {
    Server server;
    server.route("GET", "/health", [](const ServerRequest&) { return ServerResponse{}; });
    ASSERT_TRUE(server.start("127.0.0.1", 0));
    server.stop(); // Must not hang.
  }
}

TEST(ServerLifetimeTest, StopsWithConnectionsOpenAndAHandlerRunning) {
  Server server;
  std::atomic<bool> entered{false};
  server.route("GET", "/slow", [&](const ServerRequest&) {
    entered = true;
    std::this_thread::sleep_for(300ms);
    return ServerResponse{};
  });
  ASSERT_TRUE(server.start("127.0.0.1", 0));
  RawConnection idle(server.port());
  RawConnection half(server.port());
  half.send("GET /slow HTTP/1.1\r\n");
  RawConnection busy(server.port());
  busy.send(head("GET", "/slow"));
  for (int waited = 0; !entered && waited < 200; ++waited) {
    std::this_thread::sleep_for(10ms);
  }

  const auto started = std::chrono::steady_clock::now();
  server.stop();

  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_TRUE(idle.closed_within(1s));
  EXPECT_TRUE(half.closed_within(1s));
}

TEST(ServerLifetimeTest, FailsToBindAnAddressInUse) {
  Server first;
  ASSERT_TRUE(first.start("127.0.0.1", 0));
  Server second;

  auto started = second.start("127.0.0.1", first.port());

  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().kind, ErrorKind::permanent);
  EXPECT_NE(started.error().message.find("bind"), std::string::npos) << started.error().message;
}

TEST(ServerAddressTest, SplitsHostAndPort) {
  EXPECT_EQ(split_host_port("127.0.0.1:8080").value(),
            (std::pair<std::string, int>{"127.0.0.1", 8080}));
  EXPECT_EQ(split_host_port("[::1]:0").value(), (std::pair<std::string, int>{"::1", 0}));
  EXPECT_EQ(split_host_port(":80").value().first, "0.0.0.0");
  EXPECT_FALSE(split_host_port("localhost"));
  EXPECT_FALSE(split_host_port("localhost:http"));
  EXPECT_FALSE(split_host_port("localhost:70000"));
}

TEST(ServerAddressTest, KnowsLoopbackHosts) {
  for (const std::string host :
       {"localhost", "LocalHost", "127.0.0.1", "127.8.9.10", "::1", "[::1]"}) {
    EXPECT_TRUE(is_loopback_host(host)) << host;
  }
  for (const std::string host :
       {"", "0.0.0.0", "::", "10.0.0.5", "ingester.internal", "localhost.evil.example"}) {
    EXPECT_FALSE(is_loopback_host(host)) << host;
  }
}

// Head limits: 431 and 414

TEST_F(ServerTest, ManyHeaderFieldsAre431BeforeTheyAreAllStored) {
  std::string fields;
  for (int field = 0; field < 21; ++field) {
    fields += fmt::format("X-F{}: a\r\n", field);
  }

  const RawResponse response = exchange(head("GET", "/health", fields));

  EXPECT_EQ(response.status, 431);
  EXPECT_EQ(response.body, R"({"Error":"more than 20 header fields"})");
  EXPECT_EQ(response.header("connection"), "close");
  EXPECT_EQ(exchange(head("GET", "/health", "X-A: 1\r\n")).status, 200)
      << "20 fields in all are fine";
}

TEST_F(ServerTest, AHugeHeaderIs431WithoutWaitingForItsEnd) {
  RawConnection connection(port());
  connection.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ");

  const std::size_t sent = connection.send_until_answered([] { return std::string(1024, 'a'); });
  const auto response = connection.read_response(k_answer_within);

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 431);
  EXPECT_EQ(response->body, R"({"Error":"request head larger than 4096 bytes"})");
  EXPECT_TRUE(connection.closed_within(3s));
  // Loopback buffers take megabytes before the client sees the answer; the server's memory is
  // what the hostile e2e suite measures. Past its short drain the server stops reading.
  EXPECT_LT(sent, 16U * 1024U * 1024U) << "the server kept reading a head it had refused";
}

TEST_F(ServerTest, ALongTargetIs414) {
  EXPECT_EQ(exchange(head("GET", "/control/table_exists/" + std::string(600, 'a'))).status, 414);
}

TEST_F(ServerTest, MalformedRequestsAre400AndClose) {
  RawConnection connection(port());
  connection.send("NOT HTTP AT ALL\r\n\r\n");

  const auto response = connection.read_response(k_answer_within);

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_TRUE(connection.closed_within(3s));
  EXPECT_EQ(exchange("GET /health HTTP/1.1\r\n\r\n").status, 400) << "HTTP/1.1 needs Host";
  EXPECT_EQ(exchange("GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").status, 400);
  EXPECT_EQ(exchange("GET http://127.0.0.1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").status,
            400);
  EXPECT_EQ(exchange("GET /health HTTP/1.0\r\n\r\n").status, 200) << "HTTP/1.0 has no Host";
}

// Body limits: 413, 415, 501

TEST_F(ServerTest, ADeclaredLengthOverTheLimitIs413BeforeTheBodyIsRead) {
  RawConnection connection(port());
  connection.send(
      head("POST", "/open", "Content-Type: application/json\r\nContent-Length: 65537\r\n"));

  const auto response = connection.read_response(k_answer_within);

  ASSERT_TRUE(response) << "the server waited for a body it should refuse";
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(response->body, R"({"Error":"body larger than 65536 bytes"})");
  EXPECT_EQ(response->header("connection"), "close");
  EXPECT_EQ(calls(), 0);
}

TEST_F(ServerTest, AChunkedBodyOverTheLimitIs413AtTheLimit) {
  RawConnection connection(port());
  connection.send(
      head("POST", "/open", "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"));
  const std::string chunk = fmt::format("400\r\n{}\r\n", std::string(1024, 'x'));

  const std::size_t sent = connection.send_until_answered([&] { return chunk; });
  const auto response = connection.read_response(k_answer_within);

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(calls(), 0);
  EXPECT_LT(sent, 16U * 1024U * 1024U) << "the server kept reading past the limit";
  EXPECT_TRUE(connection.closed_within(5s));
}

TEST_F(ServerTest, AChunkAnnouncingMoreThanTheLimitIs413AtItsSize) {
  RawConnection connection(port());
  connection.send(
      head("POST", "/open", "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n") +
      "7fffffffffff\r\nxx");

  const auto response = connection.read_response(k_answer_within);

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(calls(), 0);
}

TEST_F(ServerTest, AChunkedBodyWithinTheLimitIsRead) {
  const RawResponse response = exchange(
      head("POST", "/open", "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n") +
      "5\r\n{\"a\":\r\n3\r\n 1}\r\n0\r\n\r\n");

  EXPECT_EQ(response.status, 204);
  EXPECT_EQ(last_body(), R"({"a": 1})");
}

TEST_F(ServerTest, ABodyWithoutALengthIsNeverReadAndTheConnectionCloses) {
  // No Content-Length and no Transfer-Encoding: the request has no body (RFC 9112 §6.3). What
  // follows its head is neither read as its body nor as a next request.
  RawConnection connection(port());
  connection.send(head("POST", "/open", "Content-Type: application/json\r\n"));

  const std::size_t sent =
      connection.send_until_answered([] { return std::string(64 * 1024, 'x'); });
  const auto response = connection.read_response(k_answer_within);

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 204);
  EXPECT_EQ(response->header("connection"), "close");
  EXPECT_EQ(last_body(), "");
  EXPECT_TRUE(connection.closed_within(5s));
  EXPECT_LT(sent, 16U * 1024U * 1024U);
}

TEST_F(ServerTest, AnyContentEncodingIs415BeforeTheBody) {
  for (const std::string coding : {"gzip", "deflate", "br", "identity"}) {
    RawConnection connection(port());
    connection.send(head(
        "POST", "/open",
        "Content-Type: application/json\r\nContent-Length: 60000\r\nContent-Encoding: " + coding +
            "\r\n"));

    const auto response = connection.read_response(k_answer_within);

    ASSERT_TRUE(response) << coding;
    EXPECT_EQ(response->status, 415) << coding;
    EXPECT_NE(response->body.find("Content-Encoding"), std::string::npos);
  }
  EXPECT_EQ(calls(), 0);
}

TEST_F(ServerTest, TransferCodingsOtherThanChunkedAreRefused) {
  EXPECT_EQ(
      exchange(head("POST", "/open",
                    "Content-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n") +
               "0\r\n\r\n")
          .status,
      501);
  RawConnection unframed(port());
  unframed.send(
      head("POST", "/open", "Content-Type: application/json\r\nTransfer-Encoding: gzip\r\n") +
      "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  const auto refused = unframed.read_response(k_answer_within);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  EXPECT_FALSE(unframed.read_response(500ms))
      << "what followed an unframed body was read as a request";
  EXPECT_EQ(exchange(head("POST", "/open",
                          "Content-Type: application/json\r\nContent-Length: "
                          "3\r\nTransfer-Encoding: chunked\r\n"))
                .status,
            400);
  EXPECT_EQ(calls(), 0);
}

TEST_F(ServerTest, BodiesInFlightShareAProcessBudget) {
  // 256 KiB for all connections: four declared 60000-byte bodies fit, the fifth is refused.
  std::vector<std::unique_ptr<RawConnection>> waiting;
  for (int body = 0; body < 4; ++body) {
    waiting.push_back(std::make_unique<RawConnection>(port()));
    waiting.back()->send(
        head("POST", "/open", "Content-Type: application/json\r\nContent-Length: 60000\r\n"));
  }
  std::this_thread::sleep_for(200ms);

  const RawResponse refused = exchange(
      head("POST", "/open", "Content-Type: application/json\r\nContent-Length: 60000\r\n"));

  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.header("retry-after"), "1");
  waiting.clear();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(
      exchange(head("POST", "/open", "Content-Type: application/json\r\nContent-Length: 2\r\n") +
               "{}")
          .status,
      204);
}

TEST_F(ServerTest, Expect100ContinueIsAnsweredOnlyWhenTheHeadPasses) {
  RawConnection connection(port());
  connection.send(
      head("POST", "/open",
           "Content-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n"));

  const auto interim = connection.read_response(k_answer_within);
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  connection.send("{}");
  const auto final_response = connection.read_response(k_answer_within);

  ASSERT_TRUE(final_response);
  EXPECT_EQ(final_response->status, 204);
  EXPECT_EQ(last_body(), "{}");
  RawConnection refused(port());
  refused.send(head("POST", "/open",
                    "Content-Type: text/plain\r\nContent-Length: 2\r\nExpect: 100-continue\r\n"));
  const auto refusal = refused.read_response(k_answer_within);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->status, 415);
}

TEST_F(ServerTest, ErrorsTheServerAnswersItselfAreJsonToo) {
  httplib::Client client("127.0.0.1", port());
  auto too_big = client.Post("/boom", std::string(2U << 20U, 'x'), "application/json");
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413);
  EXPECT_EQ(too_big->get_header_value("Content-Type"), "application/json");
  EXPECT_NE(too_big->body.find("\"Error\""), std::string::npos) << too_big->body;
}

// Time limits: 408, idle connections, keep-alive

TEST_F(ServerTest, SlowHeadersAre408AtTheDeadline) {
  RawConnection connection(port());
  connection.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  const auto started = std::chrono::steady_clock::now();
  std::optional<RawResponse> response;
  for (int line = 0; line < 20 && !response; ++line) {
    connection.send(
        fmt::format("X-Slow-{}: 1\r\n", line)); // Each line well within any per-read timeout.
    response = connection.read_response(200ms);
  }
  const auto waited = std::chrono::steady_clock::now() - started;

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 408);
  EXPECT_EQ(response->header("connection"), "close");
  EXPECT_GE(waited, 900ms);
  EXPECT_LT(waited, 1800ms);
  EXPECT_TRUE(connection.closed_within(3s));
}

TEST_F(ServerTest, ASlowBodyIs408AtTheDeadline) {
  RawConnection connection(port());
  connection.send(
      head("POST", "/open", "Content-Type: application/json\r\nContent-Length: 100\r\n"));
  std::optional<RawResponse> response;
  for (int byte = 0; byte < 20 && !response; ++byte) {
    connection.send("x");
    response = connection.read_response(200ms);
  }

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 408);
  EXPECT_EQ(calls(), 0);
}

TEST_F(ServerTest, AnIdleConnectionIsClosedSilently) {
  RawConnection connection(port());

  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(connection.readable_within(3s));
  const auto response = connection.read_response(100ms);

  EXPECT_FALSE(response) << "nothing was asked, so nothing is answered";
  EXPECT_GE(std::chrono::steady_clock::now() - started, 400ms);
}

TEST_F(ServerTest, KeepAliveServesABoundedNumberOfRequests) {
  RawConnection connection(port());
  std::vector<std::string> closes;
  for (int request = 0; request < 3; ++request) {
    connection.send(head("GET", "/health"));
    const auto response = connection.read_response(k_answer_within);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    closes.push_back(response->header("connection"));
  }

  EXPECT_EQ(closes, (std::vector<std::string>{"", "", "close"}));
  EXPECT_TRUE(connection.closed_within(3s));
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  RawConnection connection(port());
  connection.send(head("GET", "/control/table_exists/a") + head("GET", "/control/table_exists/b"));

  const auto first = connection.read_response(k_answer_within);
  const auto second = connection.read_response(k_answer_within);

  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->body, "a");
  EXPECT_EQ(second->body, "b");
}

// Connections

TEST_F(ServerTest, ConnectionsBeyondTheCapAreRefusedAtOnce) {
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int connection = 0; connection < 24; ++connection) {
    held.push_back(std::make_unique<RawConnection>(port()));
  }
  std::this_thread::sleep_for(100ms);

  RawConnection excess(port());
  const auto started = std::chrono::steady_clock::now();
  const auto response = excess.read_response(k_answer_within);

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->body, R"({"Error":"too many connections"})");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 500ms);
  held.clear();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(exchange(head("GET", "/health")).status, 200);
}

TEST_F(ServerTest, AnswersWithin100msWhile16SlowlorisConnectionsAreOpen) {
  start({.limits = {.request_deadline = 10s}});
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int connection = 0; connection < 16; ++connection) {
    slow.push_back(std::make_unique<RawConnection>(port()));
    slow.back()->send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  }

  std::chrono::steady_clock::duration slowest{};
  for (int probe = 0; probe < 20; ++probe) {
    for (auto& connection : slow) {
      connection->send(fmt::format("X-Slow-{}: 1\r\n", probe));
    }
    const auto started = std::chrono::steady_clock::now();
    const auto response = test::raw_get(port(), "/health", 1s);
    slowest = std::max(slowest, std::chrono::steady_clock::now() - started);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    std::this_thread::sleep_for(50ms);
  }

  EXPECT_LT(slowest, 100ms);
}

// Authentication

class ServerTokenTest : public ServerTest {
protected:
  void SetUp() override { start({.limits = small_limits(), .bearer_token = "s3cret"}); }
};

TEST_F(ServerTokenTest, ATokenRouteIs401FromTheHeadWithoutReadingTheBody) {
  RawConnection connection(port());
  connection.send(head("POST", "/control/force_load",
                       "Content-Type: application/json\r\nContent-Length: 1000000000\r\n"));

  const auto started = std::chrono::steady_clock::now();
  const auto response = connection.read_response(k_answer_within);

  ASSERT_TRUE(response) << "the server waited for the body";
  EXPECT_LT(std::chrono::steady_clock::now() - started, 500ms);
  EXPECT_EQ(response->status, 401);
  EXPECT_EQ(response->header("www-authenticate"), "Bearer");
  EXPECT_EQ(response->body, R"({"Error":"missing or wrong bearer token"})");
  EXPECT_EQ(response->header("connection"), "close");
  EXPECT_EQ(calls(), 0);
}

TEST_F(ServerTokenTest, OnlyTheRightBearerTokenPasses) {
  const std::string json = "Content-Type: application/json\r\nContent-Length: 2\r\n";
  for (const std::string authorization :
       {"", "Authorization: Bearer wrong\r\n", "Authorization: Bearer s3cre\r\n",
        "Authorization: Bearer s3cretx\r\n", "Authorization: s3cret\r\n",
        "Authorization: Basic czNjcmV0\r\n",
        "Authorization: Bearer s3cret\r\nAuthorization: Bearer s3cret\r\n"}) {
    EXPECT_EQ(exchange(head("POST", "/control/force_load", json + authorization) + "{}").status,
              401)
        << authorization;
    EXPECT_EQ(exchange(head("GET", "/control/status", authorization)).status, 401) << authorization;
  }
  EXPECT_EQ(calls(), 0);

  for (const std::string scheme : {"Bearer", "bearer"}) {
    EXPECT_EQ(exchange(head("POST", "/control/force_load",
                            json + "Authorization: " + scheme + " s3cret\r\n") +
                       "{}")
                  .status,
              204);
  }
  EXPECT_EQ(exchange(head("GET", "/control/status", "Authorization: Bearer s3cret\r\n")).status,
            200);
  EXPECT_EQ(exchange(head("GET", "/health")).status, 200) << "routes without needs_token stay open";
  EXPECT_EQ(exchange(head("POST", "/open", json) + "{}").status, 204);
}

TEST_F(ServerTokenTest, UnknownPathsAndMethodsAreAnsweredBeforeTheToken) {
  EXPECT_EQ(exchange(head("GET", "/nope")).status, 404);
  EXPECT_EQ(exchange(head("GET", "/control/force_load")).status, 405);
}

// Requests a browser page could send

TEST_F(ServerTest, StateChangingRequestsMustNameAKnownHost) {
  const auto post_with_host = [&](const std::string& host) {
    return exchange(
               fmt::format("POST /open HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\n\r\n", host))
        .status;
  };

  for (const std::string host :
       {"127.0.0.1", "127.0.0.1:8080", "localhost", "LOCALHOST:1", "[::1]:8080", "10.1.2.3"}) {
    EXPECT_EQ(post_with_host(host), 204) << host;
  }
  for (const std::string host :
       {"evil.example", "evil.example:8080", "localhost.evil.example", "127.0.0.1.nip.io"}) {
    const RawResponse refused =
        exchange(fmt::format("POST /open HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\n\r\n", host));
    EXPECT_EQ(refused.status, 403) << host;
    EXPECT_NE(refused.body.find("Host"), std::string::npos) << refused.body;
  }
  EXPECT_EQ(exchange("GET /health HTTP/1.1\r\nHost: evil.example\r\n\r\n").status, 200)
      << "reads are not checked";
  EXPECT_EQ(calls(), 6);
}

TEST_F(ServerTest, ConfiguredHostsAreAllowedToo) {
  start({.limits = small_limits(), .allowed_hosts = {"ingester.internal", "Other.Example:9000"}});

  EXPECT_EQ(
      exchange("POST /open HTTP/1.1\r\nHost: ingester.internal:8080\r\nContent-Length: 0\r\n\r\n")
          .status,
      204);
  EXPECT_EQ(
      exchange("POST /open HTTP/1.1\r\nHost: other.example\r\nContent-Length: 0\r\n\r\n").status,
      204);
  EXPECT_EQ(
      exchange("POST /open HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 0\r\n\r\n").status,
      403);
}

TEST_F(ServerTest, StateChangingRequestsFromForeignOriginsAreRefused) {
  start({.limits = small_limits(), .allowed_origins = {"https://blueprint.internal"}});
  const auto post_from = [&](const std::string& origin_field) {
    return exchange(head("POST", "/open", "Content-Length: 0\r\n" + origin_field)).status;
  };

  EXPECT_EQ(post_from(""), 204) << "curl and servers send no Origin";
  EXPECT_EQ(post_from("Origin: https://blueprint.internal\r\n"), 204);
  EXPECT_EQ(post_from("Origin: HTTPS://Blueprint.Internal/\r\n"), 204);
  EXPECT_EQ(post_from("Origin: https://evil.example\r\n"), 403);
  EXPECT_EQ(post_from("Origin: null\r\n"), 403);
  EXPECT_EQ(post_from("Origin: http://blueprint.internal\r\n"), 403)
      << "another scheme is another origin";
  EXPECT_EQ(post_from("Origin: https://blueprint.internal\r\nOrigin: https://evil.example\r\n"),
            403);
  EXPECT_EQ(exchange(head("GET", "/health", "Origin: https://evil.example\r\n")).status, 200);
}

TEST_F(ServerTest, StateChangingRequestsFromTheServersOwnPagesAreAllowed) {
  // The status page at http://<Host>/ posts to the API with its own Origin.
  const auto post = [&](const std::string& host, const std::string& origin) {
    return exchange(fmt::format("POST /open HTTP/1.1\r\nHost: {}\r\nOrigin: {}\r\n"
                                "Content-Length: 0\r\n\r\n",
                                host, origin))
        .status;
  };

  EXPECT_EQ(post("127.0.0.1:8080", "http://127.0.0.1:8080"), 204);
  EXPECT_EQ(post("localhost:8080", "http://LOCALHOST:8080/"), 204);
  EXPECT_EQ(post("[::1]:8080", "http://[::1]:8080"), 204);
  EXPECT_EQ(post("127.0.0.1:8080", "http://127.0.0.1:9090"), 403) << "another port's page";
  EXPECT_EQ(post("127.0.0.1:8080", "https://127.0.0.1:8080"), 403) << "another scheme";
  EXPECT_EQ(post("127.0.0.1:8080", "http://127.0.0.1"), 403);
  EXPECT_EQ(post("evil.example:8080", "http://evil.example:8080"), 403)
      << "a rebinding page's Host is refused first";
  EXPECT_EQ(calls(), 3);
}

TEST_F(ServerTest, BodiesOfStateChangingRequestsMustBeJson) {
  const auto post_typed = [&](const std::string& type_field) {
    return exchange(head("POST", "/open", "Content-Length: 2\r\n" + type_field) + "{}").status;
  };

  EXPECT_EQ(post_typed("Content-Type: application/json\r\n"), 204);
  EXPECT_EQ(post_typed("Content-Type: Application/JSON; charset=utf-8\r\n"), 204);
  EXPECT_EQ(post_typed(""), 415);
  EXPECT_EQ(post_typed("Content-Type: text/plain\r\n"), 415);
  EXPECT_EQ(post_typed("Content-Type: application/x-www-form-urlencoded\r\n"), 415);
  EXPECT_EQ(post_typed("Content-Type: multipart/form-data; boundary=x\r\n"), 415);
  EXPECT_EQ(post_typed("Content-Type: application/jsonx\r\n"), 415);
  EXPECT_EQ(exchange(head("POST", "/open", "Content-Length: 0\r\n")).status, 204)
      << "no body, no type needed";
  EXPECT_EQ(calls(), 3);
}

TEST_F(ServerTest, ACrossSiteTextPlainPostIsRefused) {
  // What a page on another site can send without a preflight, after DNS rebinding.
  const RawResponse response = exchange(
      "POST /open HTTP/1.1\r\nHost: evil.example:8080\r\nOrigin: http://evil.example:8080\r\n"
      "Content-Type: text/plain\r\nContent-Length: "
      "36\r\n\r\n{\"Table\":\"t\",\"Requester\":\"attacker\"}");

  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(calls(), 0);
}

} // namespace
} // namespace rsi::http
