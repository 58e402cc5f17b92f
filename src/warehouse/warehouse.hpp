#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "core/file_pointer.hpp"
#include "core/load_status.hpp"
#include "core/operation.hpp"

namespace rsi::warehouse {

// Table → its current schema version: the largest version per name in infra.table_version.
// (The same type as ingestdb::VersionMap, so the migrator can hand it over as is.)
using TableVersions = std::map<std::string, int, std::less<>>;

// Where tables and views live: the original's `redshift` configuration object
// (physicalSchema, viewSchema, viewColumn, viewFilter, fullViewSchema, fullViewReplacements).
// docs/warehouse.md describes each field and how SQLite maps the schemas.
struct Layout {
  std::string physical_schema = "logs";
  // A view `SELECT * FROM <physical>.<table> <view_filter>` per table; empty: no views.
  std::string view_schema;
  // Only tables with this column get the view; empty: every table does.
  std::string view_column;
  // SQL appended to the view's SELECT, as the operator wrote it ("WHERE time > ...").
  std::string view_filter;
  // A full view per table that has a replaced column; empty: no full views.
  std::string full_view_schema;
  // Column → SQL expression that stands for it in the full view.
  std::map<std::string, std::string, std::less<>> full_view_replacements;
};

// One batch of files of one (table, version), named by its manifest uuid.
struct LoadRequest {
  std::string manifest; // The uuid: the ledger's key and the manifest object's name.
  std::string table;
  int version = 0; // The version the files were written for; must be the table's version.
  std::vector<core::ObjectLocation> files; // Loaded in this order.
};

// What a committed load did.
struct LoadResult {
  std::uint64_t rows = 0;
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;               // Uncompressed bytes read; 0 where the warehouse reads
                                         // the files itself (Redshift).
  std::uint64_t truncated_values = 0;    // TRUNCATECOLUMNS cut a value (not known for Redshift).
  std::uint64_t replaced_characters = 0; // ACCEPTINVCHARS replaced a character (idem).
};

// The warehouse the batches go into (Redshift, PostgreSQL or SQLite): its tables and views,
// the version bookkeeping (infra.table_version) and the load ledger (infra.load_manifest).
// One instance per worker, with its own connection; not thread-safe. A connection that broke
// is dropped and opened again on the next call.
//
// Errors: `transient` when the warehouse is unreachable, shutting down, or a transaction lost a
// serialization race (retry later); `permanent` for bad input, bad data (naming the file, line
// and column), a missing file and SQL errors; `conflict` where noted.
class Warehouse {
public:
  virtual ~Warehouse() = default;

  // Every table's current version. A table without a version row is absent from the map.
  [[nodiscard]] virtual Result<TableVersions> table_versions() = 0;

  // Whether `table` exists in the physical schema (views do not count).
  [[nodiscard]] virtual Result<bool> table_exists(std::string_view table) = 0;

  // Whether another session holds or waits for a lock on `table` (an ALTER would have to
  // wait). Always false for SQLite.
  [[nodiscard]] virtual Result<bool> table_locked(std::string_view table) = 0;

  // Bring `table` to `target_version` by `operations` (Blueprint's steps for that version), in
  // one transaction that also records the version. The warehouse must still hold
  // `target_version - 1` (no version at all for target 0), else ErrorKind::conflict. A table
  // that does not exist is created from the `add` steps; one whose steps include `drop_event`
  // is not created, but its version is recorded. Views are dropped before and created again
  // after ALTERs. `statement_timeout` bounds each statement (ignored by SQLite). Operations
  // that fail validation (names, column types and options; see ddl.hpp) fail permanent with
  // the table, version and column in the message, before anything is sent.
  [[nodiscard]] virtual Result<void>
  apply_migration(std::string_view table, int target_version,
                  std::span<const core::Operation> operations,
                  std::chrono::milliseconds statement_timeout) = 0;

  // The DDL statements apply_migration(`table`, `target_version`, `operations`) would run now,
  // given the table's current columns, without running or changing anything (for a dry run;
  // the version check, statement timeout and version row around them are not listed). Fails
  // as apply_migration would before sending DDL: conflict when the warehouse does not hold
  // `target_version - 1`, permanent for operations that fail validation.
  [[nodiscard]] virtual Result<std::vector<std::string>>
  migration_statements(std::string_view table, int target_version,
                       std::span<const core::Operation> operations) = 0;

  // Create the plain view (see plan_views) of every versioned table that exists but has none:
  // an earlier release made views only for tables with the view column. Returns the names of
  // the views created; none when no view schema is configured. Idempotent.
  [[nodiscard]] virtual Result<std::vector<std::string>> repair_views() = 0;

  // Record the next version of `table` (0 when it has none) without DDL, and return it: how
  // Blueprint retires an event that never had a warehouse table. Fails with
  // ErrorKind::conflict when the table exists.
  [[nodiscard]] virtual Result<int> increment_version(std::string_view table) = 0;

  // Load every file of `request` into its table in one transaction, together with the ledger
  // row of its manifest uuid, so the batch is loaded completely or not at all, and at most
  // once: a uuid already in the ledger fails with ErrorKind::conflict, as does a table whose
  // version is not `request.version`. A bad file fails the whole batch permanent, naming the
  // file (and for bad data its line and column).
  [[nodiscard]] virtual Result<LoadResult> load_batch(const LoadRequest& request) = 0;

  // Did the load of manifest `uuid` commit? `complete` when the ledger has it; `in_progress`
  // while a load of it still runs (where the warehouse can tell); otherwise `not_found` (or,
  // from Redshift's system tables for loads started by the original, `failed`).
  [[nodiscard]] virtual Result<core::LoadStatus> check_load(std::string_view uuid) = 0;

  // A round trip to the warehouse.
  [[nodiscard]] virtual Result<void> ping() = 0;
};

} // namespace rsi::warehouse
