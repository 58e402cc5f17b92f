// Blueprint over HTTP.
//
// Routes: GET /migration/<table>?to_version=N (200: the steps; 400 {"Error":…} when there is no
// such migration), GET /schema/<table>?version=N (200: a one-element array; 404 "Not Found"
// when the version is dropped or unknown) and GET /schema/<table> (the newest version). Every
// request asks for gzip and the body is inflated here when Blueprint compressed it. One
// http::Client (not thread-safe) behind a mutex; it retries connection failures, timeouts and 5xx
// before giving up with ErrorKind::transient.
#include "registry/blueprint_registry.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>

#include <fmt/format.h>

#include "common/gzip.hpp"
#include "common/strings.hpp"
#include "core/table_name.hpp"
#include "http/client.hpp"
#include "http/url.hpp"

namespace rsi::registry {
namespace {

constexpr long k_bad_request = 400;
constexpr long k_not_found = 404;

// The response body, inflated when Blueprint sent it gzip-encoded.
Result<std::string> decoded_body(const http::Response& response) {
  const auto encoding = response.header("Content-Encoding");
  if (!encoding || iequals_ascii(*encoding, "identity")) {
    return response.body;
  }
  if (iequals_ascii(*encoding, "gzip")) {
    return gunzip(response.body);
  }
  return fail(ErrorKind::permanent, fmt::format("unsupported Content-Encoding \"{}\"", *encoding));
}

// Blueprint's error bodies (of 5xx answers too) are {"Error":"…"}, gzip-encoded like every
// other body; anything else leaves the message empty.
http::ServiceError parse_blueprint_error_body(const http::Response& response) {
  http::ServiceError error;
  if (auto body = decoded_body(response)) {
    if (auto message = core::parse_blueprint_error(*body)) {
      error.message = std::move(*message);
    }
  }
  return error;
}

// A 400 answer as an error: Blueprint's own message when the body carries one.
Error bad_request(const std::string& body) {
  if (auto message = core::parse_blueprint_error(body)) {
    return Error{ErrorKind::permanent, fmt::format("blueprint: {}", *message)};
  }
  return Error{ErrorKind::permanent, "HTTP 400"};
}

class BlueprintRegistry final : public SchemaRegistry {
public:
  BlueprintRegistry(std::string base_url, http::Client client, std::chrono::milliseconds timeout)
      : m_base_url(std::move(base_url)), m_client(std::move(client)), m_timeout(timeout) {}

  // SchemaRegistry
  Result<std::vector<core::Operation>> migration(std::string_view table, int to_version) override {
    const std::string context = fmt::format("fetch migration {} v{}", table, to_version);
    auto operations = fetch_migration(table, to_version);
    if (!operations) {
      return fail(operations.error().wrap(context));
    }
    return operations;
  }

  Result<std::optional<core::TableSchema>> schema(std::string_view table, int version) override {
    const std::string context = fmt::format("fetch schema {} v{}", table, version);
    auto schema = fetch_schema(table, version);
    if (!schema) {
      return fail(schema.error().wrap(context));
    }
    return schema;
  }

  Result<std::optional<int>> current_version(std::string_view table) override {
    auto version = fetch_current_version(table);
    if (!version) {
      return fail(version.error().wrap(fmt::format("fetch current schema of {}", table)));
    }
    return version;
  }

private:
  Result<std::optional<int>> fetch_current_version(std::string_view table) {
    RSI_TRY(check_request(table, 0));
    RSI_TRY_ASSIGN(const http::Response response, get(fmt::format("/schema/{}", table)));
    if (response.status == k_not_found) {
      return std::optional<int>();
    }
    RSI_TRY_ASSIGN(const std::string body, decoded_body(response));
    if (response.status == k_bad_request) {
      return fail(bad_request(body));
    }
    RSI_TRY_ASSIGN(core::TableSchema schema, core::parse_schema(body));
    if (schema.event_name != table) {
      return fail(ErrorKind::permanent,
                  fmt::format("blueprint answered with {} v{}", schema.event_name, schema.version));
    }
    return schema.dropped ? std::optional<int>() : std::optional<int>(schema.version);
  }

  Result<std::vector<core::Operation>> fetch_migration(std::string_view table, int to_version) {
    RSI_TRY(check_request(table, to_version));
    RSI_TRY_ASSIGN(const http::Response response,
                   get(fmt::format("/migration/{}?to_version={}", table, to_version)));
    RSI_TRY_ASSIGN(const std::string body, decoded_body(response));
    if (response.status == k_bad_request) {
      return fail(bad_request(body));
    }
    if (response.status == k_not_found) {
      return fail(ErrorKind::permanent, "HTTP 404 (is this a Blueprint server?)");
    }
    RSI_TRY_ASSIGN(std::vector<core::Operation> operations, core::parse_migration(body));
    for (const auto& operation : operations) {
      if (operation.version != to_version) {
        return fail(ErrorKind::permanent,
                    fmt::format("blueprint sent a step of version {} ({} {})", operation.version,
                                core::to_string(operation.action), operation.name));
      }
    }
    return operations;
  }

  Result<std::optional<core::TableSchema>> fetch_schema(std::string_view table, int version) {
    RSI_TRY(check_request(table, version));
    RSI_TRY_ASSIGN(const http::Response response,
                   get(fmt::format("/schema/{}?version={}", table, version)));
    if (response.status == k_not_found) {
      return std::optional<core::TableSchema>(); // Dropped or unknown: normal after a drop.
    }
    RSI_TRY_ASSIGN(const std::string body, decoded_body(response));
    if (response.status == k_bad_request) {
      return fail(bad_request(body));
    }
    RSI_TRY_ASSIGN(core::TableSchema schema, core::parse_schema(body));
    if (schema.event_name != table || schema.version != version) {
      return fail(ErrorKind::permanent,
                  fmt::format("blueprint answered with {} v{}", schema.event_name, schema.version));
    }
    if (schema.dropped) {
      return std::optional<core::TableSchema>();
    }
    return std::optional<core::TableSchema>(std::move(schema));
  }

  static Result<void> check_request(std::string_view table, int version) {
    RSI_TRY(core::validate_table_name(table)); // Also what keeps the path free of escapes.
    if (version < 0) {
      return fail(ErrorKind::permanent, "the version must not be negative");
    }
    return {};
  }

  Result<http::Response> get(const std::string& path_and_query) {
    const std::lock_guard lock(m_mutex);
    return m_client.request(
        {.method = "GET",
         .url = m_base_url + path_and_query,
         .headers = {{"Accept-Encoding", "gzip"}, {"Accept", "application/json"}},
         .expected_statuses = {k_bad_request, k_not_found},
         .timeout = m_timeout});
  }

  std::string m_base_url;
  std::mutex m_mutex; // http::Client is not thread-safe.
  http::Client m_client;
  std::chrono::milliseconds m_timeout;
};

} // namespace

Result<std::string> blueprint_base_url(const std::string& host) {
  std::string url = host;
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  if (url.empty()) {
    return fail(ErrorKind::permanent, "blueprint host: empty");
  }
  if (url.find("://") == std::string::npos) {
    url = "http://" + url; // The original's -blueprint_host is "host:port".
  }
  if (auto parsed = http::parse_url(url); !parsed || !parsed->query.empty()) {
    return fail(
        ErrorKind::permanent,
        fmt::format("blueprint host {}: expected host[:port] or an http(s):// URL without a query",
                    http::strip_query(host)));
  }
  return url;
}

Result<std::unique_ptr<SchemaRegistry>> make_blueprint_registry(const BlueprintConfig& config) {
  RSI_TRY_ASSIGN(std::string base_url, blueprint_base_url(config.host));
  RSI_TRY_ASSIGN(http::Client client,
                 http::Client::create({.retry = config.retry,
                                       .connect_timeout = config.connect_timeout,
                                       .timeout = config.timeout,
                                       .parse_error = parse_blueprint_error_body,
                                       .user_agent = "rs_ingester migrator"}));
  return std::make_unique<BlueprintRegistry>(std::move(base_url), std::move(client),
                                             config.timeout);
}

} // namespace rsi::registry
