#include "http/credentials.hpp"

#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"

namespace rsi::http {
namespace {

class CredentialsChainTest : public ::testing::Test {
protected:
  // No instance metadata here: a test that reaches it would wait for 169.254.169.254.
  Environment base_env() const {
    return {{"HOME", m_dir.path().string()}, {"AWS_EC2_METADATA_DISABLED", "true"}};
  }

  void write(const std::string& name, const std::string& text) const {
    std::ofstream(m_dir.path(name)) << text;
  }

  test::TempDir m_dir;
  test::FakeClock m_clock;
};

TEST_F(CredentialsChainTest, EnvironmentComesFirst) {
  write("credentials", "[default]\naws_access_key_id = FILE\naws_secret_access_key = file\n");
  Environment env = base_env();
  env["AWS_SHARED_CREDENTIALS_FILE"] = m_dir.path("credentials").string();
  env["AWS_ACCESS_KEY_ID"] = "ENVKEY";
  env["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  env["AWS_SESSION_TOKEN"] = "token";

  auto credentials = make_default_credentials_provider(env, m_clock)->get();

  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ(credentials->access_key_id, "ENVKEY");
  EXPECT_EQ(credentials->secret_access_key, "envsecret");
  EXPECT_EQ(credentials->session_token, "token");
  EXPECT_FALSE(credentials->expiration);
}

TEST_F(CredentialsChainTest, LegacyEnvironmentNamesAreAccepted) {
  Environment env = base_env();
  env["AWS_ACCESS_KEY"] = "OLDKEY";
  env["AWS_SECRET_KEY"] = "oldsecret";

  auto credentials = make_default_credentials_provider(env, m_clock)->get();

  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ(credentials->access_key_id, "OLDKEY");
  EXPECT_EQ(credentials->secret_access_key, "oldsecret");
}

TEST_F(CredentialsChainTest, CurrentEnvironmentNamesWinOverLegacyOnes) {
  Environment env = base_env();
  env["AWS_ACCESS_KEY_ID"] = "NEWKEY";
  env["AWS_ACCESS_KEY"] = "OLDKEY";
  env["AWS_SECRET_ACCESS_KEY"] = "newsecret";
  env["AWS_SECRET_KEY"] = "oldsecret";

  auto credentials = make_default_credentials_provider(env, m_clock)->get();

  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ(credentials->access_key_id, "NEWKEY");
  EXPECT_EQ(credentials->secret_access_key, "newsecret");
}

TEST_F(CredentialsChainTest, CurrentAndLegacyNamesCanBeMixed) {
  Environment env = base_env();
  env["AWS_ACCESS_KEY_ID"] = "NEWKEY";
  env["AWS_SECRET_KEY"] = "oldsecret";

  auto credentials = make_default_credentials_provider(env, m_clock)->get();

  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ(credentials->access_key_id, "NEWKEY");
  EXPECT_EQ(credentials->secret_access_key, "oldsecret");
}

TEST_F(CredentialsChainTest, LegacyKeyWithoutSecretIsAPermanentErrorNamingBothNames) {
  Environment env = base_env();
  env["AWS_ACCESS_KEY"] = "OLDKEY";

  auto credentials = make_default_credentials_provider(env, m_clock)->get();

  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().kind, ErrorKind::permanent);
  EXPECT_NE(credentials.error().message.find("AWS_SECRET_KEY"), std::string::npos);
  EXPECT_NE(credentials.error().message.find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
}

TEST_F(CredentialsChainTest, HalfSetEnvironmentIsAPermanentErrorWithoutSecrets) {
  Environment env = base_env();
  env["AWS_SECRET_ACCESS_KEY"] = "do-not-print-me";

  auto credentials = make_default_credentials_provider(env, m_clock)->get();

  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().kind, ErrorKind::permanent);
  EXPECT_EQ(credentials.error().message.find("do-not-print-me"), std::string::npos);
}

TEST_F(CredentialsChainTest, SharedCredentialsFileWithProfile) {
  write("credentials", "[default]\naws_access_key_id = DEFAULT\naws_secret_access_key = d\n"
                       "[ops]\naws_access_key_id = OPS\naws_secret_access_key = o\n"
                       "aws_session_token = t\n");
  Environment env = base_env();
  env["AWS_SHARED_CREDENTIALS_FILE"] = m_dir.path("credentials").string();
  env["AWS_PROFILE"] = "ops";

  auto credentials = make_default_credentials_provider(env, m_clock)->get();

  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ(credentials->access_key_id, "OPS");
  EXPECT_EQ(credentials->secret_access_key, "o");
  EXPECT_EQ(credentials->session_token, "t");
}

TEST_F(CredentialsChainTest, DefaultProfileVariableNamesTheProfileWhenAwsProfileIsUnset) {
  write("credentials", "[default]\naws_access_key_id = DEFAULT\naws_secret_access_key = d\n"
                       "[ops]\naws_access_key_id = OPS\naws_secret_access_key = o\n"
                       "[ci]\naws_access_key_id = CI\naws_secret_access_key = c\n");
  Environment env = base_env();
  env["AWS_SHARED_CREDENTIALS_FILE"] = m_dir.path("credentials").string();
  env["AWS_DEFAULT_PROFILE"] = "ops";
  Environment both = env;
  both["AWS_PROFILE"] = "ci";

  auto from_default_profile = make_default_credentials_provider(env, m_clock)->get();
  auto from_profile = make_default_credentials_provider(both, m_clock)->get();

  ASSERT_TRUE(from_default_profile) << from_default_profile.error().message;
  ASSERT_TRUE(from_profile) << from_profile.error().message;
  EXPECT_EQ(from_default_profile->access_key_id, "OPS");
  EXPECT_EQ(from_profile->access_key_id, "CI");
}

TEST_F(CredentialsChainTest, UnknownDefaultProfileIsAPermanentError) {
  write("credentials", "[default]\naws_access_key_id = D\naws_secret_access_key = d\n");
  Environment env = base_env();
  env["AWS_SHARED_CREDENTIALS_FILE"] = m_dir.path("credentials").string();
  env["AWS_DEFAULT_PROFILE"] = "nope";

  auto credentials = make_default_credentials_provider(env, m_clock)->get();

  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().kind, ErrorKind::permanent);
  EXPECT_NE(credentials.error().message.find("nope"), std::string::npos);
}

TEST_F(CredentialsChainTest, DefaultPathsUnderHomeAndConfigFileCredentials) {
  std::filesystem::create_directories(m_dir.path(".aws"));
  write(".aws/config", "[profile ci]\naws_access_key_id = CI\naws_secret_access_key = c\n");
  Environment env = base_env();
  env["AWS_PROFILE"] = "ci";

  auto credentials = make_default_credentials_provider(env, m_clock)->get();

  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ(credentials->access_key_id, "CI");
}

TEST_F(CredentialsChainTest, UnknownExplicitProfileIsAPermanentError) {
  write("credentials", "[default]\naws_access_key_id = D\naws_secret_access_key = d\n");
  Environment env = base_env();
  env["AWS_SHARED_CREDENTIALS_FILE"] = m_dir.path("credentials").string();
  env["AWS_PROFILE"] = "nope";

  auto credentials = make_default_credentials_provider(env, m_clock)->get();

  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().kind, ErrorKind::permanent);
  EXPECT_NE(credentials.error().message.find("nope"), std::string::npos);
}

TEST_F(CredentialsChainTest, NothingConfiguredIsAPermanentErrorListingTheSources) {
  auto credentials = make_default_credentials_provider(base_env(), m_clock)->get();

  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().kind, ErrorKind::permanent);
  EXPECT_NE(credentials.error().message.find("environment"), std::string::npos);
  EXPECT_NE(credentials.error().message.find("instance metadata"), std::string::npos);
}

// Role profiles that are wrong are refused at discovery, before STS is called (the
// environment points STS at a closed port, so a call would fail differently).
class RoleProfileErrorTest : public CredentialsChainTest {
protected:
  Result<Credentials> get_with_config(const std::string& config, const std::string& profile) {
    write("config", config);
    write("credentials", "[base]\naws_access_key_id = AKIABASE\n"
                         "aws_secret_access_key = base-secret-do-not-print\n");
    Environment env = base_env();
    env["AWS_CONFIG_FILE"] = m_dir.path("config").string();
    env["AWS_SHARED_CREDENTIALS_FILE"] = m_dir.path("credentials").string();
    env["AWS_PROFILE"] = profile;
    env["AWS_REGION"] = "eu-west-1";
    env["AWS_ENDPOINT_URL_STS"] = "http://127.0.0.1:9";
    return make_default_credentials_provider(env, m_clock)->get();
  }

  static void expect_permanent(const Result<Credentials>& credentials,
                               std::initializer_list<std::string_view> mentions) {
    ASSERT_FALSE(credentials);
    EXPECT_EQ(credentials.error().kind, ErrorKind::permanent);
    for (const auto mention : mentions) {
      EXPECT_NE(credentials.error().message.find(mention), std::string::npos)
          << credentials.error().message << " lacks " << mention;
    }
    EXPECT_EQ(credentials.error().message.find("base-secret-do-not-print"), std::string::npos);
  }
};

TEST_F(RoleProfileErrorTest, SourceProfileCycleIsNamed) {
  auto credentials = get_with_config("[profile a]\nrole_arn = arn:aws:iam::1:role/a\n"
                                     "source_profile = b\n"
                                     "[profile b]\nrole_arn = arn:aws:iam::1:role/b\n"
                                     "source_profile = c\n"
                                     "[profile c]\nrole_arn = arn:aws:iam::1:role/c\n"
                                     "source_profile = a\n",
                                     "a");

  expect_permanent(credentials, {"cycle", "a -> b -> c -> a"});
}

TEST_F(RoleProfileErrorTest, OverlongSourceProfileChainIsRefused) {
  std::string config;
  for (int link = 0; link < 12; ++link) {
    config += fmt::format("[profile p{}]\nrole_arn = arn:aws:iam::1:role/p{}\n"
                          "source_profile = p{}\n",
                          link, link, link + 1);
  }
  config += "[profile p12]\naws_access_key_id = A\naws_secret_access_key = s\n";

  auto credentials = get_with_config(config, "p0");

  expect_permanent(credentials, {"more than 8 profiles", "p0 -> p1"});
}

TEST_F(RoleProfileErrorTest, MissingSourceProfileIsNamed) {
  auto credentials = get_with_config(
      "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = nowhere\n", "a");

  expect_permanent(credentials, {"profile a", "source_profile nowhere not found"});
}

TEST_F(RoleProfileErrorTest, RoleWithoutASourceIsRefused) {
  auto credentials = get_with_config("[profile a]\nrole_arn = arn:aws:iam::1:role/a\n", "a");

  expect_permanent(credentials, {"profile a", "source_profile", "credential_source"});
}

TEST_F(RoleProfileErrorTest, RoleWithTwoSourcesIsRefused) {
  auto credentials = get_with_config("[profile a]\nrole_arn = arn:aws:iam::1:role/a\n"
                                     "source_profile = base\ncredential_source = Environment\n",
                                     "a");

  expect_permanent(credentials, {"exactly one"});
}

TEST_F(RoleProfileErrorTest, UnknownCredentialSourceIsNamed) {
  auto credentials = get_with_config(
      "[profile a]\nrole_arn = arn:aws:iam::1:role/a\ncredential_source = Laptop\n", "a");

  expect_permanent(credentials, {"Laptop", "Ec2InstanceMetadata"});
}

TEST_F(RoleProfileErrorTest, EnvironmentCredentialSourceWithoutKeysIsRefused) {
  auto credentials = get_with_config(
      "[profile a]\nrole_arn = arn:aws:iam::1:role/a\ncredential_source = Environment\n", "a");

  expect_permanent(credentials, {"credential_source Environment", "AWS_ACCESS_KEY_ID"});
}

TEST_F(RoleProfileErrorTest, DurationOutOfRangeIsRefused) {
  auto credentials = get_with_config("[profile a]\nrole_arn = arn:aws:iam::1:role/a\n"
                                     "source_profile = base\nduration_seconds = 60\n",
                                     "a");

  expect_permanent(credentials, {"duration_seconds", "900"});
}

TEST_F(RoleProfileErrorTest, MfaSerialIsRefused) {
  auto credentials = get_with_config("[profile a]\nrole_arn = arn:aws:iam::1:role/a\n"
                                     "source_profile = base\n"
                                     "mfa_serial = arn:aws:iam::1:mfa/person\n",
                                     "a");

  expect_permanent(credentials, {"mfa_serial"});
}

TEST_F(RoleProfileErrorTest, SourceProfileWithoutRoleArnIsRefused) {
  auto credentials = get_with_config("[profile a]\nsource_profile = base\n", "a");

  expect_permanent(credentials, {"profile a", "role_arn"});
}

TEST(StaticCredentialsTest, ReturnsWhatItWasGiven) {
  auto provider = make_static_credentials_provider({.access_key_id = "A",
                                                    .secret_access_key = "B",
                                                    .session_token = "",
                                                    .expiration = std::nullopt});

  auto credentials = provider->get();

  ASSERT_TRUE(credentials);
  EXPECT_EQ(credentials->access_key_id, "A");
}

} // namespace
} // namespace rsi::http
