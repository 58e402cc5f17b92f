#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "core/operation.hpp"
#include "warehouse/ddl.hpp"

namespace rsi::warehouse {

// The DDL that takes a table to a new version, in the order it runs (inside the migration's
// transaction, between the version check and the version row).
struct MigrationPlan {
  bool creates_table = false;
  std::vector<std::string> statements;
  std::vector<std::string> columns; // The table's columns afterwards, in order.
};

// Plans the DDL of `operations` (Blueprint's steps to `target_version`) for `table`, whose
// columns are `current_columns` (nullopt: the table does not exist).
//
// A table that does not exist is created from the `add` steps, with its views; a `drop_event`
// among the steps means the event is gone and nothing is created (`request_drop_event` and
// `cancel_drop_event` are ignored; `delete` and `rename` fail). An existing table gets one ALTER
// per `add`, `delete` (DROP COLUMN ... CASCADE) and `rename`; its views are dropped before and
// created again after, when there is DDL at all. PostgreSQL gets a BRIN index for a sortkey
// column (the nearest thing to Redshift's zone maps).
//
// Views (from names.layout()): `CREATE VIEW <view> AS SELECT * FROM <table> <view_filter>;`
// when a view schema is set and the table has the view column (or none is configured); a full
// view selecting every column, replaced ones as `<expression> AS "column"`, when a full view
// schema is set and the table has a replaced column.
//
// Checks everything before any SQL runs and fails permanent, naming table, version and
// column: names (check_identifier for the dialect), column types and options (column_spec),
// an added column that exists, a deleted or renamed column that does not, a table without
// columns.
[[nodiscard]] Result<MigrationPlan>
plan_migration(const SqlNames& names, std::string_view table, int target_version,
               std::span<const core::Operation> operations,
               const std::optional<std::vector<std::string>>& current_columns);

} // namespace rsi::warehouse
