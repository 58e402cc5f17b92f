#include "http/aws_settings.hpp"

#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace rsi::http {
namespace {

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(AwsSettingsTest, RegionPrefersConfigThenAwsRegionThenDefaultRegion) {
  const Environment env = {{"AWS_REGION", "eu-west-1"}, {"AWS_DEFAULT_REGION", "us-west-2"}};

  EXPECT_EQ(resolve_region(env, {.region = "ap-south-1"}).value(), "ap-south-1");
  EXPECT_EQ(resolve_region(env, {}).value(), "eu-west-1");
  EXPECT_EQ(resolve_region({{"AWS_DEFAULT_REGION", "us-west-2"}}, {}).value(), "us-west-2");
}

TEST(AwsSettingsTest, RegionFallsBackToTheProfileInTheConfigFile) {
  test::TempDir dir;
  write_file(dir.path("config"),
             "[default]\nregion = us-east-2\n[profile ops]\nregion=eu-north-1\n");
  const Environment env = {{"AWS_CONFIG_FILE", dir.path("config").string()}};

  EXPECT_EQ(resolve_region(env, {}).value(), "us-east-2");
  EXPECT_EQ(resolve_region(env, {.profile = "ops"}).value(), "eu-north-1");
}

TEST(AwsSettingsTest, MissingRegionIsAPermanentErrorNamingTheSettings) {
  auto region = resolve_region({{"HOME", "/nonexistent"}}, {});

  ASSERT_FALSE(region);
  EXPECT_EQ(region.error().kind, ErrorKind::permanent);
  EXPECT_NE(region.error().message.find("AWS_REGION"), std::string::npos);
}

TEST(AwsSettingsTest, ServiceEndpointOverrideBeatsGlobalOverride) {
  const Environment env = {{"AWS_REGION", "us-east-1"},
                           {"AWS_ENDPOINT_URL", "http://127.0.0.1:1"},
                           {"AWS_ENDPOINT_URL_S3", "http://127.0.0.1:2"}};

  auto s3 = resolve_service_endpoint(env, "s3", {});
  auto sqs = resolve_service_endpoint(env, "sqs", {});

  ASSERT_TRUE(s3 && sqs);
  EXPECT_EQ(s3->url.origin(), "http://127.0.0.1:2");
  EXPECT_TRUE(s3->overridden);
  EXPECT_TRUE(s3->path_style);
  EXPECT_EQ(sqs->url.origin(), "http://127.0.0.1:1");
}

TEST(AwsSettingsTest, ConfiguredEndpointBeatsTheEnvironment) {
  const Environment env = {{"AWS_REGION", "us-east-1"},
                           {"AWS_ENDPOINT_URL_S3", "http://127.0.0.1:2"}};

  auto s3 = resolve_service_endpoint(env, "s3", {.endpoint = "http://localhost:9000"});

  ASSERT_TRUE(s3);
  EXPECT_EQ(s3->url.origin(), "http://localhost:9000");
}

TEST(AwsSettingsTest, WithoutOverrideAwsIsAddressedVirtualHostedOverHttps) {
  auto s3 = resolve_service_endpoint({{"AWS_REGION", "eu-west-1"}}, "s3", {});
  auto china = resolve_service_endpoint({{"AWS_REGION", "cn-north-1"}}, "sqs", {});

  ASSERT_TRUE(s3 && china);
  EXPECT_EQ(s3->url.origin(), "https://s3.eu-west-1.amazonaws.com");
  EXPECT_FALSE(s3->path_style);
  EXPECT_FALSE(s3->overridden);
  EXPECT_EQ(china->url.origin(), "https://sqs.cn-north-1.amazonaws.com.cn");
}

TEST(AwsSettingsTest, IgnoreConfiguredEndpointUrlsDisablesTheEnvironmentOverrides) {
  const Environment env = {{"AWS_REGION", "us-east-1"},
                           {"AWS_ENDPOINT_URL_S3", "http://127.0.0.1:2"},
                           {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"}};

  auto s3 = resolve_service_endpoint(env, "s3", {});

  ASSERT_TRUE(s3);
  EXPECT_FALSE(s3->overridden);
}

TEST(AwsSettingsTest, MalformedEndpointIsPermanent) {
  auto s3 =
      resolve_service_endpoint({{"AWS_REGION", "us-east-1"}}, "s3", {.endpoint = "localhost"});

  ASSERT_FALSE(s3);
  EXPECT_EQ(s3.error().kind, ErrorKind::permanent);
}

TEST(AwsSettingsTest, ProfileComesFromConfigThenAwsProfile) {
  EXPECT_EQ(resolve_profile({{"AWS_PROFILE", "ops"}}, {}), "ops");
  EXPECT_EQ(resolve_profile({{"AWS_PROFILE", "ops"}}, {.profile = "ci"}), "ci");
  EXPECT_EQ(resolve_profile({}, {}), "default");
}

TEST(AwsSettingsTest, DefaultProfileVariableComesAfterAwsProfile) {
  EXPECT_EQ(resolve_profile({{"AWS_DEFAULT_PROFILE", "legacy"}}, {}), "legacy");
  EXPECT_EQ(resolve_profile({{"AWS_DEFAULT_PROFILE", "legacy"}, {"AWS_PROFILE", "ops"}}, {}),
            "ops");
}

TEST(AwsSettingsTest, RegionFollowsTheDefaultProfileVariable) {
  test::TempDir dir;
  write_file(dir.path("config"),
             "[default]\nregion = us-east-2\n[profile ops]\nregion = eu-north-1\n");
  const Environment env = {{"AWS_CONFIG_FILE", dir.path("config").string()},
                           {"AWS_DEFAULT_PROFILE", "ops"}};

  EXPECT_EQ(resolve_region(env, {}).value(), "eu-north-1");
}

constexpr auto k_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

TEST(AwsSettingsTest, CaBundleIsUnsetByDefault) {
  auto bundle = resolve_ca_bundle({{"HOME", "/nonexistent"}}, {});

  ASSERT_TRUE(bundle) << bundle.error().message;
  EXPECT_FALSE(*bundle);
}

TEST(AwsSettingsTest, CaBundleComesFromTheEnvironmentThenTheProfile) {
  test::TempDir dir;
  write_file(dir.path("env.pem"), k_pem);
  write_file(dir.path("profile.pem"), k_pem);
  write_file(dir.path("config"),
             fmt::format("[profile ops]\nca_bundle = {}\n", dir.path("profile.pem").string()));
  const Environment from_profile = {{"AWS_CONFIG_FILE", dir.path("config").string()},
                                    {"AWS_PROFILE", "ops"}};
  Environment from_env = from_profile;
  from_env["AWS_CA_BUNDLE"] = dir.path("env.pem").string();

  auto profile_bundle = resolve_ca_bundle(from_profile, {});
  auto env_bundle = resolve_ca_bundle(from_env, {});

  ASSERT_TRUE(profile_bundle && env_bundle);
  EXPECT_EQ(profile_bundle->value_or(""), dir.path("profile.pem").string());
  EXPECT_EQ(env_bundle->value_or(""), dir.path("env.pem").string());
}

TEST(AwsSettingsTest, MissingCaBundleIsAPermanentErrorNamingTheVariable) {
  auto bundle = resolve_ca_bundle({{"AWS_CA_BUNDLE", "/nonexistent/ca.pem"}}, {});

  ASSERT_FALSE(bundle);
  EXPECT_EQ(bundle.error().kind, ErrorKind::permanent);
  EXPECT_NE(bundle.error().message.find("AWS_CA_BUNDLE"), std::string::npos);
  EXPECT_NE(bundle.error().message.find("/nonexistent/ca.pem"), std::string::npos);
}

TEST(AwsSettingsTest, CaBundleWithoutACertificateIsAPermanentError) {
  test::TempDir dir;
  write_file(dir.path("empty.pem"), "");

  auto file = resolve_ca_bundle({{"AWS_CA_BUNDLE", dir.path("empty.pem").string()}}, {});
  auto directory = resolve_ca_bundle({{"AWS_CA_BUNDLE", dir.path().string()}}, {});

  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().kind, ErrorKind::permanent);
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().kind, ErrorKind::permanent);
}

TEST(AwsSettingsTest, ReadProfileHandlesCommentsNestingAndSectionStyles) {
  test::TempDir dir;
  write_file(dir.path("credentials"), "# comment\n[default]\naws_access_key_id = A\n"
                                      "s3 =\n  max_concurrent_requests = 2\n[ops]\nkey=value\n");
  write_file(dir.path("config"), "[profile ops]\nregion = eu-west-1\n[ops]\nregion = wrong\n");

  auto credentials = read_profile(dir.path("credentials"), "default", false);
  auto config = read_profile(dir.path("config"), "ops", true);

  ASSERT_TRUE(credentials && config);
  EXPECT_EQ(credentials->at("aws_access_key_id"), "A");
  EXPECT_EQ(credentials->count("max_concurrent_requests"), 0U);
  EXPECT_EQ(config->at("region"), "eu-west-1");
  EXPECT_FALSE(read_profile(dir.path("credentials"), "missing", false));
  EXPECT_FALSE(read_profile(dir.path("nonexistent"), "default", false));
}

} // namespace
} // namespace rsi::http
