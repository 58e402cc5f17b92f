#include "http/credentials.hpp"

#include <fstream>

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
