#pragma once

// What the control API's tests check of an answer: an error in the original's shape, or JSON.

#include <string>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

namespace rsi::control::testing {

// The response is `status` with the original's error body {"Error":"…"}; returns the message.
inline std::string expect_error(const httplib::Result& response, int status) {
  EXPECT_TRUE(response) << "no response";
  if (!response) {
    return {};
  }
  EXPECT_EQ(response->status, status) << response->body;
  EXPECT_EQ(response->get_header_value("Content-Type"), "application/json");
  const nlohmann::json body = nlohmann::json::parse(response->body, nullptr, false);
  EXPECT_TRUE(body.is_object() && body.size() == 1 && body.contains("Error") &&
              body["Error"].is_string())
      << response->body;
  return body.is_object() && body.contains("Error") && body["Error"].is_string()
             ? body["Error"].get<std::string>()
             : std::string();
}

// The response is `status` with a JSON body; returns it.
inline nlohmann::json expect_json(const httplib::Result& response, int status = 200) {
  EXPECT_TRUE(response) << "no response";
  if (!response) {
    return {};
  }
  EXPECT_EQ(response->status, status) << response->body;
  EXPECT_EQ(response->get_header_value("Content-Type"), "application/json");
  nlohmann::json body = nlohmann::json::parse(response->body, nullptr, false);
  EXPECT_FALSE(body.is_discarded()) << response->body;
  return body;
}

} // namespace rsi::control::testing
