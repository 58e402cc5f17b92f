#pragma once

// AWS error bodies: what a service said went wrong, for messages and retry decisions.

#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace rsi::http {

struct ServiceError {
  std::string code;    // "NoSuchKey", "SlowDown", "ThrottlingException"; empty if unknown.
  std::string message; // The service's human-readable text; may be empty.
  // Set by a caller's parser to force a classification (e.g. SQS's
  // ReceiptHandleIsInvalid → conflict); nullopt lets the client decide from status and code.
  std::optional<ErrorKind> kind;
};

// S3/STS/SQS-query XML: <Error><Code>..</Code><Message>..</Message></Error>, also nested in
// <ErrorResponse>. Element names are matched without their namespace prefix or URI.
ServiceError parse_xml_error(std::string_view body);

// AWS JSON protocols (SQS JSON 1.0, ...): {"__type":"prefix#Code","message":"..."}; "code",
// "Code" and "Message" are accepted too, and the "prefix#" is dropped.
ServiceError parse_json_error(std::string_view body);

// XML or JSON by the first non-blank character; an empty ServiceError otherwise.
ServiceError parse_error_body(std::string_view body);

// True for codes that mean "slow down and try again" (SlowDown, Throttling,
// ThrottlingException, RequestThrottled, TooManyRequestsException, RequestTimeout, ...).
bool is_retryable_error_code(std::string_view code);

} // namespace rsi::http
