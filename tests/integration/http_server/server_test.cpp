#include "http/server.hpp"

#include <httplib.h>

#include <gtest/gtest.h>

namespace rsi::http {
namespace {

class ServerTest : public ::testing::Test {
protected:
  void SetUp() override {
    m_server.route("GET", "/health", [](const ServerRequest&) { return ServerResponse{.body = R"({"Status":"ok"})"}; });
    m_server.route("GET", "/control/table_exists/(.+)", [](const ServerRequest& request) {
      return ServerResponse{.body = request.captures.at(0)};
    });
    m_server.route("POST", "/boom", [](const ServerRequest&) -> ServerResponse { throw std::runtime_error("x"); });
    ASSERT_TRUE(m_server.start("127.0.0.1", 0));
    ASSERT_GT(m_server.port(), 0);
  }

  Server m_server;
};

TEST_F(ServerTest, RoutesByMethodAndPatternWithCaptures) {
  httplib::Client client("127.0.0.1", m_server.port());
  auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, R"({"Status":"ok"})");
  auto exists = client.Get("/control/table_exists/minute-watched");
  ASSERT_TRUE(exists);
  EXPECT_EQ(exists->body, "minute-watched");
}

TEST_F(ServerTest, UnknownPathsWrongMethodsAndThrowingHandlersAnswerJsonErrors) {
  httplib::Client client("127.0.0.1", m_server.port());
  auto missing = client.Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, R"({"Error":"no such endpoint: /nope"})");
  auto wrong = client.Post("/health", "", "application/json");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->get_header_value("Allow"), "GET");
  auto boom = client.Post("/boom", "", "application/json");
  ASSERT_TRUE(boom);
  EXPECT_EQ(boom->status, 500);
  EXPECT_EQ(boom->body, R"({"Error":"internal error"})");
}

TEST(ServerLifetimeTest, StopsRightAfterStarting) {
  for (int round = 0; round < 20; ++round) {
    Server server;
    server.route("GET", "/health", [](const ServerRequest&) { return ServerResponse{}; });
    ASSERT_TRUE(server.start("127.0.0.1", 0));
    server.stop(); // Must not hang.
  }
}

TEST_F(ServerTest, ErrorsHttplibAnswersItselfAreJsonToo) {
  httplib::Client client("127.0.0.1", m_server.port());
  auto too_big = client.Post("/boom", std::string(2U << 20U, 'x'), "application/json");
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413);
  EXPECT_NE(too_big->body.find("\"Error\""), std::string::npos) << too_big->body;
}

TEST(ServerAddressTest, SplitsHostAndPort) {
  EXPECT_EQ(split_host_port("127.0.0.1:8080").value(), (std::pair<std::string, int>{"127.0.0.1", 8080}));
  EXPECT_EQ(split_host_port("[::1]:0").value(), (std::pair<std::string, int>{"::1", 0}));
  EXPECT_EQ(split_host_port(":80").value().first, "0.0.0.0");
  EXPECT_FALSE(split_host_port("localhost"));
  EXPECT_FALSE(split_host_port("localhost:http"));
  EXPECT_FALSE(split_host_port("localhost:70000"));
}

} // namespace
} // namespace rsi::http
