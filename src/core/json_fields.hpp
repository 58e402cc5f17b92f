#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace rsi::core {

// Strict readers for the JSON the pipeline and Blueprint speak, shared by the codecs in core/
// and usable for other small JSON bodies (control API requests). Every error is
// ErrorKind::permanent and says what was wrong without context, for example
// `field "TableVersion": expected a non-negative integer, got "abc"`; the caller adds the
// operation and position with Error::wrap ("parse queue message", "operation 3").
//
// Field names match exactly (Go's encoding/json also accepted case variants such as
// "keyname"; no producer writes those, so here they count as unknown fields).

// How deep objects and arrays may nest in a document parse_json accepts. Nothing this project
// reads comes near it; a hostile body of brackets would otherwise cost far more memory than its
// size (every level is a container of its own).
inline constexpr int k_max_json_depth = 64;

// Parse `body` as one JSON document; anything but whitespace after it is an error, as with
// Go's json.Unmarshal. Strings must be valid UTF-8. Nesting deeper than k_max_json_depth is
// refused as soon as it is met.
[[nodiscard]] Result<nlohmann::json> parse_json(std::string_view body);

// `value` as it should appear in an error message: strings via quote_for_message, numbers and
// literals as JSON, containers by kind ("an object", "an array").
std::string describe_json(const nlohmann::json& value);

// Fails unless `value` is an object: "expected a JSON object, got an array".
[[nodiscard]] Result<void> require_object(const nlohmann::json& value);

// Fails unless `value` is an array: "expected a JSON array, got an object".
[[nodiscard]] Result<void> require_array(const nlohmann::json& value);

// The value of `field` in `object`, or nullptr when absent (or when `object` is no object).
const nlohmann::json* find_field(const nlohmann::json& object, std::string_view field);

// The value of `field` in `object`; fails with `field "<field>": missing` when absent.
[[nodiscard]] Result<const nlohmann::json*> require_field(const nlohmann::json& object,
                                                          std::string_view field);

// The string `object[field]`; fails when the field is absent or not a string (null included).
[[nodiscard]] Result<std::string> require_string(const nlohmann::json& object,
                                                 std::string_view field);

// Like require_string, but an absent field gives `fallback`.
[[nodiscard]] Result<std::string>
optional_string(const nlohmann::json& object, std::string_view field, std::string fallback = {});

// The integer `object[field]` within [`min`, `max`]. Only integer literals count: 1.5, 1.0,
// 1e0 and "1" are rejected, as Go's encoding/json rejects them for an int field.
[[nodiscard]] Result<std::int64_t> require_integer(const nlohmann::json& object,
                                                   std::string_view field, std::int64_t min,
                                                   std::int64_t max);

// Like require_integer, but an absent field gives `fallback`.
[[nodiscard]] Result<std::int64_t> optional_integer(const nlohmann::json& object,
                                                    std::string_view field, std::int64_t min,
                                                    std::int64_t max, std::int64_t fallback);

// The boolean `object[field]`, or `fallback` when absent; any other type is an error.
[[nodiscard]] Result<bool> optional_bool(const nlohmann::json& object, std::string_view field,
                                         bool fallback);

// `document` as compact JSON (no spaces, as Go's json.Marshal writes it). Never throws: bytes
// of a string that are not valid UTF-8 are written as U+FFFD.
std::string dump_json(const nlohmann::ordered_json& document);

// `error` with `field "<field>"` in front, for errors found in a field's value.
Error field_error(std::string_view field, const Error& error);

} // namespace rsi::core
