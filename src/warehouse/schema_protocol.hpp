#pragma once

// The one way every warehouse changes a table's schema and version; the backends supply the
// statements. Not part of the warehouse interface: include only from the backends.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "core/operation.hpp"
#include "warehouse/ddl.hpp"
#include "warehouse/migration_plan.hpp"
#include "warehouse/warehouse.hpp"

namespace rsi::warehouse::detail {

// One transaction over a warehouse's tables, views and version bookkeeping. It rolls back when
// destroyed before commit().
class SchemaTransaction {
public:
  SchemaTransaction() = default;
  virtual ~SchemaTransaction() = default;
  SchemaTransaction(const SchemaTransaction&) = delete;
  SchemaTransaction& operator=(const SchemaTransaction&) = delete;

  // The table's version (the largest in infra.table_version), or nullopt when it has none.
  [[nodiscard]] virtual Result<std::optional<int>> table_version(std::string_view table) = 0;
  // The table's columns in order, or nullopt when there is no table.
  [[nodiscard]] virtual Result<std::optional<std::vector<std::string>>>
  table_columns(std::string_view table) = 0;
  // The table's key columns (Redshift's distribution and sort keys); none where the warehouse
  // has no such keys.
  [[nodiscard]] virtual Result<TableKeys> table_keys(std::string_view /*table*/) {
    return TableKeys{};
  }
  // Whether the table's plain view exists.
  [[nodiscard]] virtual Result<bool> view_exists(std::string_view table) = 0;
  // One DDL statement.
  [[nodiscard]] virtual Result<void> exec(const std::string& statement) = 0;
  // A row of infra.table_version: the table reached `version` now.
  [[nodiscard]] virtual Result<void> record_version(std::string_view table, int version) = 0;
  [[nodiscard]] virtual Result<void> commit() = 0;
};

struct SchemaTransactionOptions {
  // Statements running longer are cancelled (where the warehouse can say so); nullopt: the
  // warehouse's own setting.
  std::optional<std::chrono::milliseconds> statement_timeout;
  // Serialise with other version changes (where the warehouse needs a lock for that).
  bool lock_versions = false;
};

using BeginSchemaTransaction =
    std::function<Result<std::unique_ptr<SchemaTransaction>>(const SchemaTransactionOptions&)>;

// One migration step of `table` to `target_version`, in one transaction: the table must be at
// `target_version - 1` (conflict otherwise), then the step's DDL and views (plan_migration),
// the version row, one commit; logged at info once committed. Errors read
// "migration <table> v<N>: …".
[[nodiscard]] Result<void> run_migration(const SqlNames& names, std::string_view table,
                                         int target_version,
                                         std::span<const core::Operation> operations,
                                         std::chrono::milliseconds statement_timeout,
                                         const BeginSchemaTransaction& begin);

// The statements run_migration would run now, changing nothing.
[[nodiscard]] Result<std::vector<std::string>>
migration_statements(const SqlNames& names, std::string_view table, int target_version,
                     std::span<const core::Operation> operations,
                     const BeginSchemaTransaction& begin);

// Creates the plain view of every table of `versions` that has a table but no view; returns
// the views created.
[[nodiscard]] Result<std::vector<std::string>> repair_views(const SqlNames& names,
                                                            const TableVersions& versions,
                                                            const BeginSchemaTransaction& begin);

// Records the next version of `table` without DDL; only a table that does not exist may
// (conflict otherwise). Returns that version.
[[nodiscard]] Result<int> increment_version(const SqlNames& names, std::string_view table,
                                            const BeginSchemaTransaction& begin);

} // namespace rsi::warehouse::detail
