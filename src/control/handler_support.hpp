#pragma once

// What the control API's handlers share (control_api.cpp, rejected_api.cpp): error and JSON
// answers, and the reading of request bodies as the original's Go decoding read them. Not part
// of the control API's interface.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "http/server.hpp"

namespace rsi::control::detail {

// Requesters are kept (force loads, the quarantine) and logged: bounded.
inline constexpr std::size_t k_max_requester_bytes = 256;
// Ids one request may name (quarantined files, rejected messages).
inline constexpr std::size_t k_max_selected_ids = 10'000;

http::ServerResponse error(int status, std::string_view message);
http::ServerResponse json_response(const nlohmann::json& body, int status = 200);

// A backend failure: 503 when retrying may help, 500 otherwise; logged here, once.
http::ServerResponse backend_error(std::string_view what, const Error& failure);

// A string field of a request body as the original's Go decoding read it: the name matches
// exactly or, failing that, case-insensitively; a missing field or null is empty. nullopt
// when the field holds another type (the original's "Problem decoding JSON POST data.").
std::optional<std::string> go_string_field(const nlohmann::json& object, std::string_view name);

// A request body as JSON (core::parse_json: nesting bounded); a value that is not an object (a
// discarded one) when it is not a JSON document, so callers answer 400.
nlohmann::json parse_body(std::string_view body);

// What a request that acts on a set of rows names: {"Requester":"who","Table":"t","Ids":[1,2]}
// or {"All":true}, and the body for further fields.
struct NamedRows {
  std::string requester = "control-api"; // At most k_max_requester_bytes.
  std::optional<std::string> table;      // A valid table name.
  std::vector<std::int64_t> ids;         // At most k_max_selected_ids.
  bool all = false;
  nlohmann::json body;
};

// The rows a body names, or the 400 that says why it names none properly (`what`: "file" or
// "message", for the messages).
std::variant<NamedRows, http::ServerResponse> parse_named_rows(std::string_view text,
                                                               std::string_view what);

} // namespace rsi::control::detail
