#include "control/handler_support.hpp"

#include <fmt/format.h>

#include "common/log.hpp"
#include "common/strings.hpp"
#include "core/json_fields.hpp"
#include "core/table_name.hpp"

namespace rsi::control::detail {

using nlohmann::json;

http::ServerResponse error(int status, std::string_view message) {
  return {.status = status, .body = http::error_body(message)};
}

http::ServerResponse json_response(const json& body, int status) {
  return {.status = status, .body = body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

http::ServerResponse backend_error(std::string_view what, const Error& failure) {
  log::error("control API request failed",
             {{"request", std::string(what)}, {"error", failure.message}});
  return error(failure.kind == ErrorKind::transient ? 503 : 500, failure.message);
}

std::optional<std::string> go_string_field(const json& object, std::string_view name) {
  const json* field = nullptr;
  if (const auto exact = object.find(name); exact != object.end()) {
    field = &*exact;
  } else {
    for (const auto& [key, value] : object.items()) {
      if (iequals_ascii(key, name)) {
        field = &value;
        break;
      }
    }
  }
  if (field == nullptr || field->is_null()) {
    return std::string();
  }
  if (!field->is_string()) {
    return std::nullopt;
  }
  return field->get<std::string>();
}

json parse_body(std::string_view body) {
  auto parsed = core::parse_json(body);
  return parsed ? std::move(*parsed) : json(json::value_t::discarded);
}

std::variant<NamedRows, http::ServerResponse> parse_named_rows(std::string_view text,
                                                               std::string_view what) {
  NamedRows named{.body = parse_body(text)};
  const json& body = named.body;
  if (!body.is_object()) {
    return error(400, "Problem decoding JSON POST data.");
  }
  const auto given = go_string_field(body, "Requester");
  const auto table = go_string_field(body, "Table");
  if (!given || !table) {
    return error(400, "Problem decoding JSON POST data.");
  }
  if (given->size() > k_max_requester_bytes) {
    return error(400, fmt::format("Requester longer than {} bytes.", k_max_requester_bytes));
  }
  if (!given->empty()) {
    named.requester = *given;
  }
  if (!table->empty()) {
    if (auto valid = core::validate_table_name(*table); !valid) {
      return error(400, valid.error().message);
    }
    named.table = *table;
  }
  if (const auto ids = body.find("Ids"); ids != body.end() && !ids->is_null()) {
    if (!ids->is_array() || ids->size() > k_max_selected_ids) {
      return error(
          400, fmt::format("Ids must be an array of at most {} {} ids.", k_max_selected_ids, what));
    }
    for (const auto& id : *ids) {
      if (!id.is_number_integer()) {
        return error(400, fmt::format("Ids must be an array of {} ids (integers).", what));
      }
      named.ids.push_back(id.get<std::int64_t>());
    }
  }
  const auto all = body.find("All");
  named.all = all != body.end() && all->is_boolean() && all->get<bool>();
  return named;
}

} // namespace rsi::control::detail
