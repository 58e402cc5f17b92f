#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "core/operation.hpp"
#include "core/schema.hpp"

// The schema files of the local registry and the migrations derived from them
// (docs/schema-registry.md has the format with an example). Used by local_registry.cpp; pure
// functions, no file access.
namespace rsi::registry {

// One `<root>/<table>/v<N>.json`: the table's schema at version N, plus the columns renamed
// since version N-1 (a rename cannot be told apart from a delete and an add otherwise).
struct LocalSchema {
  core::TableSchema schema; // event_name and version come from the file's path.
  // Old outbound name → new outbound name, as the file lists them.
  std::vector<std::pair<std::string, std::string>> renames;
};

// Decodes a schema file of `table` at `version`: an object (or Blueprint's one-element array)
// with "Columns" [{"OutboundName", "Transformer", optional "InboundName" (default: the
// outbound name), "ColumnCreationOptions", "SupportingColumns" (default "")}], optional
// "Renames" {"old": "new"}, "Dropped", "DropRequested", "Reason", and the fields Blueprint
// adds ("EventName" and "Version", which must match the path, "CreatedTS", "TS", "UserName").
// Unknown fields, wrong types, invalid or duplicate column names, and a schema without
// columns that is not dropped fail permanent, naming the field:
// `column 2: field "Transformer": missing`. The caller puts the file's path in front.
[[nodiscard]] Result<LocalSchema> parse_local_schema(std::string_view body, std::string_view table,
                                                     int version);

// The steps from `previous` (nullopt: version N-1 does not exist, or N is 0) to `next`, in
// Blueprint's order: deletes, adds, renames (in the order of the new columns), then
// request_drop_event / cancel_drop_event when DropRequested changed. A dropped `next` is one
// drop_event; after a dropped `previous` every column of `next` is added (a re-created event).
// Fails permanent, naming the field, for a rename that does not fit the two schemas and for a
// column whose Transformer or ColumnCreationOptions changed (the warehouse cannot change a
// column's type; add a column under a new name instead).
[[nodiscard]] Result<std::vector<core::Operation>>
derive_migration(const std::optional<LocalSchema>& previous, const LocalSchema& next);

} // namespace rsi::registry
