// AWS's SigV4 test suite (../shared/testdata/sigv4, header-signing results) against the
// Authorization header our http::Client makes libcurl send, captured by a local server.
//
// Each vector's request.txt is sent the way our callers send requests: the path URI-encoded
// (uri_encode), the query canonical (canonical_query), X-Amz-Date and Host as given, obsolete
// line folding unfolded (RFC 9112 §5.2) and repeated header names merged by the client.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/client.hpp"
#include "http/url.hpp"
#include "local_server.hpp"
#include "support/testdata.hpp"

namespace rsi::http {
namespace {

// Vectors libcurl's signing cannot express, with the reason.
const std::map<std::string, std::string> k_excluded = {
    {"get-slash-normalized",
     "AWS normalisation merges repeated slashes ('//' → '/'); libcurl only removes dot "
     "segments and signs the path it sends"},
    {"get-slashes-normalized",
     "AWS normalisation merges repeated slashes ('//example//' → '/example/'); libcurl only "
     "removes dot segments and signs the path it sends"},
};
// post-sts-header-after passes on the Authorization it checks, but only because its context
// has no token: the client cannot add X-Amz-Security-Token after signing (libcurl signs every
// header it sends), so temporary credentials always go the post-sts-header-before way.

std::string read_text(const std::filesystem::path& path) {
  std::ifstream input(path, std::ios::binary);
  std::stringstream content;
  content << input.rdbuf();
  return content.str();
}

struct VectorRequest {
  std::string method;
  std::string target; // Path and query as written in request.txt.
  Headers headers;
  std::string body;
};

VectorRequest parse_request(const std::string& text) {
  VectorRequest request;
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);
  const auto first_space = line.find(' ');
  request.method = line.substr(0, first_space);
  request.target = line.substr(first_space + 1, line.rfind(' ') - first_space - 1);
  while (std::getline(lines, line) && !line.empty()) {
    if ((line.front() == ' ' || line.front() == '\t') && !request.headers.empty()) {
      const auto start = line.find_first_not_of(" \t");
      request.headers.back().value += " " + line.substr(start);
      continue;
    }
    const auto colon = line.find(':');
    request.headers.push_back({line.substr(0, colon), line.substr(colon + 1)});
  }
  std::string rest;
  while (std::getline(lines, line)) {
    rest += rest.empty() ? line : "\n" + line;
  }
  request.body = rest;
  return request;
}

std::string encoded_url(const std::string& origin, const std::string& target) {
  const auto question = target.find('?');
  std::string url = origin + uri_encode(uri_decode(target.substr(0, question)), true);
  if (question != std::string::npos) {
    std::vector<QueryParam> params;
    std::istringstream pairs(target.substr(question + 1));
    std::string pair;
    while (std::getline(pairs, pair, '&')) {
      const auto equals = pair.find('=');
      params.push_back({uri_decode(pair.substr(0, equals)),
                        equals == std::string::npos ? "" : uri_decode(pair.substr(equals + 1))});
    }
    url += "?" + canonical_query(std::move(params));
  }
  return url;
}

std::string expected_authorization(const std::string& signed_request) {
  std::istringstream lines(signed_request);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("Authorization:")) {
      return line.substr(std::string_view("Authorization:").size());
    }
  }
  return {};
}

// The vectors under ../shared/testdata/sigv4, the excluded ones or the others.
std::vector<std::string> vector_names(bool excluded) {
  std::vector<std::string> names;
  const auto root = test::testdata_file("sigv4");
  if (!root) {
    return {"missing"};
  }
  for (const auto& entry : std::filesystem::directory_iterator(*root)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && k_excluded.contains(name) == excluded) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

class SigV4Vector : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    m_server.server().set_pre_routing_handler(
        [this](const httplib::Request& request, httplib::Response& response) {
          std::lock_guard lock(m_mutex);
          m_authorization = request.get_header_value("Authorization");
          response.status = 200;
          return httplib::Server::HandlerResponse::Handled;
        });
    m_server.start();
  }

  // Sends the vector in `dir` as our callers would; returns the Authorization that arrived.
  std::string authorization_for(const std::filesystem::path& dir) {
    const auto context = nlohmann::json::parse(read_text(dir / "context.json"));
    const VectorRequest vector = parse_request(read_text(dir / "request.txt"));
    const auto& credentials = context["credentials"];
    Credentials keys{.access_key_id = credentials["access_key_id"],
                     .secret_access_key = credentials["secret_access_key"],
                     .session_token = credentials.value("token", ""),
                     .expiration = std::nullopt};
    if (context.value("omit_session_token", false)) {
      keys.session_token.clear();
    }
    auto client = Client::create(
        {.signing = SigningConfig{.service = context["service"],
                                  .region = context["region"],
                                  .credentials = make_static_credentials_provider(keys)}});
    EXPECT_TRUE(client) << client.error().message;
    Request request{.method = vector.method,
                    .url = encoded_url(m_server.url(), vector.target),
                    .headers = vector.headers,
                    .payload_hash = context.value("sign_body", false) ? PayloadHash::automatic
                                                                      : PayloadHash::omit,
                    .normalize_path = context.value("normalize", true)};
    request.headers.push_back({"X-Amz-Date", "20150830T123600Z"});
    if (vector.method == "POST") {
      request.body = std::string_view(vector.body);
    }
    auto response = client->request(request);
    EXPECT_TRUE(response) << response.error().message;
    std::lock_guard lock(m_mutex);
    return m_authorization;
  }

  test::LocalServer m_server;
  std::mutex m_mutex;
  std::string m_authorization;
};

using SigV4ExcludedVector = SigV4Vector;

TEST_P(SigV4Vector, AuthorizationHeaderMatchesExpected) {
  RSI_REQUIRE_TESTDATA(dir, test::testdata_file("sigv4/" + GetParam()));

  const std::string authorization = authorization_for(dir);

  EXPECT_EQ(authorization, expected_authorization(read_text(dir / "header-signed-request.txt")))
      << "canonical request expected:\n"
      << read_text(dir / "header-canonical-request.txt");
}

// Documents the exclusions: if libcurl ever learns to express one, this fails and the vector
// moves to the suite above.
TEST_P(SigV4ExcludedVector, LibcurlCannotExpressIt) {
  RSI_REQUIRE_TESTDATA(dir, test::testdata_file("sigv4/" + GetParam()));

  const std::string authorization = authorization_for(dir);

  EXPECT_NE(authorization, expected_authorization(read_text(dir / "header-signed-request.txt")))
      << "now expressible; the exclusion reason was: " << k_excluded.at(GetParam());
}

const auto k_vector_name = [](const auto& param_info) {
  std::string name = param_info.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
};

INSTANTIATE_TEST_SUITE_P(AwsSuite, SigV4Vector, ::testing::ValuesIn(vector_names(false)),
                         k_vector_name);
INSTANTIATE_TEST_SUITE_P(AwsSuite, SigV4ExcludedVector, ::testing::ValuesIn(vector_names(true)),
                         k_vector_name);

} // namespace
} // namespace rsi::http
