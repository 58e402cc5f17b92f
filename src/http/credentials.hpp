#pragma once

// AWS credentials and the SDKs' default provider chain.
//
// make_default_credentials_provider() looks, on first use, in this order:
//   1. environment: AWS_ACCESS_KEY_ID (or the older AWS_ACCESS_KEY), AWS_SECRET_ACCESS_KEY (or
//      AWS_SECRET_KEY), AWS_SESSION_TOKEN; the current names win when both are set;
//   2. shared credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials), then the
//      shared config file, section of the profile (AWS_PROFILE, AWS_DEFAULT_PROFILE, "default");
//   3. container endpoint: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (against 169.254.170.2) or
//      AWS_CONTAINER_CREDENTIALS_FULL_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN (or the
//      contents of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) as Authorization header;
//   4. EC2 instance metadata, IMDSv2 (PUT /latest/api/token, then GET the role name and its
//      credentials), at AWS_EC2_METADATA_SERVICE_ENDPOINT or 169.254.169.254, unless
//      AWS_EC2_METADATA_DISABLED=true.
// The first source that is configured wins and is kept; temporary credentials are fetched
// again `refresh_before_expiry` before they expire. A failed refresh keeps serving the old
// credentials while they are still valid.

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
  // endpoint is unreachable, permanent when nothing is configured or a source is malformed.
  // Messages never contain secrets.
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
};

// The default chain described above, reading `env` (a snapshot; see process_environment()).
// `clock` must outlive the provider. Nothing is fetched until the first get().
std::shared_ptr<CredentialsProvider>
make_default_credentials_provider(Environment env, const Clock& clock,
                                  CredentialsChainOptions options = {});

} // namespace rsi::http
