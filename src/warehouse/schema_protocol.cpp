// Schema changes, the same for every warehouse: infra.table_version(name, version, ts) holds one
// row per version a table reached, its largest version is the table's version, and a step
// checks that version, runs its DDL and inserts the new row in one transaction, so a failed
// step leaves no trace.
#include "warehouse/schema_protocol.hpp"

#include <fmt/format.h>

#include "common/log.hpp"
#include "core/file_pointer.hpp"
#include "warehouse/load_protocol.hpp"
#include "warehouse/migration_plan.hpp"

namespace rsi::warehouse::detail {
namespace {

Result<void> check_step(const SqlNames& names, std::string_view table, int target_version) {
  RSI_TRY(check_table_name(table, names.dialect()));
  if (target_version < 0 || target_version > core::k_max_table_version) {
    return fail(ErrorKind::permanent,
                fmt::format("migration {} v{}: version out of range", table, target_version));
  }
  return {};
}

// The step's plan as the table stands in `tx`: conflict unless it is at target_version - 1.
Result<MigrationPlan> plan_step(SchemaTransaction& tx, const SqlNames& names,
                                std::string_view table, int target_version,
                                std::span<const core::Operation> operations) {
  RSI_TRY_ASSIGN(const auto current, tx.table_version(table));
  RSI_TRY(expect_version("migration of", table, current, target_version - 1));
  RSI_TRY_ASSIGN(const auto columns, tx.table_columns(table));
  TableKeys keys;
  if (columns) {
    RSI_TRY_ASSIGN(keys, tx.table_keys(table));
  }
  return plan_migration(names, table, target_version, operations, columns, keys);
}

} // namespace

Result<void> run_migration(const SqlNames& names, std::string_view table, int target_version,
                           std::span<const core::Operation> operations,
                           std::chrono::milliseconds statement_timeout,
                           const BeginSchemaTransaction& begin) {
  RSI_TRY(check_step(names, table, target_version));
  const std::string context = fmt::format("migration {} v{}", table, target_version);
  RSI_TRY_ASSIGN(auto tx, begin({.statement_timeout = statement_timeout, .lock_versions = true}));
  RSI_TRY_ASSIGN(const MigrationPlan plan,
                 plan_step(*tx, names, table, target_version, operations));
  for (const auto& statement : plan.statements) {
    if (auto done = tx->exec(statement); !done) {
      return fail(done.error().wrap(context));
    }
  }
  RSI_TRY(tx->record_version(table, target_version));
  if (auto committed = tx->commit(); !committed) {
    return fail(committed.error().wrap(context));
  }
  log::info("applied migration", {{"table", table},
                                  {"version", target_version},
                                  {"created", plan.creates_table},
                                  {"statements", plan.statements.size()}});
  return {};
}

Result<std::vector<std::string>> migration_statements(const SqlNames& names, std::string_view table,
                                                      int target_version,
                                                      std::span<const core::Operation> operations,
                                                      const BeginSchemaTransaction& begin) {
  RSI_TRY(check_step(names, table, target_version));
  RSI_TRY_ASSIGN(auto tx, begin({}));
  RSI_TRY_ASSIGN(MigrationPlan plan, plan_step(*tx, names, table, target_version, operations));
  return std::move(plan.statements); // The transaction rolls back: nothing changed.
}

Result<std::vector<std::string>> repair_views(const SqlNames& names, const TableVersions& versions,
                                              const BeginSchemaTransaction& begin) {
  std::vector<std::string> created;
  if (names.layout().view_schema.empty() || versions.empty()) {
    return created;
  }
  RSI_TRY_ASSIGN(auto tx, begin({}));
  for (const auto& [table, version] : versions) {
    if (!check_table_name(table, names.dialect())) {
      continue; // Not a table this project could have made.
    }
    RSI_TRY_ASSIGN(const bool view_there, tx->view_exists(table));
    if (view_there) {
      continue;
    }
    RSI_TRY_ASSIGN(const auto columns, tx->table_columns(table));
    if (!columns) {
      continue; // A retired event: a version, no table.
    }
    RSI_TRY_ASSIGN(const ViewStatements views, plan_views(names, table, *columns));
    if (auto done = tx->exec(views.plain.value_or("")); !done) {
      return fail(done.error().wrap(fmt::format("create the missing view of {}", table)));
    }
    RSI_TRY_ASSIGN(std::string view, names.view(table));
    created.push_back(std::move(view));
  }
  RSI_TRY(tx->commit());
  return created;
}

Result<int> increment_version(const SqlNames& names, std::string_view table,
                              const BeginSchemaTransaction& begin) {
  RSI_TRY(check_table_name(table, names.dialect()));
  RSI_TRY_ASSIGN(auto tx, begin({.lock_versions = true}));
  RSI_TRY_ASSIGN(const auto current, tx->table_version(table));
  RSI_TRY_ASSIGN(const auto columns, tx->table_columns(table));
  if (columns) {
    return fail(ErrorKind::conflict,
                fmt::format("increment version of {}: the table exists; only a table without one "
                            "can change version without DDL",
                            table));
  }
  const int next = current ? *current + 1 : 0;
  if (next > core::k_max_table_version) {
    return fail(ErrorKind::permanent,
                fmt::format("increment version of {}: version {} out of range", table, next));
  }
  RSI_TRY(tx->record_version(table, next));
  RSI_TRY(tx->commit());
  return next;
}

} // namespace rsi::warehouse::detail
