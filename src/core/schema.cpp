#include "core/schema.hpp"

#include <set>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/file_pointer.hpp"
#include "core/json_fields.hpp"
#include "core/table_name.hpp"
#include "core/text.hpp"

namespace rsi::core {
namespace {

Result<ColumnDefinition> decode_column(const nlohmann::json& item) {
  RSI_TRY(require_object(item));
  ColumnDefinition column;
  RSI_TRY_ASSIGN(column.inbound_name, require_string(item, "InboundName"));
  RSI_TRY_ASSIGN(column.outbound_name, require_string(item, "OutboundName"));
  if (auto valid = validate_column_name(column.outbound_name); !valid) {
    return fail(field_error("OutboundName", valid.error()));
  }
  RSI_TRY_ASSIGN(column.transformer, require_string(item, "Transformer"));
  RSI_TRY_ASSIGN(column.column_creation_options, require_string(item, "ColumnCreationOptions"));
  RSI_TRY_ASSIGN(column.supporting_columns, require_string(item, "SupportingColumns"));
  return column;
}

Result<std::vector<ColumnDefinition>> decode_columns(const nlohmann::json& schema) {
  RSI_TRY_ASSIGN(const auto* columns, require_field(schema, "Columns"));
  std::vector<ColumnDefinition> decoded;
  if (columns->is_null()) {
    return decoded; // Go marshals an empty (nil) slice as null.
  }
  if (auto array = require_array(*columns); !array) {
    return fail(field_error("Columns", array.error()));
  }
  std::set<std::string, std::less<>> outbound_names;
  std::size_t index = 0;
  for (const auto& item : *columns) {
    auto column = decode_column(item);
    if (!column) {
      return fail(column.error().wrap(fmt::format("column {}", index)));
    }
    if (!outbound_names.insert(column->outbound_name).second) {
      return fail(ErrorKind::permanent,
                  fmt::format("column {}: field \"OutboundName\": duplicate column {}", index,
                              quote_for_message(column->outbound_name)));
    }
    decoded.push_back(std::move(*column));
    ++index;
  }
  return decoded;
}

Result<TableSchema> decode_schema(const nlohmann::json& item) {
  RSI_TRY(require_object(item));
  TableSchema schema;
  RSI_TRY_ASSIGN(schema.event_name, require_string(item, "EventName"));
  if (auto valid = validate_table_name(schema.event_name); !valid) {
    return fail(field_error("EventName", valid.error()));
  }
  RSI_TRY_ASSIGN(schema.columns, decode_columns(item));
  RSI_TRY_ASSIGN(const auto version, require_integer(item, "Version", 0, k_max_table_version));
  schema.version = static_cast<int>(version);
  RSI_TRY_ASSIGN(schema.created_ts, optional_string(item, "CreatedTS"));
  RSI_TRY_ASSIGN(schema.ts, optional_string(item, "TS"));
  RSI_TRY_ASSIGN(schema.user_name, optional_string(item, "UserName"));
  RSI_TRY_ASSIGN(schema.dropped, optional_bool(item, "Dropped", false));
  RSI_TRY_ASSIGN(schema.drop_requested, optional_bool(item, "DropRequested", false));
  RSI_TRY_ASSIGN(schema.reason, optional_string(item, "Reason"));
  return schema;
}

Result<std::vector<TableSchema>> decode_schema_list(std::string_view body) {
  RSI_TRY_ASSIGN(const auto document, parse_json(body));
  RSI_TRY(require_array(document));
  std::vector<TableSchema> schemas;
  schemas.reserve(document.size());
  for (std::size_t index = 0; index < document.size(); ++index) {
    auto schema = decode_schema(document[index]);
    if (!schema) {
      return fail(schema.error().wrap(fmt::format("schema {}", index)));
    }
    schemas.push_back(std::move(*schema));
  }
  return schemas;
}

Result<TableSchema> decode_single_schema(std::string_view body) {
  RSI_TRY_ASSIGN(const auto document, parse_json(body));
  RSI_TRY(require_array(document));
  if (document.size() != 1) {
    return fail(ErrorKind::permanent,
                fmt::format("expected an array of one schema, got {} elements", document.size()));
  }
  return decode_schema(document[0]);
}

Result<std::string> decode_blueprint_error(std::string_view body) {
  RSI_TRY_ASSIGN(const auto document, parse_json(body));
  RSI_TRY(require_object(document));
  return require_string(document, "Error");
}

nlohmann::ordered_json encode_schema_object(const TableSchema& schema) {
  nlohmann::ordered_json columns = nlohmann::ordered_json::array();
  for (const ColumnDefinition& column : schema.columns) {
    nlohmann::ordered_json item;
    item["InboundName"] = column.inbound_name;
    item["OutboundName"] = column.outbound_name;
    item["Transformer"] = column.transformer;
    item["ColumnCreationOptions"] = column.column_creation_options;
    item["SupportingColumns"] = column.supporting_columns;
    columns.push_back(std::move(item));
  }
  nlohmann::ordered_json item;
  item["EventName"] = schema.event_name;
  item["Columns"] = std::move(columns);
  item["Version"] = schema.version;
  item["CreatedTS"] = schema.created_ts;
  item["TS"] = schema.ts;
  item["UserName"] = schema.user_name;
  item["Dropped"] = schema.dropped;
  item["DropRequested"] = schema.drop_requested;
  item["Reason"] = schema.reason;
  return item;
}

} // namespace

Result<TableSchema> parse_schema(std::string_view body) {
  auto schema = decode_single_schema(body);
  if (!schema) {
    return fail(schema.error().wrap("parse schema"));
  }
  return schema;
}

Result<std::vector<TableSchema>> parse_schema_list(std::string_view body) {
  auto schemas = decode_schema_list(body);
  if (!schemas) {
    return fail(schemas.error().wrap("parse schema list"));
  }
  return schemas;
}

std::string encode_schema(const TableSchema& schema) {
  return encode_schema_list(std::span<const TableSchema>(&schema, 1));
}

std::string encode_schema_list(std::span<const TableSchema> schemas) {
  nlohmann::ordered_json document = nlohmann::ordered_json::array();
  for (const TableSchema& schema : schemas) {
    document.push_back(encode_schema_object(schema));
  }
  return dump_json(document);
}

Result<std::string> parse_blueprint_error(std::string_view body) {
  auto message = decode_blueprint_error(body);
  if (!message) {
    return fail(message.error().wrap("parse Blueprint error"));
  }
  return message;
}

std::string encode_blueprint_error(std::string_view message) {
  nlohmann::ordered_json document;
  document["Error"] = message;
  return dump_json(document);
}

} // namespace rsi::core
