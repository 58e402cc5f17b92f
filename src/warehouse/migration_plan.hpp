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

// The key columns of an existing table, as Redshift's catalog (PG_TABLE_DEF) lists them: its
// distribution key and its sort key columns. Empty for the other warehouses.
struct TableKeys {
  std::vector<std::string> distkey;
  std::vector<std::string> sortkey;
};

// Plans the DDL of `operations` (Blueprint's steps to `target_version`) for `table`, whose
// columns are `current_columns` (nullopt: the table does not exist).
//
// A table that does not exist is created from the `add` steps, with its views; a `drop_event`
// among the steps means the event is gone and nothing is created (`request_drop_event` and
// `cancel_drop_event` are ignored; `delete` and `rename` fail). An existing table gets one ALTER
// per `add`, `delete` (DROP COLUMN ... CASCADE) and `rename`; its views are dropped before and
// created again after, for every version step (as the original did), a step with a
// `drop_event` building them as for a table without columns. PostgreSQL gets a BRIN index for a
// sortkey column (the nearest thing to Redshift's zone maps). The views are plan_views'.
//
// Checks everything before any SQL runs and fails permanent, naming table, version and
// column: names (check_identifier for the dialect), column types and options (column_spec),
// an added column that exists, a deleted or renamed column that does not, a table without
// columns. Redshift's key-column rules too (SQL reference, CREATE TABLE and ALTER TABLE), each
// failure naming the column and the rule: only one column of a table can be the distribution
// key; ADD COLUMN cannot add a distribution or sort key column; DROP COLUMN cannot drop one
// (`keys`: the existing table's, read from the catalog).
[[nodiscard]] Result<MigrationPlan>
plan_migration(const SqlNames& names, std::string_view table, int target_version,
               std::span<const core::Operation> operations,
               const std::optional<std::vector<std::string>>& current_columns,
               const TableKeys& keys = {});

// The CREATE VIEW statements of `table` with `columns`, by the original's rule (names.layout()
// holds the original's configuration):
//   - a view schema set: always the plain view `CREATE VIEW <view> AS SELECT * FROM <table>
//     <view_filter>;`, the filter only when the table has the view column;
//   - a full view schema set and the table has the view column: the full view selecting every
//     column in order, a column with a replacement as the replacement text verbatim (it
//     carries its own alias, e.g. `NULL::varchar(64) AS city`), every other column quoted.
// The view column and replacement keys match column names as the dialect compares them.
struct ViewStatements {
  std::optional<std::string> plain;
  std::optional<std::string> full;
};
[[nodiscard]] Result<ViewStatements> plan_views(const SqlNames& names, std::string_view table,
                                                const std::vector<std::string>& columns);

} // namespace rsi::warehouse
