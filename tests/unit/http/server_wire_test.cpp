// What the control server reads from and writes to the wire, apart from its connections: the
// checks a request head's fields get, the head parser's field cap, a response's bytes.
#include "http/server_wire.hpp"

#include <gtest/gtest.h>

namespace rsi::http::wire {
namespace {

TEST(ServerWireTest, HostOfDropsPortAndFinalDotAndLowersCase) {
  EXPECT_EQ(host_of("Ingester.Internal.:80"), "ingester.internal");
  EXPECT_EQ(host_of(" localhost:8080 "), "localhost");
  EXPECT_EQ(host_of("[::1]:8080"), "[::1]");
  EXPECT_EQ(host_of("[::1"), ""); // An unclosed bracket names no host.
  EXPECT_EQ(host_of("127.0.0.1"), "127.0.0.1");
}

TEST(ServerWireTest, IpAddressesAreToldFromNames) {
  EXPECT_TRUE(is_ip_address("127.0.0.1"));
  EXPECT_TRUE(is_ip_address("[::1]"));
  EXPECT_TRUE(is_ip_address("::1"));
  EXPECT_FALSE(is_ip_address("localhost"));
  EXPECT_FALSE(is_ip_address("1.2.3.4.example"));
}

TEST(ServerWireTest, OriginKeyTrimsLowersAndDropsAFinalSlash) {
  EXPECT_EQ(origin_key(" HTTP://Console.Example:8080/ "), "http://console.example:8080");
  EXPECT_EQ(origin_key("null"), "null");
}

TEST(ServerWireTest, BearerTokenTakesTheSchemeInAnyCase) {
  EXPECT_EQ(bearer_token("Bearer s3cret"), "s3cret");
  EXPECT_EQ(bearer_token("bEaReR s3cret"), "s3cret");
  EXPECT_EQ(bearer_token("Basic dXNlcjpwYXNz"), std::nullopt);
  EXPECT_EQ(bearer_token("Bearer"), std::nullopt);
}

TEST(ServerWireTest, SameSecretNeedsEveryByteAndTheLength) {
  EXPECT_TRUE(same_secret("s3cret", "s3cret"));
  EXPECT_FALSE(same_secret("s3cres", "s3cret"));
  EXPECT_FALSE(same_secret("s3cret!", "s3cret"));
  EXPECT_FALSE(same_secret("s3cre", "s3cret"));
  EXPECT_FALSE(same_secret("", "s3cret"));
  EXPECT_FALSE(same_secret("", "")); // No token matches an empty one.
  EXPECT_FALSE(same_secret("x", ""));
}

TEST(ServerWireTest, ParseQueryDecodesKeepsTheFirstOfARepeatedNameAndRefusesBadEscapes) {
  const auto query = parse_query("table=a%20b&limit=5&&flag&table=second&plus=x+y");
  ASSERT_TRUE(query.has_value());
  EXPECT_EQ(query->at("table"), "a b");
  EXPECT_EQ(query->at("limit"), "5");
  EXPECT_EQ(query->at("flag"), "");
  EXPECT_EQ(query->at("plus"), "x y");
  EXPECT_EQ(query->size(), 4U);
  EXPECT_EQ(parse_query("table=%zz"), std::nullopt);
  EXPECT_EQ(parse_query("ta%2"), std::nullopt);
}

TEST(ServerWireTest, OnlyGetAndHeadLeaveStateAlone) {
  EXPECT_FALSE(changes_state("GET"));
  EXPECT_FALSE(changes_state("HEAD"));
  EXPECT_TRUE(changes_state("POST"));
  EXPECT_TRUE(changes_state("DELETE"));
  EXPECT_TRUE(changes_state("get")); // Methods are case-sensitive (RFC 9110).
}

TEST(ServerWireTest, SerializeFramesTheBodyAndDropsHeadersThatWouldReframeOrSplitIt) {
  const ServerResponse response{.status = 200,
                                .content_type = "application/json",
                                .body = R"({"ok":true})",
                                .headers = {{"X-Request-Id", "abc"},
                                            {"Content-Length", "999"},
                                            {"Transfer-Encoding", "chunked"},
                                            {"X-Evil", "a\r\nSet-Cookie: x=1"}}};

  EXPECT_EQ(serialize(response, false, false, false),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
            "X-Request-Id: abc\r\n\r\n{\"ok\":true}");
  EXPECT_EQ(serialize(response, true, true, false),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
            "X-Request-Id: abc\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(serialize(response, false, false, true).find("Connection: keep-alive\r\n\r\n") !=
                std::string::npos,
            true);
}

TEST(ServerWireTest, NoContentCarriesNoLengthAndNoBody) {
  const ServerResponse response{.status = 204, .content_type = "text/plain", .body = "ignored"};

  EXPECT_EQ(serialize(response, false, false, false), "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST(ServerWireTest, ARefusalCarriesTheOriginalsErrorBody) {
  const ServerResponse refused = refusal(413, "body larger than 10 bytes");

  EXPECT_EQ(refused.status, 413);
  EXPECT_EQ(refused.body, R"({"Error":"body larger than 10 bytes"})");
  EXPECT_EQ(
      serialize(refused, false, true, false).starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
      true);
}

TEST(ServerWireTest, TheParserRefusesAFieldPastTheCapBeforeStoringIt) {
  RequestParser parser(ServerLimits{.max_header_fields = 2});
  parser.eager(true);
  const std::string request = "GET /health HTTP/1.1\r\nHost: a\r\nX-One: 1\r\nX-Two: 2\r\n\r\n";
  error_code ec;

  parser.put(boost::asio::buffer(request), ec);

  EXPECT_EQ(ec, beast_http::error::header_limit);
  EXPECT_TRUE(parser.too_many_fields);
  ASSERT_EQ(parser.head.fields.size(), 2U);
  EXPECT_EQ(parser.head.fields[1].first, "x-one"); // Names lower case, in arrival order.
  EXPECT_EQ(parser.head.method, "GET");
  EXPECT_EQ(parser.head.target, "/health");
}

TEST(ServerWireTest, TheParserReadsAChunkedBody) {
  RequestParser parser(ServerLimits{});
  parser.eager(true);
  const std::string request = "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  error_code ec;

  const auto used = parser.put(boost::asio::buffer(request), ec);

  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(used, request.size());
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(parser.body, "abcde");
  EXPECT_EQ(parser.head.count("transfer-encoding"), 1U);
  ASSERT_NE(parser.head.find("host"), nullptr);
  EXPECT_EQ(*parser.head.find("host"), "a");
}

} // namespace
} // namespace rsi::http::wire
