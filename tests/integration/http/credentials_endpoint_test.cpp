// The default credential chain against local stand-ins for the container credentials
// endpoint and EC2 instance metadata (IMDSv2), with an injected clock for refreshes.

#include <atomic>
#include <fstream>
#include <mutex>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/clock.hpp"
#include "http/credentials.hpp"
#include "local_server.hpp"
#include "support/fake_clock.hpp"
#include "support/iso8601.hpp"
#include "support/temp_dir.hpp"

namespace rsi::http {
namespace {

using namespace std::chrono_literals;

class CredentialsEndpointTest : public ::testing::Test {
protected:
  // Credentials "KEY<n>" valid for an hour from the fake clock's now, n counting fetches.
  std::string credentials_json() {
    const int fetch = ++m_fetches;
    return fmt::format(
        R"({{"Code":"Success","AccessKeyId":"KEY{}","SecretAccessKey":"secret{}","Token":"token{}","Expiration":"{}"}})",
        fetch, fetch, fetch, test::aws_iso8601(m_clock.now() + 1h));
  }

  Environment env() const {
    return {{"HOME", m_dir.path().string()}, {"AWS_EC2_METADATA_DISABLED", "true"}};
  }

  CredentialsChainOptions options() const {
    CredentialsChainOptions result;
    result.container_host = m_server.url();
    result.metadata_timeout = 1000ms;
    return result;
  }

  test::TempDir m_dir;
  test::FakeClock m_clock;
  test::LocalServer m_server;
  std::atomic<int> m_fetches{0};
  std::atomic<bool> m_failing{false};
  std::mutex m_mutex;
  std::string m_authorization;
};

TEST_F(CredentialsEndpointTest, ContainerFullUriWithAuthorizationToken) {
  m_server.server().Get("/creds",
                        [this](const httplib::Request& request, httplib::Response& response) {
                          std::lock_guard lock(m_mutex);
                          m_authorization = request.get_header_value("Authorization");
                          response.set_content(credentials_json(), "application/json");
                        });
  m_server.start();
  Environment environment = env();
  environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = m_server.url("/creds");
  environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "Bearer abc";

  auto credentials = make_default_credentials_provider(environment, m_clock, options())->get();

  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ(credentials->access_key_id, "KEY1");
  EXPECT_EQ(credentials->secret_access_key, "secret1");
  EXPECT_EQ(credentials->session_token, "token1");
  EXPECT_EQ(credentials->expiration, m_clock.now() + 1h);
  std::lock_guard lock(m_mutex);
  EXPECT_EQ(m_authorization, "Bearer abc");
}

TEST_F(CredentialsEndpointTest,
       ContainerFullUriOverPlainHttpOnlyToLoopbackOrTheContainerEndpoints) {
  // Nothing listens on these: a refused host fails before any request, naming the rule.
  for (const char* uri :
       {"http://10.0.0.7/creds", "http://credentials.example.com/creds",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/role"}) {
    Environment environment = env();
    environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = uri;
    environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "Bearer secret-token";

    auto credentials = make_default_credentials_provider(environment, m_clock, options())->get();

    ASSERT_FALSE(credentials) << uri;
    EXPECT_EQ(credentials.error().kind, ErrorKind::permanent) << uri;
    EXPECT_NE(credentials.error().message.find("http is allowed only to a loopback address"),
              std::string::npos)
        << credentials.error().message;
    EXPECT_EQ(credentials.error().message.find("secret-token"), std::string::npos);
  }
}

TEST_F(CredentialsEndpointTest, ContainerRelativeUriWithTokenFile) {
  m_server.server().Get("/v2/credentials/id",
                        [this](const httplib::Request& request, httplib::Response& response) {
                          std::lock_guard lock(m_mutex);
                          m_authorization = request.get_header_value("Authorization");
                          response.set_content(credentials_json(), "application/json");
                        });
  m_server.start();
  std::ofstream(m_dir.path("token")) << "file-token\n";
  Environment environment = env();
  environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/id";
  environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = m_dir.path("token").string();

  auto credentials = make_default_credentials_provider(environment, m_clock, options())->get();

  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ(credentials->access_key_id, "KEY1");
  std::lock_guard lock(m_mutex);
  EXPECT_EQ(m_authorization, "file-token");
}

TEST_F(CredentialsEndpointTest, InstanceMetadataV2TokenThenRoleThenCredentials) {
  m_server.server().Put(
      "/latest/api/token", [](const httplib::Request& request, httplib::Response& response) {
        if (request.get_header_value("X-aws-ec2-metadata-token-ttl-seconds").empty()) {
          response.status = 400;
          return;
        }
        response.set_content("imds-token", "text/plain");
      });
  const auto needs_token = [](const httplib::Request& request, httplib::Response& response) {
    if (request.get_header_value("X-aws-ec2-metadata-token") != "imds-token") {
      response.status = 401;
      return false;
    }
    return true;
  };
  m_server.server().Get("/latest/meta-data/iam/security-credentials/",
                        [&](const httplib::Request& request, httplib::Response& response) {
                          if (needs_token(request, response)) {
                            response.set_content("ingester-role\n", "text/plain");
                          }
                        });
  m_server.server().Get("/latest/meta-data/iam/security-credentials/ingester-role",
                        [&](const httplib::Request& request, httplib::Response& response) {
                          if (needs_token(request, response)) {
                            response.set_content(credentials_json(), "application/json");
                          }
                        });
  m_server.start();
  Environment environment = env();
  environment.erase("AWS_EC2_METADATA_DISABLED");
  environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = m_server.url("/");

  auto credentials = make_default_credentials_provider(environment, m_clock, options())->get();

  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ(credentials->access_key_id, "KEY1");
  EXPECT_EQ(credentials->session_token, "token1");
}

TEST_F(CredentialsEndpointTest, RefreshesShortlyBeforeExpiry) {
  m_server.server().Get("/creds", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(credentials_json(), "application/json");
  });
  m_server.start();
  Environment environment = env();
  environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = m_server.url("/creds");
  auto provider = make_default_credentials_provider(environment, m_clock, options());

  auto first = provider->get();
  m_clock.advance(50min);
  auto cached = provider->get();
  m_clock.advance(6min); // Now within refresh_before_expiry (5 min) of the expiration.
  auto refreshed = provider->get();
  auto again = provider->get();

  ASSERT_TRUE(first && cached && refreshed && again);
  EXPECT_EQ(first->access_key_id, "KEY1");
  EXPECT_EQ(cached->access_key_id, "KEY1");
  EXPECT_EQ(refreshed->access_key_id, "KEY2");
  EXPECT_EQ(again->access_key_id, "KEY2");
  EXPECT_EQ(m_fetches, 2);
}

TEST_F(CredentialsEndpointTest, FailedRefreshServesValidCredentialsUntilTheyExpire) {
  m_server.server().Get("/creds", [this](const httplib::Request&, httplib::Response& response) {
    if (m_failing) {
      response.status = 500;
      return;
    }
    response.set_content(credentials_json(), "application/json");
  });
  m_server.start();
  Environment environment = env();
  environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = m_server.url("/creds");
  CredentialsChainOptions chain = options();
  chain.metadata_attempts = 1;
  auto provider = make_default_credentials_provider(environment, m_clock, chain);

  ASSERT_TRUE(provider->get());
  m_failing = true;
  m_clock.advance(57min);
  auto still_valid = provider->get();
  m_clock.advance(4min);
  auto expired = provider->get();

  ASSERT_TRUE(still_valid) << still_valid.error().message;
  EXPECT_EQ(still_valid->access_key_id, "KEY1");
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().kind, ErrorKind::transient);
  EXPECT_EQ(expired.error().message.find("secret1"), std::string::npos);
}

TEST_F(CredentialsEndpointTest, MalformedEndpointAnswerIsPermanentWithoutSecrets) {
  m_server.server().Get("/creds", [](const httplib::Request&, httplib::Response& response) {
    response.set_content(R"({"AccessKeyId":"AK","SecretAccessKey":"hidden","Expiration":"soon"})",
                         "application/json");
  });
  m_server.start();
  Environment environment = env();
  environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = m_server.url("/creds");

  auto credentials = make_default_credentials_provider(environment, m_clock, options())->get();

  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().kind, ErrorKind::permanent);
  EXPECT_EQ(credentials.error().message.find("hidden"), std::string::npos);
}

TEST_F(CredentialsEndpointTest, UnreachableInstanceMetadataIsTransient) {
  m_server.start();
  const int port = m_server.port();
  m_server.stop();
  Environment environment = env();
  environment.erase("AWS_EC2_METADATA_DISABLED");
  environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = fmt::format("http://127.0.0.1:{}", port);

  auto credentials = make_default_credentials_provider(environment, m_clock, options())->get();

  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().kind, ErrorKind::transient);
  EXPECT_NE(credentials.error().message.find("instance metadata"), std::string::npos);
}

} // namespace
} // namespace rsi::http
