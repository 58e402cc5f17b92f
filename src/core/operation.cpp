#include "core/operation.hpp"

#include <array>
#include <limits>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/file_pointer.hpp"
#include "core/json_fields.hpp"
#include "core/table_name.hpp"
#include "core/text.hpp"

namespace rsi::core {
namespace {

constexpr std::array<std::pair<Action, std::string_view>, 6> k_action_names{{
    {Action::add, "add"},
    {Action::delete_column, "delete"},
    {Action::rename, "rename"},
    {Action::drop_event, "drop_event"},
    {Action::request_drop_event, "request_drop_event"},
    {Action::cancel_drop_event, "cancel_drop_event"},
}};

Result<void> check_column_name(std::string_view field, std::string_view name) {
  if (auto valid = validate_column_name(name); !valid) {
    return fail(field_error(field, valid.error()));
  }
  return {};
}

// ActionMetadata is a map[string]string in Blueprint: every value must be a string.
Result<void> check_metadata_values(const nlohmann::json& metadata) {
  for (const auto& [key, value] : metadata.items()) {
    if (!value.is_string()) {
      return fail(ErrorKind::permanent,
                  fmt::format("field \"ActionMetadata\": key {}: expected a string, got {}",
                              quote_for_message(key), describe_json(value)));
    }
  }
  return {};
}

Result<std::string> metadata_string(const nlohmann::json& metadata, std::string_view key) {
  auto value = require_string(metadata, key);
  if (!value) {
    return fail(value.error().wrap("field \"ActionMetadata\""));
  }
  return value;
}

// Check `operation.name` and copy the ActionMetadata keys its action needs into `operation`.
Result<void> decode_action_metadata(const nlohmann::json& metadata, Operation& operation) {
  switch (operation.action) {
  case Action::add: {
    RSI_TRY(check_column_name("Name", operation.name));
    RSI_TRY_ASSIGN(operation.inbound, metadata_string(metadata, "inbound"));
    RSI_TRY_ASSIGN(operation.column_type, metadata_string(metadata, "column_type"));
    RSI_TRY_ASSIGN(operation.column_options, metadata_string(metadata, "column_options"));
    RSI_TRY_ASSIGN(operation.supporting_columns, metadata_string(metadata, "supporting_columns"));
    return {};
  }
  case Action::delete_column:
    return check_column_name("Name", operation.name);
  case Action::rename: {
    RSI_TRY(check_column_name("Name", operation.name));
    RSI_TRY_ASSIGN(operation.new_outbound, metadata_string(metadata, "new_outbound"));
    if (auto valid = validate_column_name(operation.new_outbound); !valid) {
      return fail(valid.error().wrap("field \"ActionMetadata\": field \"new_outbound\""));
    }
    return {};
  }
  case Action::drop_event:
  case Action::request_drop_event: {
    RSI_TRY_ASSIGN(operation.reason, metadata_string(metadata, "reason"));
    return {};
  }
  case Action::cancel_drop_event:
    return {};
  }
  return {};
}

Result<Operation> decode_operation(const nlohmann::json& item) {
  RSI_TRY(require_object(item));
  Operation operation;
  RSI_TRY_ASSIGN(const auto action_name, require_string(item, "Action"));
  const auto action = parse_action(action_name);
  if (!action) {
    return fail(ErrorKind::permanent,
                fmt::format("field \"Action\": unknown action {}", quote_for_message(action_name)));
  }
  operation.action = *action;
  RSI_TRY_ASSIGN(operation.name, require_string(item, "Name"));
  RSI_TRY_ASSIGN(const auto version, require_integer(item, "Version", 0, k_max_table_version));
  operation.version = static_cast<int>(version);
  RSI_TRY_ASSIGN(const auto ordering,
                 require_integer(item, "Ordering", 0, std::numeric_limits<int>::max()));
  operation.ordering = static_cast<int>(ordering);

  RSI_TRY_ASSIGN(const auto* metadata, require_field(item, "ActionMetadata"));
  if (auto object = require_object(*metadata); !object) {
    return fail(field_error("ActionMetadata", object.error()));
  }
  RSI_TRY(check_metadata_values(*metadata));

  RSI_TRY(decode_action_metadata(*metadata, operation));
  return operation;
}

Result<std::vector<Operation>> decode_migration(std::string_view body) {
  RSI_TRY_ASSIGN(const auto document, parse_json(body));
  RSI_TRY(require_array(document));
  std::vector<Operation> operations;
  operations.reserve(document.size());
  for (std::size_t index = 0; index < document.size(); ++index) {
    auto operation = decode_operation(document[index]);
    if (!operation) {
      return fail(operation.error().wrap(fmt::format("operation {}", index)));
    }
    // The migrator applies steps in the order given, so a reordered or repeated step is a
    // corrupt response, not something to sort out here.
    if (!operations.empty()) {
      const Operation& previous = operations.back();
      if (std::pair(operation->version, operation->ordering) <=
          std::pair(previous.version, previous.ordering)) {
        return fail(ErrorKind::permanent,
                    fmt::format("operation {}: (Version {}, Ordering {}) does not follow "
                                "(Version {}, Ordering {})",
                                index, operation->version, operation->ordering, previous.version,
                                previous.ordering));
      }
    }
    operations.push_back(std::move(*operation));
  }
  return operations;
}

nlohmann::ordered_json encode_metadata(const Operation& operation) {
  // Blueprint marshals ActionMetadata as a Go map, so its keys come out sorted.
  nlohmann::ordered_json metadata = nlohmann::ordered_json::object();
  switch (operation.action) {
  case Action::add:
    metadata["column_options"] = operation.column_options;
    metadata["column_type"] = operation.column_type;
    metadata["inbound"] = operation.inbound;
    metadata["supporting_columns"] = operation.supporting_columns;
    break;
  case Action::rename:
    metadata["new_outbound"] = operation.new_outbound;
    break;
  case Action::drop_event:
  case Action::request_drop_event:
    metadata["reason"] = operation.reason;
    break;
  case Action::delete_column:
  case Action::cancel_drop_event:
    break;
  }
  return metadata;
}

} // namespace

std::string_view to_string(Action action) {
  for (const auto& [value, name] : k_action_names) {
    if (value == action) {
      return name;
    }
  }
  return "unknown";
}

std::optional<Action> parse_action(std::string_view name) {
  for (const auto& [value, wire_name] : k_action_names) {
    if (wire_name == name) {
      return value;
    }
  }
  return std::nullopt;
}

Result<std::vector<Operation>> parse_migration(std::string_view body) {
  auto operations = decode_migration(body);
  if (!operations) {
    return fail(operations.error().wrap("parse migration"));
  }
  return operations;
}

std::string encode_migration(std::span<const Operation> operations) {
  nlohmann::ordered_json document = nlohmann::ordered_json::array();
  for (const Operation& operation : operations) {
    nlohmann::ordered_json item;
    item["Action"] = to_string(operation.action);
    item["Name"] = operation.name;
    item["ActionMetadata"] = encode_metadata(operation);
    item["Version"] = operation.version;
    item["Ordering"] = operation.ordering;
    document.push_back(std::move(item));
  }
  return dump_json(document);
}

} // namespace rsi::core
