#include "registry/local_schema.hpp"

#include <algorithm>
#include <array>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/file_pointer.hpp"
#include "core/json_fields.hpp"
#include "core/table_name.hpp"
#include "core/text.hpp"

namespace rsi::registry {
namespace {

constexpr std::array<std::string_view, 10> k_schema_fields{
    "EventName",     "Version", "Columns",   "Renames", "Dropped",
    "DropRequested", "Reason",  "CreatedTS", "TS",      "UserName"};
constexpr std::array<std::string_view, 5> k_column_fields{
    "InboundName", "OutboundName", "Transformer", "ColumnCreationOptions", "SupportingColumns"};

template <std::size_t N>
Result<void> reject_unknown_fields(const nlohmann::json& object,
                                   const std::array<std::string_view, N>& known) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return fail(ErrorKind::permanent,
                  fmt::format("field {}: unknown field (expected one of {})",
                              core::quote_for_message(key), fmt::join(known, ", ")));
    }
  }
  return {};
}

std::string quote_name(std::string_view name) { return core::quote_for_message(name); }

Result<core::ColumnDefinition> decode_column(const nlohmann::json& item) {
  RSI_TRY(core::require_object(item));
  RSI_TRY(reject_unknown_fields(item, k_column_fields));
  core::ColumnDefinition column;
  RSI_TRY_ASSIGN(column.outbound_name, core::require_string(item, "OutboundName"));
  if (auto valid = core::validate_column_name(column.outbound_name); !valid) {
    return fail(core::field_error("OutboundName", valid.error()));
  }
  RSI_TRY_ASSIGN(column.inbound_name,
                 core::optional_string(item, "InboundName", column.outbound_name));
  RSI_TRY_ASSIGN(column.transformer, core::require_string(item, "Transformer"));
  if (column.transformer.empty()) {
    return fail(ErrorKind::permanent,
                "field \"Transformer\": empty (the column type, e.g. \"varchar\")");
  }
  RSI_TRY_ASSIGN(column.column_creation_options,
                 core::optional_string(item, "ColumnCreationOptions"));
  RSI_TRY_ASSIGN(column.supporting_columns, core::optional_string(item, "SupportingColumns"));
  return column;
}

Result<std::vector<core::ColumnDefinition>> decode_columns(const nlohmann::json& document,
                                                           bool dropped) {
  std::vector<core::ColumnDefinition> columns;
  const nlohmann::json* field = core::find_field(document, "Columns");
  if (field == nullptr || field->is_null()) {
    if (dropped) {
      return columns;
    }
    return fail(ErrorKind::permanent, "field \"Columns\": missing");
  }
  if (auto array = core::require_array(*field); !array) {
    return fail(core::field_error("Columns", array.error()));
  }
  std::set<std::string, std::less<>> names;
  std::size_t index = 0;
  for (const auto& item : *field) {
    auto column = decode_column(item);
    if (!column) {
      return fail(column.error().wrap(fmt::format("column {}", index)));
    }
    if (!names.insert(column->outbound_name).second) {
      return fail(ErrorKind::permanent,
                  fmt::format("column {}: field \"OutboundName\": duplicate column {}", index,
                              quote_name(column->outbound_name)));
    }
    columns.push_back(std::move(*column));
    ++index;
  }
  if (columns.empty() && !dropped) {
    return fail(ErrorKind::permanent,
                "field \"Columns\": a schema that is not dropped needs at least one column");
  }
  return columns;
}

Result<std::vector<std::pair<std::string, std::string>>>
decode_renames(const nlohmann::json& document) {
  std::vector<std::pair<std::string, std::string>> renames;
  const nlohmann::json* field = core::find_field(document, "Renames");
  if (field == nullptr || field->is_null()) {
    return renames;
  }
  if (auto object = core::require_object(*field); !object) {
    return fail(core::field_error("Renames", object.error()));
  }
  for (const auto& [from, to] : field->items()) {
    if (!to.is_string()) {
      return fail(
          ErrorKind::permanent,
          fmt::format("field \"Renames\": {}: expected the new column name as a string, got {}",
                      quote_name(from), core::describe_json(to)));
    }
    for (const std::string& name : {from, to.get<std::string>()}) {
      if (auto valid = core::validate_column_name(name); !valid) {
        return fail(core::field_error("Renames", valid.error()));
      }
    }
    renames.emplace_back(from, to.get<std::string>());
  }
  return renames;
}

Result<LocalSchema> decode_local_schema(const nlohmann::json& parsed, std::string_view table,
                                        int version) {
  const nlohmann::json* document = &parsed;
  if (parsed.is_array()) { // Blueprint's GET /schema answer, saved as is.
    if (parsed.size() != 1) {
      return fail(
          ErrorKind::permanent,
          fmt::format("expected one schema object (or an array holding one), got an array of {}",
                      parsed.size()));
    }
    document = &parsed.front();
  }
  RSI_TRY(core::require_object(*document));
  RSI_TRY(reject_unknown_fields(*document, k_schema_fields));
  LocalSchema local;
  core::TableSchema& schema = local.schema;
  RSI_TRY_ASSIGN(schema.event_name,
                 core::optional_string(*document, "EventName", std::string(table)));
  if (schema.event_name != table) {
    return fail(ErrorKind::permanent,
                fmt::format("field \"EventName\": {} does not match the folder name {}",
                            quote_name(schema.event_name), quote_name(table)));
  }
  RSI_TRY_ASSIGN(const auto declared, core::optional_integer(*document, "Version", 0,
                                                             core::k_max_table_version, version));
  if (declared != version) {
    return fail(ErrorKind::permanent,
                fmt::format("field \"Version\": {} does not match the file name v{}.json", declared,
                            version));
  }
  schema.version = version;
  RSI_TRY_ASSIGN(schema.dropped, core::optional_bool(*document, "Dropped", false));
  RSI_TRY_ASSIGN(schema.drop_requested, core::optional_bool(*document, "DropRequested", false));
  RSI_TRY_ASSIGN(schema.reason, core::optional_string(*document, "Reason"));
  RSI_TRY_ASSIGN(schema.created_ts, core::optional_string(*document, "CreatedTS"));
  RSI_TRY_ASSIGN(schema.ts, core::optional_string(*document, "TS"));
  RSI_TRY_ASSIGN(schema.user_name, core::optional_string(*document, "UserName"));
  RSI_TRY_ASSIGN(schema.columns, decode_columns(*document, schema.dropped));
  RSI_TRY_ASSIGN(local.renames, decode_renames(*document));
  return local;
}

using Columns = std::vector<core::ColumnDefinition>;

const core::ColumnDefinition* find_column(const Columns& columns, std::string_view name) {
  const auto found =
      std::find_if(columns.begin(), columns.end(), [&](const core::ColumnDefinition& column) {
        return column.outbound_name == name;
      });
  return found == columns.end() ? nullptr : &*found;
}

core::Operation add_step(const core::ColumnDefinition& column) {
  return {.action = core::Action::add,
          .name = column.outbound_name,
          .inbound = column.inbound_name,
          .column_type = column.transformer,
          .column_options = column.column_creation_options,
          .supporting_columns = column.supporting_columns};
}

// The warehouse type of a column is its Transformer with its ColumnCreationOptions; neither
// can change while the column lives.
Result<void> check_same_type(const core::ColumnDefinition& before,
                             const core::ColumnDefinition& after) {
  const auto changed = [&](std::string_view field, std::string_view from, std::string_view to) {
    return fail(
        ErrorKind::permanent,
        fmt::format("column {}: field \"{}\": changes from {} to {}; the warehouse cannot change a "
                    "column's "
                    "type (add a column under a new name, and delete the old one if needed)",
                    quote_name(after.outbound_name), field, quote_name(from), quote_name(to)));
  };
  if (before.transformer != after.transformer) {
    return changed("Transformer", before.transformer, after.transformer);
  }
  if (before.column_creation_options != after.column_creation_options) {
    return changed("ColumnCreationOptions", before.column_creation_options,
                   after.column_creation_options);
  }
  return {};
}

Result<void> check_renames(const LocalSchema& previous, const LocalSchema& next) {
  const Columns& before = previous.schema.columns;
  const Columns& after = next.schema.columns;
  std::set<std::string, std::less<>> targets;
  for (const auto& [from, to] : next.renames) {
    const std::string what =
        fmt::format("field \"Renames\": {} to {}", quote_name(from), quote_name(to));
    const core::ColumnDefinition* old_column = find_column(before, from);
    if (old_column == nullptr) {
      return fail(ErrorKind::permanent, fmt::format("{}: v{} has no column {}", what,
                                                    previous.schema.version, quote_name(from)));
    }
    if (find_column(after, from) != nullptr) {
      return fail(ErrorKind::permanent,
                  fmt::format("{}: this version still has a column {}", what, quote_name(from)));
    }
    const core::ColumnDefinition* new_column = find_column(after, to);
    if (new_column == nullptr) {
      return fail(ErrorKind::permanent,
                  fmt::format("{}: \"Columns\" has no column {}", what, quote_name(to)));
    }
    if (find_column(before, to) != nullptr) {
      return fail(ErrorKind::permanent, fmt::format("{}: v{} has a column {} already", what,
                                                    previous.schema.version, quote_name(to)));
    }
    if (!targets.insert(to).second) {
      return fail(ErrorKind::permanent,
                  fmt::format("{}: two columns are renamed to {}", what, quote_name(to)));
    }
    RSI_TRY(check_same_type(*old_column, *new_column));
  }
  return {};
}

std::vector<core::Operation> create_steps(const LocalSchema& next) {
  std::vector<core::Operation> steps;
  for (const auto& column : next.schema.columns) {
    steps.push_back(add_step(column));
  }
  return steps;
}

Result<std::vector<core::Operation>> alter_steps(const LocalSchema& previous,
                                                 const LocalSchema& next) {
  RSI_TRY(check_renames(previous, next));
  const Columns& before = previous.schema.columns;
  const Columns& after = next.schema.columns;
  const auto renamed_from = [&](std::string_view name) {
    return std::any_of(next.renames.begin(), next.renames.end(),
                       [&](const auto& rename) { return rename.first == name; });
  };
  const auto renamed_to = [&](std::string_view name) {
    return std::any_of(next.renames.begin(), next.renames.end(),
                       [&](const auto& rename) { return rename.second == name; });
  };
  std::vector<core::Operation> steps;
  for (const auto& column : before) {
    if (find_column(after, column.outbound_name) == nullptr &&
        !renamed_from(column.outbound_name)) {
      steps.push_back({.action = core::Action::delete_column, .name = column.outbound_name});
    }
  }
  for (const auto& column : after) {
    const core::ColumnDefinition* kept = find_column(before, column.outbound_name);
    if (kept != nullptr) {
      RSI_TRY(check_same_type(*kept, column));
    } else if (!renamed_to(column.outbound_name)) {
      steps.push_back(add_step(column));
    }
  }
  for (const auto& column : after) { // Renames in the order of the new columns.
    for (const auto& [from, to] : next.renames) {
      if (to == column.outbound_name) {
        steps.push_back({.action = core::Action::rename, .name = from, .new_outbound = to});
      }
    }
  }
  return steps;
}

} // namespace

Result<LocalSchema> parse_local_schema(std::string_view body, std::string_view table, int version) {
  RSI_TRY(core::validate_table_name(table));
  RSI_TRY_ASSIGN(const nlohmann::json parsed, core::parse_json(body));
  return decode_local_schema(parsed, table, version);
}

Result<std::vector<core::Operation>> derive_migration(const std::optional<LocalSchema>& previous,
                                                      const LocalSchema& next) {
  const bool table_before = previous.has_value() && !previous->schema.dropped;
  std::vector<core::Operation> steps;
  if (next.schema.dropped) {
    if (previous && previous->schema.dropped) {
      return fail(ErrorKind::permanent,
                  fmt::format("field \"Dropped\": the event was dropped in v{} already",
                              previous->schema.version));
    }
    if (!next.renames.empty()) {
      return fail(ErrorKind::permanent, "field \"Renames\": a dropped event renames nothing");
    }
    steps.push_back({.action = core::Action::drop_event, .reason = next.schema.reason});
  } else if (!table_before) {
    if (!next.renames.empty()) {
      return fail(ErrorKind::permanent,
                  fmt::format("field \"Renames\": nothing to rename: {}",
                              previous ? fmt::format("the event was dropped in v{}",
                                                     previous->schema.version)
                                       : std::string("this version creates the table")));
    }
    steps = create_steps(next);
  } else {
    RSI_TRY_ASSIGN(steps, alter_steps(*previous, next));
  }
  const bool requested_before = table_before && previous->schema.drop_requested;
  if (!next.schema.dropped && next.schema.drop_requested && !requested_before) {
    steps.push_back({.action = core::Action::request_drop_event, .reason = next.schema.reason});
  } else if (!next.schema.dropped && !next.schema.drop_requested && requested_before) {
    steps.push_back({.action = core::Action::cancel_drop_event});
  }
  int ordering = 0;
  for (auto& step : steps) {
    step.version = next.schema.version;
    step.ordering = ordering++;
  }
  return steps;
}

} // namespace rsi::registry
