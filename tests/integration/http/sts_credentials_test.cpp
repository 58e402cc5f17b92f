// The default chain's STS sources (assumed roles, web identity) against a local stand-in for
// STS that answers with bodies shaped like real STS answers, found through
// AWS_ENDPOINT_URL_STS. Time comes from a FakeClock; nothing sleeps.

#include <cctype>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "http/credentials.hpp"
#include "local_server.hpp"
#include "support/fake_clock.hpp"
#include "support/iso8601.hpp"
#include "support/temp_dir.hpp"

namespace rsi::http {
namespace {

using namespace std::chrono_literals;

constexpr auto k_base_secret = "base-secret-never-printed";
constexpr auto k_web_token = "eyJhbGciOiJSUzI1NiJ9.web-token-never-printed";

// One request the stand-in received.
struct StsCall {
  std::map<std::string, std::string> params; // The form fields.
  std::string content_type;
  std::string authorization;
  std::string security_token;

  // The access key id of the Authorization header ("Credential=<id>/date/region/sts/...").
  [[nodiscard]] std::string signing_key() const {
    const auto start = authorization.find("Credential=");
    if (start == std::string::npos) {
      return "";
    }
    const auto id = start + std::string_view("Credential=").size();
    return authorization.substr(id, authorization.find('/', id) - id);
  }
  [[nodiscard]] std::string param(const std::string& name) const {
    auto found = params.find(name);
    return found == params.end() ? "" : found->second;
  }
};

// A stand-in for STS. Credentials it issues are named after the role and a running count
// ("ASIA<ROLE><n>", "secret-<role>-<n>", "token-<role>-<n>") and expire an hour after the
// fake clock's now.
class FakeSts {
public:
  explicit FakeSts(const test::FakeClock& clock) : m_clock(clock) {
    m_server.server().Post("/", [this](const httplib::Request& request,
                                       httplib::Response& response) { answer(request, response); });
    m_server.start();
  }

  [[nodiscard]] std::string url() const { return m_server.url(); }

  // Answer every call from now on with this error.
  void fail_with(int status, std::string code, std::string message) {
    std::lock_guard lock(m_mutex);
    m_error = Error{status, std::move(code), std::move(message)};
  }

  [[nodiscard]] std::vector<StsCall> calls() const {
    std::lock_guard lock(m_mutex);
    return m_calls;
  }

private:
  struct Error {
    int status = 0;
    std::string code;
    std::string message;
  };

  static std::string role_name(const std::string& arn) { return arn.substr(arn.rfind('/') + 1); }

  void answer(const httplib::Request& request, httplib::Response& response) {
    std::lock_guard lock(m_mutex);
    StsCall call{.params = {},
                 .content_type = request.get_header_value("Content-Type"),
                 .authorization = request.get_header_value("Authorization"),
                 .security_token = request.get_header_value("X-Amz-Security-Token")};
    for (const auto& [name, value] : request.params) {
      call.params[name] = value;
    }
    m_calls.push_back(call);
    if (m_error) {
      response.status = m_error->status;
      response.set_header("x-amzn-RequestId", "4e5a2b1c-8f0d-4c5e-9a7b-000000000001");
      response.set_content(
          fmt::format(R"(<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>{}</Code>
    <Message>{}</Message>
  </Error>
  <RequestId>4e5a2b1c-8f0d-4c5e-9a7b-000000000001</RequestId>
</ErrorResponse>
)",
                      m_error->code, m_error->message),
          "text/xml");
      return;
    }
    const std::string action = call.param("Action");
    const std::string role = role_name(call.param("RoleArn"));
    const int count = ++m_issued[role];
    std::string upper_role = role;
    for (char& letter : upper_role) {
      letter = static_cast<char>(std::toupper(static_cast<unsigned char>(letter)));
    }
    const std::string credentials = fmt::format(R"(<Credentials>
      <AccessKeyId>ASIA{}{}</AccessKeyId>
      <SecretAccessKey>secret-{}-{}</SecretAccessKey>
      <SessionToken>token-{}-{}</SessionToken>
      <Expiration>{}</Expiration>
    </Credentials>)",
                                                upper_role, count, role, count, role, count,
                                                test::aws_iso8601(m_clock.now() + 1h));
    const std::string assumed_user =
        fmt::format(R"(<AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/{}/{}</Arn>
      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:{}</AssumedRoleId>
    </AssumedRoleUser>)",
                    role, call.param("RoleSessionName"), call.param("RoleSessionName"));
    if (action == "AssumeRole") {
      response.set_content(
          fmt::format(R"(<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    {}
    {}
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>
)",
                      assumed_user, credentials),
          "text/xml");
    } else if (action == "AssumeRoleWithWebIdentity") {
      response.set_content(
          fmt::format(
              R"(<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:ingest:rs-ingester</SubjectFromWebIdentityToken>
    <Audience>sts.amazonaws.com</Audience>
    {}
    {}
    <Provider>arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
)",
              assumed_user, credentials),
          "text/xml");
    } else {
      response.status = 400;
      response.set_content("<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code>"
                           "</Error></ErrorResponse>",
                           "text/xml");
    }
  }

  const test::FakeClock& m_clock;
  test::LocalServer m_server;
  mutable std::mutex m_mutex;
  std::vector<StsCall> m_calls;        // Guarded by m_mutex.
  std::map<std::string, int> m_issued; // Guarded by m_mutex.
  std::optional<Error> m_error;        // Guarded by m_mutex.
};

class StsCredentialsTest : public ::testing::Test {
protected:
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(m_dir.path(name)) << text;
  }

  // Shared files in the temp dir, STS at the stand-in, no instance metadata.
  Environment env() const {
    return {{"HOME", m_dir.path().string()},
            {"AWS_EC2_METADATA_DISABLED", "true"},
            {"AWS_CONFIG_FILE", m_dir.path("config").string()},
            {"AWS_SHARED_CREDENTIALS_FILE", m_dir.path("credentials").string()},
            {"AWS_REGION", "eu-west-1"},
            {"AWS_ENDPOINT_URL_STS", m_sts.url()}};
  }

  std::shared_ptr<CredentialsProvider> provider(const Environment& environment) {
    CredentialsChainOptions options;
    options.sts_attempts = 1; // Retries would wait in real time; none are tested here.
    options.sts_timeout = 5000ms;
    return make_default_credentials_provider(environment, m_clock, options);
  }

  void write_base_credentials() const {
    write("credentials",
          fmt::format("[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = {}\n",
                      k_base_secret));
  }

  test::TempDir m_dir;
  test::FakeClock m_clock;
  FakeSts m_sts{m_clock};
};

TEST_F(StsCredentialsTest, SourceProfileRoleIsAssumedWithRequestSignedByTheSourceKeys) {
  write_base_credentials();
  write("config", "[profile loader]\nrole_arn = arn:aws:iam::123456789012:role/loader\n"
                  "source_profile = base\nrole_session_name = ingester-a\n"
                  "external_id = partner-42\nduration_seconds = 1800\n");
  Environment environment = env();
  environment["AWS_PROFILE"] = "loader";

  auto credentials = provider(environment)->get();

  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ(credentials->access_key_id, "ASIALOADER1");
  EXPECT_EQ(credentials->secret_access_key, "secret-loader-1");
  EXPECT_EQ(credentials->session_token, "token-loader-1");
  EXPECT_EQ(credentials->expiration, m_clock.now() + 1h);
  const auto calls = m_sts.calls();
  ASSERT_EQ(calls.size(), 1U);
  EXPECT_EQ(calls[0].param("Action"), "AssumeRole");
  EXPECT_EQ(calls[0].param("Version"), "2011-06-15");
  EXPECT_EQ(calls[0].param("RoleArn"), "arn:aws:iam::123456789012:role/loader");
  EXPECT_EQ(calls[0].param("RoleSessionName"), "ingester-a");
  EXPECT_EQ(calls[0].param("ExternalId"), "partner-42");
  EXPECT_EQ(calls[0].param("DurationSeconds"), "1800");
  EXPECT_EQ(calls[0].content_type, "application/x-www-form-urlencoded; charset=utf-8");
  EXPECT_EQ(calls[0].signing_key(), "AKIABASE");
  EXPECT_NE(calls[0].authorization.find("/eu-west-1/sts/aws4_request"), std::string::npos)
      << calls[0].authorization;
  EXPECT_TRUE(calls[0].security_token.empty());
}

TEST_F(StsCredentialsTest, ChainedRoleIsSignedByThePreviousRole) {
  write_base_credentials();
  write("config", "[profile hop]\nrole_arn = arn:aws:iam::111111111111:role/hop\n"
                  "source_profile = base\n"
                  "[profile target]\nrole_arn = arn:aws:iam::222222222222:role/target\n"
                  "source_profile = hop\n");
  Environment environment = env();
  environment["AWS_PROFILE"] = "target";

  auto credentials = provider(environment)->get();

  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ(credentials->access_key_id, "ASIATARGET1");
  const auto calls = m_sts.calls();
  ASSERT_EQ(calls.size(), 2U);
  EXPECT_EQ(calls[0].param("RoleArn"), "arn:aws:iam::111111111111:role/hop");
  EXPECT_EQ(calls[0].signing_key(), "AKIABASE");
  EXPECT_EQ(calls[1].param("RoleArn"), "arn:aws:iam::222222222222:role/target");
  EXPECT_EQ(calls[1].signing_key(), "ASIAHOP1");
  EXPECT_EQ(calls[1].security_token, "token-hop-1");
}

TEST_F(StsCredentialsTest, ProfileNamingItselfUsesItsOwnKeys) {
  write("credentials", "[self]\naws_access_key_id = AKIASELF\naws_secret_access_key = s\n");
  write("config", "[profile self]\nrole_arn = arn:aws:iam::1:role/elevated\n"
                  "source_profile = self\n");
  Environment environment = env();
  environment["AWS_PROFILE"] = "self";

  auto credentials = provider(environment)->get();

  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ(credentials->access_key_id, "ASIAELEVATED1");
  ASSERT_EQ(m_sts.calls().size(), 1U);
  EXPECT_EQ(m_sts.calls()[0].signing_key(), "AKIASELF");
}

TEST_F(StsCredentialsTest, CredentialSourceEnvironmentSignsWithTheEnvironmentKeys) {
  write("config", "[profile ci]\nrole_arn = arn:aws:iam::1:role/deployer\n"
                  "credential_source = Environment\n");
  Environment environment = env();
  environment["AWS_PROFILE"] = "ci";
  environment["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  environment["AWS_SECRET_ACCESS_KEY"] = "env-secret";

  auto credentials = provider(environment)->get();

  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ(credentials->access_key_id, "ASIADEPLOYER1");
  ASSERT_EQ(m_sts.calls().size(), 1U);
  EXPECT_EQ(m_sts.calls()[0].signing_key(), "AKIAENV");
  // Without a configured name the session is named after this program and the time.
  EXPECT_EQ(m_sts.calls()[0].param("RoleSessionName"), "rs_ingester-1700000000");
}

TEST_F(StsCredentialsTest, EnvironmentKeysComeBeforeAnyRole) {
  write("config", "[default]\nrole_arn = arn:aws:iam::1:role/unused\nsource_profile = base\n");
  write_base_credentials();
  Environment environment = env();
  environment["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  environment["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  environment["AWS_WEB_IDENTITY_TOKEN_FILE"] = m_dir.path("token").string();
  environment["AWS_ROLE_ARN"] = "arn:aws:iam::1:role/unused";

  auto credentials = provider(environment)->get();

  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ(credentials->access_key_id, "AKIAENV");
  EXPECT_TRUE(m_sts.calls().empty());
}

TEST_F(StsCredentialsTest, WebIdentityFromTheEnvironmentIsUnsignedAndRereadsTheTokenFile) {
  write("token", std::string(k_web_token) + "\n");
  write("credentials", "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = f\n");
  Environment environment = env();
  environment["AWS_WEB_IDENTITY_TOKEN_FILE"] = m_dir.path("token").string();
  environment["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/eks-loader";
  environment["AWS_ROLE_SESSION_NAME"] = "pod-1";
  auto chain = provider(environment);

  auto first = chain->get();
  write("token", "rotated-token-2\n"); // What the kubelet does about every hour.
  m_clock.advance(40min);
  auto cached = chain->get();
  m_clock.advance(16min); // Within refresh_before_expiry (5 min) of the expiration.
  auto refreshed = chain->get();

  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(cached && refreshed);
  EXPECT_EQ(first->access_key_id, "ASIAEKS-LOADER1");
  EXPECT_EQ(cached->access_key_id, "ASIAEKS-LOADER1");
  EXPECT_EQ(refreshed->access_key_id, "ASIAEKS-LOADER2");
  const auto calls = m_sts.calls();
  ASSERT_EQ(calls.size(), 2U);
  EXPECT_EQ(calls[0].param("Action"), "AssumeRoleWithWebIdentity");
  EXPECT_EQ(calls[0].param("RoleArn"), "arn:aws:iam::123456789012:role/eks-loader");
  EXPECT_EQ(calls[0].param("RoleSessionName"), "pod-1");
  EXPECT_EQ(calls[0].param("WebIdentityToken"), k_web_token);
  EXPECT_TRUE(calls[0].authorization.empty());
  EXPECT_EQ(calls[1].param("WebIdentityToken"), "rotated-token-2");
}

TEST_F(StsCredentialsTest, WebIdentityFromAProfileRereadsTheTokenFile) {
  write("token", "profile-token-1");
  write("config", fmt::format("[profile eks]\nrole_arn = arn:aws:iam::1:role/reader\n"
                              "web_identity_token_file = {}\nrole_session_name = reader-pod\n",
                              m_dir.path("token").string()));
  Environment environment = env();
  environment["AWS_PROFILE"] = "eks";
  auto chain = provider(environment);

  auto first = chain->get();
  write("token", "profile-token-2");
  m_clock.advance(56min);
  auto refreshed = chain->get();

  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(refreshed) << refreshed.error().message;
  EXPECT_EQ(first->access_key_id, "ASIAREADER1");
  EXPECT_EQ(refreshed->access_key_id, "ASIAREADER2");
  const auto calls = m_sts.calls();
  ASSERT_EQ(calls.size(), 2U);
  EXPECT_EQ(calls[0].param("Action"), "AssumeRoleWithWebIdentity");
  EXPECT_EQ(calls[0].param("WebIdentityToken"), "profile-token-1");
  EXPECT_EQ(calls[0].param("RoleSessionName"), "reader-pod");
  EXPECT_EQ(calls[1].param("WebIdentityToken"), "profile-token-2");
}

TEST_F(StsCredentialsTest, AssumedRoleIsRefreshedShortlyBeforeExpiryOnly) {
  write_base_credentials();
  write("config", "[profile loader]\nrole_arn = arn:aws:iam::1:role/loader\n"
                  "source_profile = base\n");
  Environment environment = env();
  environment["AWS_PROFILE"] = "loader";
  auto chain = provider(environment);

  auto first = chain->get();
  m_clock.advance(50min);
  auto cached = chain->get();
  m_clock.advance(6min);
  auto refreshed = chain->get();
  auto again = chain->get();

  ASSERT_TRUE(first && cached && refreshed && again);
  EXPECT_EQ(first->access_key_id, "ASIALOADER1");
  EXPECT_EQ(cached->access_key_id, "ASIALOADER1");
  EXPECT_EQ(refreshed->access_key_id, "ASIALOADER2");
  EXPECT_EQ(again->access_key_id, "ASIALOADER2");
  EXPECT_EQ(refreshed->expiration, m_clock.now() + 1h);
  EXPECT_EQ(m_sts.calls().size(), 2U);
}

TEST_F(StsCredentialsTest, ChainRefreshesEachLinkWhenItsOwnCredentialsNearExpiry) {
  write_base_credentials();
  write("config", "[profile hop]\nrole_arn = arn:aws:iam::1:role/hop\nsource_profile = base\n"
                  "[profile target]\nrole_arn = arn:aws:iam::1:role/target\n"
                  "source_profile = hop\n");
  Environment environment = env();
  environment["AWS_PROFILE"] = "target";
  auto chain = provider(environment);

  ASSERT_TRUE(chain->get());
  m_clock.advance(56min);
  auto refreshed = chain->get();

  ASSERT_TRUE(refreshed) << refreshed.error().message;
  EXPECT_EQ(refreshed->access_key_id, "ASIATARGET2");
  const auto calls = m_sts.calls();
  ASSERT_EQ(calls.size(), 4U);
  // The hop's credentials expire together with the target's, so both were fetched again, the
  // hop first, and the new target credentials were signed with the new hop credentials.
  EXPECT_EQ(calls[2].param("RoleArn"), "arn:aws:iam::1:role/hop");
  EXPECT_EQ(calls[3].signing_key(), "ASIAHOP2");
}

TEST_F(StsCredentialsTest, FailedRefreshKeepsTheRoleCredentialsUntilTheyExpire) {
  write_base_credentials();
  write("config", "[profile loader]\nrole_arn = arn:aws:iam::1:role/loader\n"
                  "source_profile = base\n");
  Environment environment = env();
  environment["AWS_PROFILE"] = "loader";
  auto chain = provider(environment);

  ASSERT_TRUE(chain->get());
  m_sts.fail_with(400, "Throttling", "Rate exceeded");
  m_clock.advance(57min);
  auto still_valid = chain->get();
  m_clock.advance(4min);
  auto expired = chain->get();

  ASSERT_TRUE(still_valid) << still_valid.error().message;
  EXPECT_EQ(still_valid->access_key_id, "ASIALOADER1");
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().kind, ErrorKind::transient);
  EXPECT_NE(expired.error().message.find("Throttling"), std::string::npos);
}

TEST_F(StsCredentialsTest, AccessDeniedIsPermanentNamingTheRoleButNoSecret) {
  write_base_credentials();
  write("config", "[profile loader]\nrole_arn = arn:aws:iam::123456789012:role/loader\n"
                  "source_profile = base\n");
  m_sts.fail_with(403, "AccessDenied",
                  "User: arn:aws:iam::123456789012:user/base is not authorized to perform: "
                  "sts:AssumeRole on resource: arn:aws:iam::123456789012:role/loader");
  Environment environment = env();
  environment["AWS_PROFILE"] = "loader";

  auto credentials = provider(environment)->get();

  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().kind, ErrorKind::permanent);
  EXPECT_NE(credentials.error().message.find("AssumeRole arn:aws:iam::123456789012:role/loader"),
            std::string::npos)
      << credentials.error().message;
  EXPECT_NE(credentials.error().message.find("AccessDenied"), std::string::npos);
  EXPECT_EQ(credentials.error().message.find(k_base_secret), std::string::npos);
}

TEST_F(StsCredentialsTest, InvalidIdentityTokenIsPermanentWithoutTheToken) {
  write("token", k_web_token);
  m_sts.fail_with(400, "InvalidIdentityToken", "Incorrect token audience");
  Environment environment = env();
  environment["AWS_WEB_IDENTITY_TOKEN_FILE"] = m_dir.path("token").string();
  environment["AWS_ROLE_ARN"] = "arn:aws:iam::1:role/eks-loader";

  auto credentials = provider(environment)->get();

  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().kind, ErrorKind::permanent);
  EXPECT_NE(credentials.error().message.find("arn:aws:iam::1:role/eks-loader"), std::string::npos);
  EXPECT_NE(credentials.error().message.find("InvalidIdentityToken"), std::string::npos);
  EXPECT_EQ(credentials.error().message.find(k_web_token), std::string::npos);
}

TEST_F(StsCredentialsTest, ServerErrorIsTransient) {
  write("token", k_web_token);
  m_sts.fail_with(503, "ServiceUnavailable", "Service is unable to handle request.");
  Environment environment = env();
  environment["AWS_WEB_IDENTITY_TOKEN_FILE"] = m_dir.path("token").string();
  environment["AWS_ROLE_ARN"] = "arn:aws:iam::1:role/eks-loader";

  auto credentials = provider(environment)->get();

  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().kind, ErrorKind::transient);
}

TEST_F(StsCredentialsTest, MissingWebIdentityTokenFileIsPermanent) {
  Environment environment = env();
  environment["AWS_WEB_IDENTITY_TOKEN_FILE"] = m_dir.path("absent-token").string();
  environment["AWS_ROLE_ARN"] = "arn:aws:iam::1:role/eks-loader";

  auto credentials = provider(environment)->get();

  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().kind, ErrorKind::permanent);
  EXPECT_NE(credentials.error().message.find("absent-token"), std::string::npos);
  EXPECT_TRUE(m_sts.calls().empty());
}

TEST_F(StsCredentialsTest, SourceProfileCycleIsAClearErrorWithoutCallingSts) {
  write("config", "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n"
                  "[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n");
  Environment environment = env();
  environment["AWS_PROFILE"] = "a";

  auto credentials = provider(environment)->get();

  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().kind, ErrorKind::permanent);
  EXPECT_NE(credentials.error().message.find("source_profile cycle a -> b -> a"), std::string::npos)
      << credentials.error().message;
  EXPECT_TRUE(m_sts.calls().empty());
}

TEST_F(StsCredentialsTest, MissingCaBundleFailsClearlyBeforeCallingSts) {
  write_base_credentials();
  write("config", "[profile loader]\nrole_arn = arn:aws:iam::1:role/loader\n"
                  "source_profile = base\n");
  Environment environment = env();
  environment["AWS_PROFILE"] = "loader";
  environment["AWS_CA_BUNDLE"] = m_dir.path("missing-ca.pem").string();

  auto credentials = provider(environment)->get();

  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().kind, ErrorKind::permanent);
  EXPECT_NE(credentials.error().message.find("AWS_CA_BUNDLE"), std::string::npos)
      << credentials.error().message;
  EXPECT_NE(credentials.error().message.find("missing-ca.pem"), std::string::npos);
  EXPECT_TRUE(m_sts.calls().empty());
}

} // namespace
} // namespace rsi::http
