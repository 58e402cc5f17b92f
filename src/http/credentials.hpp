#pragma once

// AWS credentials and the SDKs' default provider chain.
//
// make_default_credentials_provider() looks, on first use, in the order of the AWS SDKs (as the
// SDKs for Java 2.x and PHP document it): environment keys, web identity from the environment,
// the shared files' profile, the container endpoint, EC2 instance metadata.
//   1. environment: AWS_ACCESS_KEY_ID (or the older AWS_ACCESS_KEY), AWS_SECRET_ACCESS_KEY (or
//      AWS_SECRET_KEY), AWS_SESSION_TOKEN; the current names win when both are set;
//   2. web identity (EKS service accounts): AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, with
//      AWS_ROLE_SESSION_NAME: STS AssumeRoleWithWebIdentity with the token read from the file
//      at every refresh (Kubernetes rotates it);
//   3. the profile (AWS_PROFILE, AWS_DEFAULT_PROFILE, "default") of the shared credentials file
//      (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials) and the shared config file
//      (AWS_CONFIG_FILE or ~/.aws/config), the credentials file winning where both set a key:
//        - role_arn with source_profile: STS AssumeRole signed with that profile's credentials
//          (its keys, or the role it assumes in turn; a profile may name itself to use its own
//          keys); cycles and chains longer than 8 profiles are refused;
//        - role_arn with credential_source = Environment | Ec2InstanceMetadata | EcsContainer:
//          AssumeRole signed with the credentials of source 1, 5 or 4. With Environment, step 1
//          is skipped for this profile: the SDKs reach such a profile only when a program
//          selects it (aws --profile), which skips the environment's keys too;
//        - role_arn with web_identity_token_file: as 2;
//        - with any role: role_session_name, external_id, duration_seconds (900-43200); STS is
//          called at the endpoint of resolve_sts_endpoint() for the profile (its `region` and
//          `sts_regional_endpoints`); mfa_serial is refused (no one types the code);
//        - else aws_access_key_id, aws_secret_access_key, aws_session_token;
//   4. container endpoint: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (against 169.254.170.2) or
//      AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http to loopback or the ECS/EKS endpoints
//      169.254.170.2, 169.254.170.23, fd00:ec2::23, as the SDKs allow), with
//      AWS_CONTAINER_AUTHORIZATION_TOKEN (or the
//      contents of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) as Authorization header;
//   5. EC2 instance metadata, IMDSv2 (PUT /latest/api/token, then GET the role name and its
//      credentials), at AWS_EC2_METADATA_SERVICE_ENDPOINT or 169.254.169.254, unless
//      AWS_EC2_METADATA_DISABLED=true.
// The first source that is configured wins and is kept; temporary credentials (every source
// but plain keys) are fetched again `refresh_before_expiry` before they expire, and so is each
// link of a role chain. A failed refresh keeps serving the old credentials while they are still
// valid. HTTPS calls to STS trust AWS_CA_BUNDLE when it is set.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "http/aws_settings.hpp"

namespace rsi::http {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;           // Empty for long-term keys.
  std::optional<TimePoint> expiration; // nullopt: does not expire.
};

// A source of credentials shared by every Client of a process. Thread-safe.
class CredentialsProvider {
public:
  virtual ~CredentialsProvider() = default;

  // Current credentials, fetched or refreshed as needed. Fails transient when a credentials
  // endpoint or STS is unreachable or throttling, permanent when nothing is configured, a
  // source is malformed or STS refuses the role. Messages never contain secrets or tokens.
  [[nodiscard]] virtual Result<Credentials> get() = 0;
};

// Always the same credentials (configuration, tests).
std::shared_ptr<CredentialsProvider> make_static_credentials_provider(Credentials credentials);

struct CredentialsChainOptions {
  std::string container_host = "http://169.254.170.2";  // Base of the RELATIVE_URI form.
  std::string imds_endpoint = "http://169.254.169.254"; // Unless the environment overrides it.
  std::chrono::seconds refresh_before_expiry{300};
  std::chrono::milliseconds metadata_timeout{1000}; // Per request to a metadata endpoint.
  int metadata_attempts = 2;
  std::chrono::milliseconds sts_timeout{10'000}; // Per STS request.
  int sts_attempts = 3;
};

// The default chain described above, reading `env` (a snapshot; see process_environment()).
// `clock` must outlive the provider. Nothing is fetched until the first get().
std::shared_ptr<CredentialsProvider>
make_default_credentials_provider(Environment env, const Clock& clock,
                                  CredentialsChainOptions options = {});

} // namespace rsi::http
