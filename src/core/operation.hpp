#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace rsi::core {

// What one migration step does. The wire names are Blueprint's: "add", "delete", "rename",
// "drop_event", "request_drop_event", "cancel_drop_event".
enum class Action {
  add,                // ADD COLUMN `name`.
  delete_column,      // DROP COLUMN `name` CASCADE ("delete" on the wire).
  rename,             // RENAME COLUMN `name` TO `new_outbound`.
  drop_event,         // The event was dropped; no DDL.
  request_drop_event, // The event is marked for manual deletion; no DDL.
  cancel_drop_event,  // The mark is removed; no DDL.
};

std::string_view to_string(Action action);

// The Action for a wire name, or nullopt for an unknown one.
std::optional<Action> parse_action(std::string_view name);

// One step of a Blueprint migration (GET /migration/<table>), with its ActionMetadata map
// flattened into fields. Which fields an action carries:
//   add                               name, inbound, column_type, column_options,
//   supporting_columns delete_column                     name rename name, new_outbound drop_event,
//   request_drop_event    reason (name is "") cancel_drop_event                 nothing (name is
//   "")
// Fields an action does not carry stay empty and are not encoded.
struct Operation {
  Action action = Action::add;
  std::string name; // The column's outbound name.
  int version = 0;  // The schema version this step produces.
  int ordering = 0; // Position within `version`.
  std::string inbound;
  std::string column_type;    // A Blueprint transformer: "varchar", "f@timestamp@unix", "ipCity"...
  std::string column_options; // Appended to the type: "(25)", " sortkey".
  std::string supporting_columns;
  std::string new_outbound;
  std::string reason;

  bool operator==(const Operation&) const = default;
};

// Decode a GET /migration/<table> response body: a JSON array of
//   {"Action":…,"Name":…,"ActionMetadata":{…},"Version":N,"Ordering":N}
// Strict: every field present and typed (ActionMetadata values are strings, unknown keys
// ignored); an unknown Action; a missing metadata key the action needs (add: inbound,
// column_type, column_options, supporting_columns, possibly ""; rename: new_outbound;
// drop_event and request_drop_event: reason); a column name failing validate_column_name (add,
// delete, rename, and rename's new_outbound); Version outside 0..k_max_table_version; a negative
// Ordering; or steps not strictly ordered by (Version, Ordering). An empty array is an empty
// migration. Fails with ErrorKind::permanent:
// `parse migration: operation 2: field "Action": unknown action "frobnicate"`.
[[nodiscard]] Result<std::vector<Operation>> parse_migration(std::string_view body);

// The response body Blueprint would send for `operations`, field for field in its order.
std::string encode_migration(std::span<const Operation> operations);

} // namespace rsi::core
