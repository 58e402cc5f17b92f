// Reading STS answers shaped as STS writes them, and where STS is called.

#include "http/sts.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace rsi::http {
namespace {

using namespace std::chrono_literals;

// The shape of a real AssumeRole answer (AWS STS API reference), values made up.
constexpr std::string_view k_assume_role_response =
    R"(<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <SourceIdentity>Alice</SourceIdentity>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/loader/rs_ingester-1700000000</Arn>
      <AssumedRoleId>ARO123EXAMPLE123:rs_ingester-1700000000</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <SessionToken>IQoJb3JpZ2luX2VjEOz////////////////////wEXAMPLEtMSJHMEUCIDoKK3JH9uG</SessionToken>
      <Expiration>2023-11-14T23:13:20Z</Expiration>
    </Credentials>
    <PackedPolicySize>6</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>
)";

constexpr std::string_view k_web_identity_response =
    R"(<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:ingest:rs-ingester</SubjectFromWebIdentityToken>
    <Audience>sts.amazonaws.com</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/eks-loader/pod-1</Arn>
      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:pod-1</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <Expiration>2023-11-14T23:13:20.000Z</Expiration>
      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>
    </Credentials>
    <SourceIdentity>SourceIdentityValue</SourceIdentity>
    <Provider>arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
)";

constexpr std::string_view k_error_response =
    R"(<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>AccessDenied</Code>
    <Message>User: arn:aws:iam::123456789012:user/base is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/loader</Message>
  </Error>
  <RequestId>4e5a2b1c-8f0d-4c5e-9a7b-EXAMPLE</RequestId>
</ErrorResponse>
)";

const TimePoint k_expiration = TimePoint(std::chrono::seconds(1'700'003'600));

TEST(StsParseTest, ReadsAssumeRoleCredentials) {
  auto credentials = parse_sts_credentials(k_assume_role_response, "AssumeRole");

  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ(credentials->access_key_id, "ASIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(credentials->secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
  EXPECT_EQ(credentials->session_token,
            "IQoJb3JpZ2luX2VjEOz////////////////////wEXAMPLEtMSJHMEUCIDoKK3JH9uG");
  EXPECT_EQ(credentials->expiration, k_expiration);
}

TEST(StsParseTest, ReadsWebIdentityCredentialsInAnyElementOrder) {
  auto credentials = parse_sts_credentials(k_web_identity_response, "AssumeRoleWithWebIdentity");

  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ(credentials->access_key_id, "ASgeIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(credentials->session_token, "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE");
  EXPECT_EQ(credentials->expiration, k_expiration);
}

TEST(StsParseTest, IgnoresNamespacePrefixes) {
  auto credentials = parse_sts_credentials(
      "<sts:AssumeRoleResponse xmlns:sts=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
      "<sts:AssumeRoleResult><sts:Credentials><sts:AccessKeyId>A</sts:AccessKeyId>"
      "<sts:SecretAccessKey>S</sts:SecretAccessKey><sts:SessionToken>T</sts:SessionToken>"
      "<sts:Expiration>2023-11-14T23:13:20Z</sts:Expiration></sts:Credentials>"
      "</sts:AssumeRoleResult></sts:AssumeRoleResponse>",
      "AssumeRole");

  ASSERT_TRUE(credentials) << credentials.error().message;
  EXPECT_EQ(credentials->access_key_id, "A");
}

TEST(StsParseTest, AnswerOfAnotherActionOrWithoutExpirationIsPermanentWithoutSecrets) {
  std::string without_expiration(k_assume_role_response);
  without_expiration.erase(
      without_expiration.find("<Expiration>"),
      std::string_view("<Expiration>2023-11-14T23:13:20Z</Expiration>").size());

  auto other_action = parse_sts_credentials(k_assume_role_response, "AssumeRoleWithWebIdentity");
  auto no_expiration = parse_sts_credentials(without_expiration, "AssumeRole");
  auto not_xml = parse_sts_credentials("<html>proxy login</html", "AssumeRole");

  for (const auto* result : {&other_action, &no_expiration, &not_xml}) {
    ASSERT_FALSE(*result);
    EXPECT_EQ(result->error().kind, ErrorKind::permanent);
    EXPECT_EQ(result->error().message.find("EXAMPLEKEY"), std::string::npos);
  }
}

TEST(StsParseTest, ErrorResponseGivesCodeAndMessage) {
  const ServiceError error =
      parse_sts_error({.status = 403, .headers = {}, .body = std::string(k_error_response)});

  EXPECT_EQ(error.code, "AccessDenied");
  EXPECT_NE(error.message.find("sts:AssumeRole"), std::string::npos);
  EXPECT_FALSE(error.kind);
}

TEST(StsParseTest, IdentityProviderCommunicationErrorIsTransient) {
  const ServiceError error = parse_sts_error(
      {.status = 400,
       .headers = {},
       .body = "<ErrorResponse><Error><Type>Sender</Type><Code>IDPCommunicationError</Code>"
               "<Message>Couldn't reach the identity provider</Message></Error></ErrorResponse>"});

  ASSERT_TRUE(error.kind);
  EXPECT_EQ(*error.kind, ErrorKind::transient);
}

TEST(StsEndpointTest, RegionalEndpointForTheRegion) {
  auto endpoint = resolve_sts_endpoint({{"AWS_REGION", "eu-west-1"}}, "default");
  auto china = resolve_sts_endpoint({{"AWS_REGION", "cn-north-1"}}, "default");

  ASSERT_TRUE(endpoint && china);
  EXPECT_EQ(endpoint->url.origin(), "https://sts.eu-west-1.amazonaws.com");
  EXPECT_EQ(endpoint->region, "eu-west-1");
  EXPECT_FALSE(endpoint->overridden);
  EXPECT_EQ(china->url.origin(), "https://sts.cn-north-1.amazonaws.com.cn");
}

TEST(StsEndpointTest, GlobalEndpointWithoutRegion) {
  auto endpoint = resolve_sts_endpoint({{"HOME", "/nonexistent"}}, "default");

  ASSERT_TRUE(endpoint) << endpoint.error().message;
  EXPECT_EQ(endpoint->url.origin(), "https://sts.amazonaws.com");
  EXPECT_EQ(endpoint->region, "us-east-1");
}

TEST(StsEndpointTest, LegacyKeepsTheRegionsThatUsedTheGlobalEndpoint) {
  auto legacy_region = resolve_sts_endpoint(
      {{"AWS_REGION", "eu-west-1"}, {"AWS_STS_REGIONAL_ENDPOINTS", "legacy"}}, "default");
  auto newer_region = resolve_sts_endpoint(
      {{"AWS_REGION", "af-south-1"}, {"AWS_STS_REGIONAL_ENDPOINTS", "legacy"}}, "default");

  ASSERT_TRUE(legacy_region && newer_region);
  EXPECT_EQ(legacy_region->url.origin(), "https://sts.amazonaws.com");
  EXPECT_EQ(legacy_region->region, "us-east-1");
  EXPECT_EQ(newer_region->url.origin(), "https://sts.af-south-1.amazonaws.com");
}

TEST(StsEndpointTest, RegionAndModeComeFromTheProfile) {
  test::TempDir dir;
  std::ofstream(dir.path("config")) << "[profile ops]\nregion = us-west-2\n"
                                       "sts_regional_endpoints = legacy\n"
                                       "[profile eu]\nregion = eu-north-1\n";
  const Environment env = {{"AWS_CONFIG_FILE", dir.path("config").string()}};

  auto ops = resolve_sts_endpoint(env, "ops");
  auto eu = resolve_sts_endpoint(env, "eu");

  ASSERT_TRUE(ops && eu);
  EXPECT_EQ(ops->url.origin(), "https://sts.amazonaws.com");
  EXPECT_EQ(eu->url.origin(), "https://sts.eu-north-1.amazonaws.com");
  EXPECT_EQ(eu->region, "eu-north-1");
}

TEST(StsEndpointTest, EnvironmentOverridesLikeOtherServices) {
  const Environment env = {{"AWS_REGION", "eu-west-1"},
                           {"AWS_ENDPOINT_URL", "http://127.0.0.1:1"},
                           {"AWS_ENDPOINT_URL_STS", "http://127.0.0.1:2"}};
  Environment global_only = env;
  global_only.erase("AWS_ENDPOINT_URL_STS");
  Environment ignored = env;
  ignored["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true";

  auto sts = resolve_sts_endpoint(env, "default");
  auto global = resolve_sts_endpoint(global_only, "default");
  auto aws = resolve_sts_endpoint(ignored, "default");

  ASSERT_TRUE(sts && global && aws);
  EXPECT_EQ(sts->url.origin(), "http://127.0.0.1:2");
  EXPECT_TRUE(sts->overridden);
  EXPECT_EQ(sts->region, "eu-west-1");
  EXPECT_EQ(global->url.origin(), "http://127.0.0.1:1");
  EXPECT_EQ(aws->url.origin(), "https://sts.eu-west-1.amazonaws.com");
}

TEST(StsEndpointTest, UnknownRegionalEndpointsValueIsPermanent) {
  auto endpoint = resolve_sts_endpoint(
      {{"AWS_REGION", "eu-west-1"}, {"AWS_STS_REGIONAL_ENDPOINTS", "sometimes"}}, "default");

  ASSERT_FALSE(endpoint);
  EXPECT_EQ(endpoint.error().kind, ErrorKind::permanent);
  EXPECT_NE(endpoint.error().message.find("sometimes"), std::string::npos);
}

} // namespace
} // namespace rsi::http
