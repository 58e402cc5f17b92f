#pragma once

// http::Client: one libcurl easy handle (connections are kept alive and reused between
// requests), optional AWS SigV4 signing by libcurl, bounded retries with jittered backoff.
//
//   http::CurlGlobal curl;                                   // once, at the top of run_*()
//   auto client = http::Client::create({.signing = http::SigningConfig{
//       .service = "sqs", .region = "us-east-1", .credentials = provider}});
//   auto response = client->request({.method = "POST", .url = endpoint + "/",
//       .headers = {{"Content-Type", "application/x-amz-json-1.0"},
//                   {"X-Amz-Target", "AmazonSQS.ReceiveMessage"}},
//       .body = std::string_view(json)});
//
// Outcomes of request():
//   - 2xx, or a status listed in Request::expected_statuses → the Response (a value);
//   - 408, 429, 5xx (not 501), retryable codes (SlowDown, ThrottlingException, ...), timeouts
//     and connection errors → retried up to ClientConfig::retry.max_attempts, then
//     ErrorKind::transient;
//   - other statuses → ErrorKind::permanent, unless ClientConfig::parse_error sets a kind.
// Messages read "<METHOD> <url without query>: HTTP <status> <Code>: <Message> (request id
// ..)"; they never contain credentials.
//
// Signing (ClientConfig::signing set): libcurl's CURLOPT_AWS_SIGV4 signs every header the
// request carries. The client adds what libcurl 7.88 leaves out: x-amz-content-sha256 (see
// PayloadHash) and x-amz-security-token. libcurl signs the URL's path and query exactly as
// given, so build them with url.hpp (uri_encode, canonical_query). An X-Amz-Date header in
// Request::headers is used instead of the current time.
//
// Not thread-safe: use one Client per thread. Clients may share one CredentialsProvider.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/error.hpp"
#include "common/retry.hpp"
#include "http/aws_errors.hpp"
#include "http/credentials.hpp"

namespace rsi::http {

struct Header {
  std::string name;
  std::string value;
};
using Headers = std::vector<Header>;

// A request body produced piece by piece (an upload larger than memory should hold).
struct StreamBody {
  // Fill `buffer` and return the bytes written; 0 means the end. An error aborts the request
  // and is returned by request() as is (never retried).
  std::function<Result<std::size_t>(std::span<char> buffer)> read;
  // Total size in bytes. Required for PUT (S3 does not take chunked uploads).
  std::optional<std::uint64_t> size;
  // Start over from the first byte; lets the client retry. Null: no retry once read.
  std::function<Result<void>()> rewind;
  // The body's SHA-256 if the caller knows it; else the payload is sent UNSIGNED-PAYLOAD.
  std::string sha256_hex;
};

// No body, a body in caller-owned memory (must outlive request()), or a stream.
using Body = std::variant<std::monostate, std::string_view, StreamBody>;

// Receives a 2xx response body chunk by chunk. An error aborts the transfer and is returned
// by request() as is. Error bodies (non-2xx) never reach it.
using BodySink = std::function<Result<void>(std::string_view chunk)>;

// What x-amz-content-sha256 says when signing.
enum class PayloadHash {
  automatic,        // SHA-256 of an in-memory or empty body, StreamBody::sha256_hex, else
                    // UNSIGNED-PAYLOAD.
  unsigned_payload, // Always UNSIGNED-PAYLOAD.
  omit,             // No header (services other than S3 accept that; libcurl then hashes the
                    // in-memory body itself).
};

struct Response {
  long status = 0;
  Headers headers; // As received (of the final response).
  std::string body;

  // The first header named `name` (case-insensitive), or nullopt.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
};

struct Request {
  std::string method = "GET";
  std::string url; // Absolute and already encoded; sent exactly as given.
  // Repeated names are sent once, their values joined with ',' in order (RFC 9110 §5.3).
  Headers headers;
  Body body;
  BodySink on_body; // Null: the body is collected in Response::body.
  // With `on_body`: called once per attempt with the status and headers of a 2xx response
  // before its first body chunk (e.g. to check Content-Range or remember the ETag). An error
  // aborts the transfer and is returned as is.
  std::function<Result<void>(const Response& head)> on_head;
  // Non-2xx statuses returned as a Response rather than an error (e.g. 404 for a HEAD).
  std::vector<long> expected_statuses;
  // Whole exchange; nullopt → ClientConfig::timeout; zero → no limit (use for large streams,
  // which ClientConfig::stall_timeout still guards).
  std::optional<std::chrono::milliseconds> timeout;
  PayloadHash payload_hash = PayloadHash::automatic;
  // Let libcurl remove "/./" and "/../" segments. Off by default: S3 keys are literal.
  bool normalize_path = false;
  // Requesting a stop aborts the transfer and any backoff wait (ErrorKind::transient).
  std::stop_token stop;
};

struct SigningConfig {
  std::string service; // Signing name: "s3", "sqs", ...
  std::string region;
  std::shared_ptr<CredentialsProvider> credentials;
};

// Extracts the service's error from a non-2xx response (the hook for protocols the default
// does not know). The default reads XML or JSON bodies (parse_error_body).
using ErrorParser = std::function<ServiceError(const Response& response)>;

struct ClientConfig {
  std::optional<SigningConfig> signing; // nullopt: plain HTTP requests.
  BackoffPolicy retry{.initial_delay = std::chrono::milliseconds(100),
                      .max_delay = std::chrono::milliseconds(5'000),
                      .multiplier = 2.0,
                      .max_attempts = 5};
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds timeout{60'000}; // Default Request::timeout.
  // Abort when fewer than 1 byte/s moved for this long (0: never).
  std::chrono::seconds stall_timeout{30};
  ErrorParser parse_error;
  std::string user_agent = "rs_ingester";
  // A PEM file of the certificate authorities trusted for HTTPS, instead of the system's
  // (AWS_CA_BUNDLE; see resolve_ca_bundle). Empty: the system's.
  std::string ca_file;
};

class Client {
public:
  // Fails permanent when libcurl cannot create a handle (no CurlGlobal, out of memory).
  [[nodiscard]] static Result<Client> create(ClientConfig config = {});

  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // Send `request` with retries as described at the top of this file. A retry is skipped
  // when a StreamBody cannot rewind or when part of the body already reached `on_body`
  // (the caller owns resumption, e.g. with a Range request).
  [[nodiscard]] Result<Response> request(const Request& request);

  [[nodiscard]] const ClientConfig& config() const;

private:
  struct State;
  explicit Client(std::unique_ptr<State> state);

  std::unique_ptr<State> m_state;
};

} // namespace rsi::http
