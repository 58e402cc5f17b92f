#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <optional>
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
  // Rows COPY may reject before the load fails (Redshift's MAXERROR; 0: none, the original's
  // behaviour). Rejected rows are kept in the warehouse with file, line, text and reason.
  std::uint32_t max_bad_rows = 0;
};

// Why a file cannot be loaded as the table's format. Retrying cannot help; a new object can.
enum class FileFaultKind {
  missing_object,  // The store has no such object.
  refused_object,  // The store cannot serve the key (not a valid key, a bucket it does not serve).
  corrupt_gzip,    // Not gzip, corrupt deflate data, a CRC-32 or length mismatch.
  truncated_gzip,  // The gzip data ends early.
  record_too_long, // A line longer than the 4 MB COPY allows.
  bad_record,      // A line COPY cannot split: unterminated quote, NUL byte, extra columns.
  bad_value,       // A value its column's type cannot take ("abc" for an int).
  invalid_characters, // Bytes a CHAR column cannot take (ACCEPTINVCHARS covers VARCHAR only).
  too_many_bad_rows,  // More rejected rows than LoadRequest::max_bad_rows.
  rejected,           // The warehouse refused the file's data (its own message says why).
};

std::string_view to_string(FileFaultKind kind);

// The file at fault in a load that failed for its data.
struct FileFault {
  std::size_t file = 0; // Index into LoadRequest::files.
  FileFaultKind kind = FileFaultKind::rejected;
  std::uint64_t line = 0;   // 1-based line in the file; 0: not known or not about a line.
  std::uint32_t column = 0; // 1-based column; 0: not known or not about a value.
};

// Why a load failed. `data`: the batch's data cannot load as it is (nothing was loaded; retrying
// the same files fails again), with the file at fault in `fault` where the warehouse can tell
// (nullopt: somewhere in the batch). Otherwise the kind says what to do, as for any Error.
struct LoadError : Error {
  bool data = false;
  std::optional<FileFault> fault;

  LoadError() = default;
  LoadError(Error error) : Error(std::move(error)) {} // NOLINT(google-explicit-constructor)
  LoadError(Error error, std::optional<FileFault> at)
      : Error(std::move(error)), data(true), fault(at) {}
};

// A value, or why a load (or a step of one) failed.
template <class T> using LoadOutcome = std::expected<T, LoadError>;

// What a committed load did.
struct LoadResult {
  std::uint64_t rows = 0;
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;               // Uncompressed bytes read; 0 where the warehouse reads
                                         // the files itself (Redshift).
  std::uint64_t truncated_values = 0;    // TRUNCATECOLUMNS cut a value (not known for Redshift).
  std::uint64_t replaced_characters = 0; // ACCEPTINVCHARS replaced a character (idem).
  std::uint64_t rejected_rows = 0;       // Rows rejected under LoadRequest::max_bad_rows.
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
  // version is not `request.version`. Data that cannot load (a missing or corrupt file, a bad
  // value beyond `max_bad_rows`) fails the whole batch permanent with LoadError::data set and
  // the file at fault (with its line and column) where the warehouse can tell; the message
  // names the file too.
  [[nodiscard]] virtual LoadOutcome<LoadResult> load_batch(const LoadRequest& request) = 0;

  // Did the load of manifest `uuid` commit? `complete` when the ledger has it; `in_progress`
  // while a load of it still runs (where the warehouse can tell); otherwise `not_found` (or,
  // from Redshift's system tables for loads started by the original, `failed`).
  [[nodiscard]] virtual Result<core::LoadStatus> check_load(std::string_view uuid) = 0;

  // A round trip to the warehouse.
  [[nodiscard]] virtual Result<void> ping() = 0;
};

} // namespace rsi::warehouse
