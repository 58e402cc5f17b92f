#include "http/aws_errors.hpp"

#include <algorithm>
#include <array>

#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "http/xml.hpp"

namespace rsi::http {
namespace {

std::string json_string(const nlohmann::json& object, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    if (object.contains(key) && object.at(key).is_string()) {
      return object.at(key).get<std::string>();
    }
  }
  return {};
}

} // namespace

ServiceError parse_xml_error(std::string_view body) {
  pugi::xml_document document;
  if (!document.load_buffer(body.data(), body.size())) {
    return {};
  }
  ServiceError error;
  error.code = xml::find_element(document, "Code").child_value();
  error.message = xml::find_element(document, "Message").child_value();
  return error;
}

ServiceError parse_json_error(std::string_view body) {
  const auto object = nlohmann::json::parse(body, nullptr, false);
  if (!object.is_object()) {
    return {};
  }
  ServiceError error;
  error.code = json_string(object, {"__type", "code", "Code"});
  if (const auto hash = error.code.rfind('#'); hash != std::string::npos) {
    error.code.erase(0, hash + 1);
  }
  error.message = json_string(object, {"message", "Message", "errorMessage"});
  return error;
}

ServiceError parse_error_body(std::string_view body) {
  const auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return {};
  }
  if (body[first] == '<') {
    return parse_xml_error(body);
  }
  if (body[first] == '{') {
    return parse_json_error(body);
  }
  return {};
}

bool is_retryable_error_code(std::string_view code) {
  static constexpr std::array<std::string_view, 15> k_retryable = {
      "SlowDown",
      "Throttling",
      "ThrottlingException",
      "ThrottledException",
      "RequestThrottled",
      "RequestThrottledException",
      "TooManyRequestsException",
      "ProvisionedThroughputExceededException",
      "RequestLimitExceeded",
      "BandwidthLimitExceeded",
      "RequestTimeout",
      "RequestTimeoutException",
      "InternalError",
      "ServiceUnavailable",
      "TransactionInProgressException",
  };
  return std::find(k_retryable.begin(), k_retryable.end(), code) != k_retryable.end();
}

} // namespace rsi::http
