#include "http/url.hpp"

#include <gtest/gtest.h>

namespace rsi::http {
namespace {

TEST(UriEncodeTest, KeepsUnreservedAndEncodesEverythingElseUpperCase) {
  EXPECT_EQ(uri_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(uri_encode("a b/c+d=e&f*"), "a%20b%2Fc%2Bd%3De%26f%2A");
  EXPECT_EQ(uri_encode("\xe1\x88\xb4"), "%E1%88%B4");
}

TEST(UriEncodeTest, KeepsSlashesInPathsWhenAsked) {
  EXPECT_EQ(uri_encode("2016/07/29/a b.gz", true), "2016/07/29/a%20b.gz");
}

TEST(UriDecodeTest, DecodesEscapesAndKeepsMalformedOnes) {
  EXPECT_EQ(uri_decode("a%20b%E1%88%B4"), "a b\xe1\x88\xb4");
  EXPECT_EQ(uri_decode("100%"), "100%");
  EXPECT_EQ(uri_decode("%zz+"), "%zz+");
}

TEST(CanonicalQueryTest, SortsByEncodedNameAndWritesEmptyValuesWithEquals) {
  EXPECT_EQ(canonical_query({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(canonical_query({{"uploadId", "a/b+c"}, {"partNumber", "2"}}),
            "partNumber=2&uploadId=a%2Fb%2Bc");
  EXPECT_EQ(canonical_query({{"prefix", "x y"}, {"list-type", "2"}, {"continuation-token", "t=="}}),
            "continuation-token=t%3D%3D&list-type=2&prefix=x%20y");
}

TEST(CanonicalQueryTest, OrdersRepeatedNamesByValue) {
  EXPECT_EQ(canonical_query({{"a", "2"}, {"a", "1"}}), "a=1&a=2");
}

TEST(ParseUrlTest, SplitsSchemeHostPortPathAndQuery) {
  auto url = parse_url("HTTP://LocalHost:4569/base/path?x=1#frag");

  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->scheme, "http");
  EXPECT_EQ(url->host, "localhost");
  EXPECT_EQ(url->port, 4569);
  EXPECT_EQ(url->path, "/base/path");
  EXPECT_EQ(url->query, "x=1");
  EXPECT_EQ(url->origin(), "http://localhost:4569");
}

TEST(ParseUrlTest, DefaultsPathAndHandlesIpv6) {
  auto url = parse_url("https://[::1]:9000");

  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->path, "/");
  EXPECT_EQ(url->origin(), "https://[::1]:9000");
}

TEST(ParseUrlTest, RejectsOtherSchemesCredentialsAndBadPorts) {
  EXPECT_FALSE(parse_url("ftp://host/"));
  EXPECT_FALSE(parse_url("host:80/x"));
  EXPECT_FALSE(parse_url("http://user:secret@host/"));
  EXPECT_FALSE(parse_url("http://host:99999/"));
  EXPECT_FALSE(parse_url("http://:80/"));
}

TEST(ParseUrlTest, ErrorsLeaveTheQueryOut) {
  auto url = parse_url("ftp://host/x?token=abc");

  ASSERT_FALSE(url);
  EXPECT_EQ(url.error().message.find("token"), std::string::npos);
}

} // namespace
} // namespace rsi::http
