// The requests our S3 and SQS callers send, captured by a local server and checked the way
// AWS checks them: x-amz-content-sha256 present and right, the query canonical (sorted and
// encoded), and the Authorization signature recomputed here from what arrived on the wire
// (an independent SigV4 implementation on OpenSSL HMAC) equal to the one libcurl sent.

#include <mutex>
#include <sstream>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "http/client.hpp"
#include "http/sha256.hpp"
#include "http/url.hpp"
#include "local_server.hpp"

namespace rsi::http {
namespace {

constexpr std::string_view k_secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &size);
  return std::string(reinterpret_cast<const char*>(digest), size);
}

std::string hex(std::string_view bytes) {
  std::string out;
  for (const unsigned char byte : bytes) {
    out += fmt::format("{:02x}", byte);
  }
  return out;
}

std::string field(const std::string& authorization, const std::string& name) {
  const auto start = authorization.find(name + "=");
  if (start == std::string::npos) {
    return {};
  }
  const auto value = start + name.size() + 1;
  return authorization.substr(value, authorization.find(',', value) - value);
}

std::string collapse_spaces(std::string_view value) {
  std::string out;
  for (const char byte : value) {
    if (byte == ' ' && (out.empty() || out.back() == ' ')) {
      continue;
    }
    out.push_back(byte);
  }
  while (!out.empty() && out.back() == ' ') {
    out.pop_back();
  }
  return out;
}

struct Captured {
  httplib::Request request;
  std::string problem; // Empty when the signature verifies.
};

// Recompute the signature of `request` as AWS would; empty string when it matches.
std::string verify(const httplib::Request& request) {
  const std::string authorization = request.get_header_value("Authorization");
  if (!authorization.starts_with("AWS4-HMAC-SHA256 ")) {
    return "no SigV4 Authorization header";
  }
  const std::string credential = field(authorization, "Credential");
  const std::string signed_headers = field(authorization, "SignedHeaders");
  const std::string signature = field(authorization, "Signature");
  const std::string scope = credential.substr(credential.find('/') + 1);
  std::vector<std::string> scope_parts;
  std::istringstream scope_stream(scope);
  for (std::string part; std::getline(scope_stream, part, '/');) {
    scope_parts.push_back(part);
  }
  if (scope_parts.size() != 4) {
    return "bad credential scope " + scope;
  }
  const auto question = request.target.find('?');
  std::string canonical =
      request.method + "\n" + request.target.substr(0, question) + "\n" +
      (question == std::string::npos ? "" : request.target.substr(question + 1)) + "\n";
  std::istringstream names(signed_headers);
  for (std::string name; std::getline(names, name, ';');) {
    if (!request.has_header(name.c_str())) {
      return "signed header " + name + " was not sent";
    }
    canonical += name + ":" + collapse_spaces(request.get_header_value(name.c_str())) + "\n";
  }
  const std::string payload = request.has_header("x-amz-content-sha256")
                                  ? request.get_header_value("x-amz-content-sha256")
                                  : sha256_hex(request.body);
  canonical += "\n" + signed_headers + "\n" + payload;
  const std::string string_to_sign = "AWS4-HMAC-SHA256\n" + request.get_header_value("X-Amz-Date") +
                                     "\n" + scope + "\n" + sha256_hex(canonical);
  std::string key = hmac("AWS4" + std::string(k_secret), scope_parts[0]);
  key = hmac(key, scope_parts[1]);
  key = hmac(key, scope_parts[2]);
  key = hmac(key, scope_parts[3]);
  const std::string expected = hex(hmac(key, string_to_sign));
  return expected == signature ? "" : "signature mismatch; canonical request:\n" + canonical;
}

class RequestSigningTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto capture = [this](const httplib::Request& request, httplib::Response& response) {
      std::lock_guard lock(m_mutex);
      m_captured.push_back({request, verify(request)});
      response.status = 200;
    };
    m_server.server().Get(".*", capture).Put(".*", capture).Post(".*", capture);
    m_server.start();
  }

  Client make_client(const std::string& service, std::string token = "") {
    auto client =
        Client::create({.signing = SigningConfig{.service = service,
                                                 .region = "eu-west-1",
                                                 .credentials = make_static_credentials_provider(
                                                     {.access_key_id = "AKIDEXAMPLE",
                                                      .secret_access_key = std::string(k_secret),
                                                      .session_token = std::move(token),
                                                      .expiration = std::nullopt})}});
    EXPECT_TRUE(client) << client.error().message;
    return std::move(*client);
  }

  Captured last() {
    std::lock_guard lock(m_mutex);
    return m_captured.empty() ? Captured{} : m_captured.back();
  }

  test::LocalServer m_server;
  std::mutex m_mutex;
  std::vector<Captured> m_captured;
};

TEST_F(RequestSigningTest, S3StreamedUploadPartIsUnsignedPayloadWithCanonicalQuery) {
  Client client = make_client("s3");
  const std::string data(300'000, 'd');
  std::size_t offset = 0;
  const std::string query = canonical_query({{"uploadId", "abc/def+ghi=="}, {"partNumber", "3"}});

  auto response = client.request(
      {.method = "PUT",
       .url = m_server.url("/bucket/dir/a%20b.gz?" + query),
       .body = StreamBody{.read = [&](std::span<char> buffer) -> Result<std::size_t> {
                            const std::size_t size = std::min(buffer.size(), data.size() - offset);
                            std::copy_n(data.data() + offset, size, buffer.data());
                            offset += size;
                            return size;
                          },
                          .size = data.size(),
                          .rewind = nullptr,
                          .sha256_hex = ""}});

  ASSERT_TRUE(response) << response.error().message;
  const Captured captured = last();
  EXPECT_EQ(captured.request.target,
            "/bucket/dir/a%20b.gz?partNumber=3&uploadId=abc%2Fdef%2Bghi%3D%3D");
  EXPECT_EQ(captured.request.get_header_value("x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
  EXPECT_EQ(captured.request.body, data);
  EXPECT_EQ(captured.problem, "");
}

TEST_F(RequestSigningTest, S3InMemoryPutSignsTheBodyHashAndSessionToken) {
  Client client = make_client("s3", "the-session-token");
  const std::string data = "hello object";

  auto response = client.request(
      {.method = "PUT", .url = m_server.url("/bucket/key"), .body = std::string_view(data)});

  ASSERT_TRUE(response) << response.error().message;
  const Captured captured = last();
  EXPECT_EQ(captured.request.get_header_value("x-amz-content-sha256"), sha256_hex(data));
  EXPECT_EQ(captured.request.get_header_value("x-amz-security-token"), "the-session-token");
  EXPECT_NE(captured.request.get_header_value("Authorization").find("x-amz-security-token"),
            std::string::npos);
  EXPECT_EQ(captured.problem, "");
}

TEST_F(RequestSigningTest, S3StreamWithKnownHashSignsIt) {
  Client client = make_client("s3");
  const std::string data(2'000'000, 'z'); // Large enough for Expect: 100-continue.
  std::size_t offset = 0;

  auto response = client.request(
      {.method = "PUT",
       .url = m_server.url("/bucket/big"),
       .body = StreamBody{.read = [&](std::span<char> buffer) -> Result<std::size_t> {
                            const std::size_t size = std::min(buffer.size(), data.size() - offset);
                            std::copy_n(data.data() + offset, size, buffer.data());
                            offset += size;
                            return size;
                          },
                          .size = data.size(),
                          .rewind = nullptr,
                          .sha256_hex = sha256_hex(data)}});

  ASSERT_TRUE(response) << response.error().message;
  const Captured captured = last();
  EXPECT_EQ(captured.request.get_header_value("x-amz-content-sha256"), sha256_hex(data));
  EXPECT_EQ(captured.problem, "");
}

TEST_F(RequestSigningTest, S3CreateMultipartAndListUseCanonicalQueries) {
  Client client = make_client("s3");

  auto created =
      client.request({.method = "POST",
                      .url = m_server.url("/bucket/key?" + canonical_query({{"uploads", ""}})),
                      .body = std::string_view()});
  ASSERT_TRUE(created) << created.error().message;
  const Captured create = last();
  auto listed = client.request(
      {.url = m_server.url("/bucket?" + canonical_query({{"prefix", "dir/a b"},
                                                         {"list-type", "2"},
                                                         {"continuation-token", "1/2+3="}}))});
  ASSERT_TRUE(listed) << listed.error().message;
  const Captured list = last();

  EXPECT_EQ(create.request.target, "/bucket/key?uploads=");
  EXPECT_EQ(create.request.get_header_value("x-amz-content-sha256"), k_empty_sha256);
  EXPECT_EQ(create.problem, "");
  EXPECT_EQ(list.request.target,
            "/bucket?continuation-token=1%2F2%2B3%3D&list-type=2&prefix=dir%2Fa%20b");
  EXPECT_EQ(list.request.get_header_value("x-amz-content-sha256"), k_empty_sha256);
  EXPECT_EQ(list.problem, "");
}

TEST_F(RequestSigningTest, SqsJsonRequestCarriesBodyHashAndVerifies) {
  Client client = make_client("sqs");
  const std::string json =
      R"({"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/1/q","MaxNumberOfMessages":10})";

  auto response = client.request({.method = "POST",
                                  .url = m_server.url("/"),
                                  .headers = {{"Content-Type", "application/x-amz-json-1.0"},
                                              {"X-Amz-Target", "AmazonSQS.ReceiveMessage"}},
                                  .body = std::string_view(json)});

  ASSERT_TRUE(response) << response.error().message;
  const Captured captured = last();
  EXPECT_EQ(captured.request.get_header_value("x-amz-content-sha256"), sha256_hex(json));
  EXPECT_NE(captured.request.get_header_value("Authorization").find("x-amz-target"),
            std::string::npos);
  EXPECT_EQ(captured.request.body, json);
  EXPECT_EQ(captured.problem, "");
}

TEST_F(RequestSigningTest, WrongSecretIsDetectedByTheVerifier) {
  auto client =
      Client::create({.signing = SigningConfig{.service = "s3",
                                               .region = "eu-west-1",
                                               .credentials = make_static_credentials_provider(
                                                   {.access_key_id = "AKIDEXAMPLE",
                                                    .secret_access_key = "not-the-secret",
                                                    .session_token = "",
                                                    .expiration = std::nullopt})}});
  ASSERT_TRUE(client);

  ASSERT_TRUE(client->request({.url = m_server.url("/bucket/key")}));

  EXPECT_NE(last().problem, "");
}

} // namespace
} // namespace rsi::http
