// STS query-protocol calls. The form body is built with SigV4 URI encoding, which is also valid
// form encoding; libcurl signs it (as POSTFIELDS it hashes the body itself, so no
// x-amz-content-sha256 header is sent). The XML is read by local element names: STS answers
// in the "https://sts.amazonaws.com/doc/2011-06-15/" namespace, stand-ins often in none.

#include "http/sts.hpp"

#include <fmt/format.h>

#include "http/time_format.hpp"
#include "http/url.hpp"
#include "http/xml.hpp"

namespace rsi::http {
namespace {

constexpr std::string_view k_api_version = "2011-06-15";

std::string form_body(std::string_view action, const AssumeRoleRequest& request,
                      std::string_view token) {
  std::string body =
      fmt::format("Action={}&Version={}&RoleArn={}&RoleSessionName={}", action, k_api_version,
                  uri_encode(request.role_arn), uri_encode(request.role_session_name));
  if (!request.external_id.empty()) {
    body += fmt::format("&ExternalId={}", uri_encode(request.external_id));
  }
  if (request.duration) {
    body += fmt::format("&DurationSeconds={}", request.duration->count());
  }
  if (!token.empty()) {
    body += fmt::format("&WebIdentityToken={}", uri_encode(token));
  }
  return body;
}

Result<Credentials> call(std::string_view action, const ServiceEndpoint& endpoint,
                         ClientConfig config, const AssumeRoleRequest& request,
                         std::string_view token) {
  const std::string context = fmt::format("STS {} {}", action, request.role_arn);
  config.parse_error = &parse_sts_error;
  auto client = Client::create(std::move(config));
  if (!client) {
    return fail(client.error().wrap(context));
  }
  const std::string body = form_body(action, request, token);
  auto response = client->request({
      .method = "POST",
      .url = endpoint.url.origin() + endpoint.url.path,
      .headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
      .body = std::string_view(body),
      .payload_hash = PayloadHash::omit,
  });
  if (!response) {
    return fail(response.error().wrap(context));
  }
  auto credentials = parse_sts_credentials(response->body, action);
  if (!credentials) {
    return fail(credentials.error().wrap(context));
  }
  return credentials;
}

} // namespace

Result<Credentials> sts_assume_role(const ServiceEndpoint& endpoint, ClientConfig client,
                                    std::shared_ptr<CredentialsProvider> source,
                                    const AssumeRoleRequest& request) {
  client.signing =
      SigningConfig{.service = "sts", .region = endpoint.region, .credentials = std::move(source)};
  return call("AssumeRole", endpoint, std::move(client), request, {});
}

Result<Credentials> sts_assume_role_with_web_identity(const ServiceEndpoint& endpoint,
                                                      ClientConfig client,
                                                      const AssumeRoleRequest& request,
                                                      std::string_view token) {
  if (token.empty()) {
    return fail(ErrorKind::permanent,
                fmt::format("STS AssumeRoleWithWebIdentity {}: empty web identity token",
                            request.role_arn));
  }
  client.signing.reset();
  return call("AssumeRoleWithWebIdentity", endpoint, std::move(client), request, token);
}

Result<Credentials> parse_sts_credentials(std::string_view body, std::string_view action) {
  pugi::xml_document document;
  if (!document.load_buffer(body.data(), body.size())) {
    return fail(ErrorKind::permanent, "response is not XML");
  }
  const pugi::xml_node node =
      xml::child(xml::child(xml::child(document, fmt::format("{}Response", action)),
                            fmt::format("{}Result", action)),
                 "Credentials");
  if (!node) {
    return fail(ErrorKind::permanent,
                fmt::format("response has no {}Response/{}Result/Credentials", action, action));
  }
  const auto text = [&](std::string_view name) { return xml::child_text(node, name); };
  Credentials credentials{.access_key_id = text("AccessKeyId"),
                          .secret_access_key = text("SecretAccessKey"),
                          .session_token = text("SessionToken"),
                          .expiration = std::nullopt};
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty() ||
      credentials.session_token.empty()) {
    return fail(ErrorKind::permanent,
                "response lacks AccessKeyId, SecretAccessKey or SessionToken");
  }
  const std::string expiration = text("Expiration");
  credentials.expiration = parse_iso8601(expiration);
  if (!credentials.expiration) {
    return fail(ErrorKind::permanent,
                fmt::format("response has an unreadable Expiration {:?}", expiration));
  }
  return credentials;
}

ServiceError parse_sts_error(const Response& response) {
  ServiceError error = parse_xml_error(response.body);
  if (error.code == "IDPCommunicationError") {
    error.kind = ErrorKind::transient;
  }
  return error;
}

} // namespace rsi::http
