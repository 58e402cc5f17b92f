#pragma once

// The two AWS STS actions that turn a role into temporary credentials, over STS's query
// protocol (a form POST, API version 2011-06-15, XML answers):
//   - AssumeRole, signed (SigV4, service "sts") with the caller's own credentials;
//   - AssumeRoleWithWebIdentity, unsigned: the OIDC token (an EKS service account's) is the
//     proof of identity.
//
// Outcomes: credentials with their Expiration, or an error whose message names the action and
// the role, never a secret or the token. Throttling, 5xx answers, IDPCommunicationError and
// network failures are transient once the client's retries are spent; every other STS error
// (AccessDenied, InvalidIdentityToken, ExpiredTokenException, MalformedPolicyDocument, ...) and
// an answer without credentials are permanent.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "http/aws_settings.hpp"
#include "http/client.hpp"
#include "http/credentials.hpp"

namespace rsi::http {

struct AssumeRoleRequest {
  std::string role_arn;
  std::string role_session_name;
  std::string external_id;                      // AssumeRole only; empty: not sent.
  std::optional<std::chrono::seconds> duration; // nullopt: STS's default (one hour).
};

// AssumeRole at `endpoint`, signed with the credentials of `source`. `client` carries the
// retry policy, timeouts and CA bundle; signing and error parsing are set here.
[[nodiscard]] Result<Credentials> sts_assume_role(const ServiceEndpoint& endpoint,
                                                  ClientConfig client,
                                                  std::shared_ptr<CredentialsProvider> source,
                                                  const AssumeRoleRequest& request);

// AssumeRoleWithWebIdentity at `endpoint` with the OIDC `token`; as sts_assume_role otherwise.
[[nodiscard]] Result<Credentials>
sts_assume_role_with_web_identity(const ServiceEndpoint& endpoint, ClientConfig client,
                                  const AssumeRoleRequest& request, std::string_view token);

// The Credentials of a successful `action` response (<{action}Response><{action}Result>
// <Credentials>), matched by local element names whatever the namespace. Fails permanent when
// a field or the Expiration is missing or unreadable.
[[nodiscard]] Result<Credentials> parse_sts_credentials(std::string_view body,
                                                        std::string_view action);

// STS's error in a non-2xx response (<ErrorResponse><Error><Type/><Code/><Message/>); marks
// IDPCommunicationError (the identity provider could not be reached) transient.
ServiceError parse_sts_error(const Response& response);

} // namespace rsi::http
