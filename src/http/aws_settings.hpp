#pragma once

// AWS settings resolved the way the AWS SDKs resolve them, from explicit configuration and an
// injected snapshot of the environment (nothing here calls getenv):
//
//   region:   AwsConfig::region, AWS_REGION, AWS_DEFAULT_REGION, then `region` of the profile
//             in the shared config file (AWS_CONFIG_FILE or ~/.aws/config).
//   endpoint: AwsConfig::endpoint, AWS_ENDPOINT_URL_<SERVICE> (AWS_ENDPOINT_URL_S3,
//             AWS_ENDPOINT_URL_SQS), AWS_ENDPOINT_URL, else AWS's own endpoint for the region.
//             AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true ignores the two environment variables.
//   profile:  AwsConfig::profile, AWS_PROFILE, AWS_DEFAULT_PROFILE (the older name, still set by
//             many deployments), "default".
//   STS:      AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, else https://sts.<region>.amazonaws.com
//             for the region of the profile (AWS_REGION, AWS_DEFAULT_REGION, its `region`);
//             the global https://sts.amazonaws.com (signed for us-east-1) without a region, for
//             region aws-global, or when AWS_STS_REGIONAL_ENDPOINTS / `sts_regional_endpoints`
//             is "legacy" and the region is one that used the global endpoint before.
//   CA bundle: AWS_CA_BUNDLE, then `ca_bundle` of the profile in the shared config file: a PEM
//             file holding the only certificate authorities trusted for HTTPS to AWS (a TLS
//             inspecting proxy, a private endpoint); unset, the system's CAs are trusted.
//
// An endpoint override (an emulator, MinIO, a VPC endpoint) implies path-style S3 addressing
// (http://host:port/bucket/key); AWS itself is addressed virtual-hosted style
// (https://bucket.s3.region.amazonaws.com/key).

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "http/url.hpp"

namespace rsi::http {

// Environment variables by name. Production code takes one snapshot at startup.
using Environment = std::map<std::string, std::string, std::less<>>;

// A snapshot of the process environment (call once, at startup, before threads start).
Environment process_environment();

// The value of `name` in `env`, or nullopt when unset or empty.
std::optional<std::string> env_value(const Environment& env, std::string_view name);

// Explicit settings, from flags or the config file; empty fields fall back as described above.
struct AwsConfig {
  std::string region;
  std::string endpoint; // An endpoint override URL, e.g. "http://127.0.0.1:4569".
  std::string profile;
};

// Where and how to reach one AWS service.
struct ServiceEndpoint {
  std::string region;
  Url url;                 // The override, or https://<service>.<region>.amazonaws.com.
  bool overridden = false; // True when `url` came from configuration or the environment.
  bool path_style = false; // S3: bucket in the path (overrides) rather than in the host name.
};

// The profile name in effect.
std::string resolve_profile(const Environment& env, const AwsConfig& config);

// The region, or a permanent error that names the settings tried.
[[nodiscard]] Result<std::string> resolve_region(const Environment& env, const AwsConfig& config);

// Region and endpoint of `service` ("s3", "sqs": the lower-case id used in host names; the
// environment suffix is its upper-case form). Fails permanent without a region or with a
// malformed endpoint URL.
[[nodiscard]] Result<ServiceEndpoint>
resolve_service_endpoint(const Environment& env, std::string_view service, const AwsConfig& config);

// The region the global STS endpoint is signed for.
inline constexpr std::string_view k_sts_global_region = "us-east-1";

// Where STS is called to get credentials for `profile`, as described above. Unlike the other
// services this never fails for want of a region. Fails permanent on a malformed override or
// an sts_regional_endpoints value other than "regional" and "legacy".
[[nodiscard]] Result<ServiceEndpoint> resolve_sts_endpoint(const Environment& env,
                                                           std::string_view profile);

// The CA bundle described above, or nullopt when none is configured. Fails permanent, naming
// the setting, when the file cannot be read or holds no PEM certificate.
[[nodiscard]] Result<std::optional<std::string>> resolve_ca_bundle(const Environment& env,
                                                                   const AwsConfig& config);

// The key=value pairs of one profile section of an AWS shared file, or nullopt when the file
// or the section is missing. In the config file a non-default profile's section is written
// "[profile NAME]"; in the credentials file it is "[NAME]".
std::optional<std::map<std::string, std::string>>
read_profile(const std::filesystem::path& file, std::string_view profile, bool config_file);

// The shared credentials and config file paths (AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE,
// else under $HOME/.aws), or nullopt when neither the variable nor HOME is set.
std::optional<std::filesystem::path> shared_credentials_file(const Environment& env);
std::optional<std::filesystem::path> shared_config_file(const Environment& env);

} // namespace rsi::http
