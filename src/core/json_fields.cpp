#include "core/json_fields.hpp"

#include <cstddef>
#include <limits>

#include <fmt/format.h>

#include "core/text.hpp"

namespace rsi::core {
namespace {

// nlohmann's messages start with "[json.exception.parse_error.101] "; the id adds nothing.
std::string parse_error_reason(std::string_view what) {
  if (what.starts_with('[')) {
    if (const auto end = what.find("] "); end != std::string_view::npos) {
      what.remove_prefix(end + 2);
    }
  }
  // The reason can quote input bytes ("last read: '...'"); escape them like any other input.
  return escape_for_message(what, 160);
}

std::string expected_integer(std::int64_t min, std::int64_t max) {
  if (min == 0) {
    return "a non-negative integer";
  }
  if (max == std::numeric_limits<std::int64_t>::max()) {
    return fmt::format("an integer of at least {}", min);
  }
  return fmt::format("an integer between {} and {}", min, max);
}

std::unexpected<Error> missing(std::string_view field) {
  return fail(ErrorKind::permanent, fmt::format("field \"{}\": missing", field));
}

Result<std::string> string_value(const nlohmann::json& value, std::string_view field) {
  if (!value.is_string()) {
    return fail(ErrorKind::permanent, fmt::format("field \"{}\": expected a string, got {}", field,
                                                  describe_json(value)));
  }
  return value.get<std::string>();
}

Result<std::int64_t> integer_value(const nlohmann::json& value, std::string_view field,
                                   std::int64_t min, std::int64_t max) {
  const auto wrong = [&] {
    return fail(ErrorKind::permanent,
                fmt::format("field \"{}\": expected {}, got {}", field, expected_integer(min, max),
                            describe_json(value)));
  };
  const auto above = [&] {
    return fail(ErrorKind::permanent,
                fmt::format("field \"{}\": {} is above the limit of {}", field, value.dump(), max));
  };
  if (value.is_number_unsigned()) {
    const auto number = value.get<std::uint64_t>();
    if (number > static_cast<std::uint64_t>(max)) {
      return above();
    }
    if (static_cast<std::int64_t>(number) < min) {
      return wrong();
    }
    return static_cast<std::int64_t>(number);
  }
  if (value.is_number_integer()) {
    const auto number = value.get<std::int64_t>();
    if (number < min) {
      return wrong();
    }
    if (number > max) {
      return above();
    }
    return number;
  }
  return wrong();
}

} // namespace

Result<nlohmann::json> parse_json(std::string_view body) {
  struct TooDeep {};
  const auto limit_depth = [](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    // `depth` counts the containers around this one: 0 for the outermost.
    if (depth >= k_max_json_depth && (event == nlohmann::json::parse_event_t::object_start ||
                                      event == nlohmann::json::parse_event_t::array_start)) {
      throw TooDeep{}; // Stops the parser at once: nothing deeper is read or built.
    }
    return true;
  };
  try {
    return nlohmann::json::parse(body, limit_depth);
  } catch (const TooDeep&) {
    return fail(ErrorKind::permanent,
                fmt::format("malformed JSON: nested deeper than {} levels", k_max_json_depth));
  } catch (const nlohmann::json::exception& error) {
    // Syntax errors (parse_error) already say where: "parse error at line 1, column 5: ...".
    // A number too large for a double (1e999) is an out_of_range (406): refused the same way.
    return fail(ErrorKind::permanent,
                fmt::format("malformed JSON: {}", parse_error_reason(error.what())));
  }
}

std::string describe_json(const nlohmann::json& value) {
  switch (value.type()) {
  case nlohmann::json::value_t::string:
    return quote_for_message(value.get_ref<const std::string&>());
  case nlohmann::json::value_t::object:
    return "an object";
  case nlohmann::json::value_t::array:
    return "an array";
  default:
    return value.dump();
  }
}

Result<void> require_object(const nlohmann::json& value) {
  if (!value.is_object()) {
    return fail(ErrorKind::permanent,
                fmt::format("expected a JSON object, got {}", describe_json(value)));
  }
  return {};
}

Result<void> require_array(const nlohmann::json& value) {
  if (!value.is_array()) {
    return fail(ErrorKind::permanent,
                fmt::format("expected a JSON array, got {}", describe_json(value)));
  }
  return {};
}

const nlohmann::json* find_field(const nlohmann::json& object, std::string_view field) {
  if (!object.is_object()) {
    return nullptr;
  }
  const auto found = object.find(std::string(field));
  return found == object.end() ? nullptr : &*found;
}

Result<const nlohmann::json*> require_field(const nlohmann::json& object, std::string_view field) {
  const auto* value = find_field(object, field);
  if (value == nullptr) {
    return missing(field);
  }
  return value;
}

Result<std::string> require_string(const nlohmann::json& object, std::string_view field) {
  const auto* value = find_field(object, field);
  if (value == nullptr) {
    return missing(field);
  }
  return string_value(*value, field);
}

Result<std::string> optional_string(const nlohmann::json& object, std::string_view field,
                                    std::string fallback) {
  const auto* value = find_field(object, field);
  if (value == nullptr) {
    return fallback;
  }
  return string_value(*value, field);
}

Result<std::int64_t> require_integer(const nlohmann::json& object, std::string_view field,
                                     std::int64_t min, std::int64_t max) {
  const auto* value = find_field(object, field);
  if (value == nullptr) {
    return missing(field);
  }
  return integer_value(*value, field, min, max);
}

Result<std::int64_t> optional_integer(const nlohmann::json& object, std::string_view field,
                                      std::int64_t min, std::int64_t max, std::int64_t fallback) {
  const auto* value = find_field(object, field);
  if (value == nullptr) {
    return fallback;
  }
  return integer_value(*value, field, min, max);
}

Result<bool> optional_bool(const nlohmann::json& object, std::string_view field, bool fallback) {
  const auto* value = find_field(object, field);
  if (value == nullptr) {
    return fallback;
  }
  if (!value->is_boolean()) {
    return fail(ErrorKind::permanent, fmt::format("field \"{}\": expected true or false, got {}",
                                                  field, describe_json(*value)));
  }
  return value->get<bool>();
}

std::string dump_json(const nlohmann::ordered_json& document) {
  return document.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Error field_error(std::string_view field, const Error& error) {
  return error.wrap(fmt::format("field \"{}\"", field));
}

} // namespace rsi::core
