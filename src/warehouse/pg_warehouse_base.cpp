// Versions and migrations for the warehouses that speak the PostgreSQL protocol.
//
// infra.table_version(name, version, ts) holds one row per version a table reached; its
// largest version is the table's version. A migration checks that version, runs its DDL and
// inserts the new row in one transaction, so a failed migration leaves no trace.
#include "warehouse/pg_warehouse_base.hpp"

#include <fmt/format.h>

#include "common/log.hpp"
#include "core/file_pointer.hpp"
#include "core/text.hpp"
#include "warehouse/load_protocol.hpp"
#include "warehouse/migration_plan.hpp"
#include "warehouse/pg_sql.hpp"
#include "warehouse/redshift_sql.hpp"

namespace rsi::warehouse::detail {

PgWarehouseBase::PgWarehouseBase(std::string conninfo, PgFlavor flavor, Layout layout,
                                 pg::Connection quoter)
    : m_conninfo(std::move(conninfo)), m_flavor(flavor), m_quoter(std::move(quoter)),
      m_names(
          flavor.dialect, [this](std::string_view name) { return m_quoter.quote_identifier(name); },
          std::move(layout)) {}

Result<pg::Connection*> PgWarehouseBase::connection() {
  if (m_conn && m_conn->healthy()) {
    return &*m_conn;
  }
  m_conn.reset();
  RSI_TRY_ASSIGN(auto conn, pg::Connection::connect(m_conninfo));
  m_conn.emplace(std::move(conn));
  return &*m_conn;
}

Result<TableVersions> PgWarehouseBase::table_versions() {
  return with_connection([](pg::Connection& conn) -> Result<TableVersions> {
    RSI_TRY_ASSIGN(const auto rows, conn.exec(pg_sql::k_select_versions));
    TableVersions versions;
    for (int row = 0; row < rows.size(); ++row) {
      if (!rows.is_null(row, 0) && !rows.is_null(row, 1)) {
        versions[rows.text(row, 0)] = static_cast<int>(rows.integer(row, 1));
      }
    }
    return versions;
  });
}

Result<bool> PgWarehouseBase::table_exists(std::string_view table) {
  RSI_TRY(check_table_name(table, dialect()));
  return with_connection([&](pg::Connection& conn) -> Result<bool> {
    RSI_TRY_ASSIGN(
        const auto rows,
        conn.exec(pg_sql::k_table_exists, {m_names.layout().physical_schema, std::string(table)}));
    return rows.boolean(0, 0);
  });
}

Result<void> PgWarehouseBase::ping() {
  return with_connection([](pg::Connection& conn) -> Result<void> {
    RSI_TRY(conn.exec("SELECT 1"));
    return {};
  });
}

Result<std::optional<int>> PgWarehouseBase::read_version(pg::Connection& conn,
                                                         std::string_view table) {
  RSI_TRY_ASSIGN(const auto rows, conn.exec(pg_sql::k_select_version, {std::string(table)}));
  if (rows.empty() || rows.is_null(0, 0)) {
    return std::optional<int>();
  }
  return std::optional<int>(static_cast<int>(rows.integer(0, 0)));
}

Result<std::optional<std::vector<std::string>>>
PgWarehouseBase::read_columns(pg::Connection& conn, std::string_view table) const {
  const std::vector<pg::Param> params{m_names.layout().physical_schema, std::string(table)};
  RSI_TRY_ASSIGN(const auto exists, conn.exec(pg_sql::k_table_exists, params));
  if (!exists.boolean(0, 0)) {
    return std::optional<std::vector<std::string>>();
  }
  RSI_TRY_ASSIGN(const auto rows, conn.exec(pg_sql::k_table_columns, params));
  std::vector<std::string> columns;
  columns.reserve(static_cast<std::size_t>(rows.size()));
  for (int row = 0; row < rows.size(); ++row) {
    columns.push_back(rows.text(row, 0));
  }
  return std::optional<std::vector<std::string>>(std::move(columns));
}

Result<void> PgWarehouseBase::apply_migration(std::string_view table, int target_version,
                                              std::span<const core::Operation> operations,
                                              std::chrono::milliseconds statement_timeout) {
  RSI_TRY(check_table_name(table, dialect()));
  if (target_version < 0 || target_version > core::k_max_table_version) {
    return fail(ErrorKind::permanent,
                fmt::format("migration {} v{}: version out of range", table, target_version));
  }
  const std::string context = fmt::format("migration {} v{}", table, target_version);
  return with_connection([&](pg::Connection& conn) -> Result<void> {
    RSI_TRY_ASSIGN(auto tx, pg::Transaction::begin(conn));
    RSI_TRY(tx.exec(fmt::format("SET LOCAL statement_timeout TO {}",
                                std::max<std::int64_t>(0, statement_timeout.count()))));
    if (!m_flavor.lock_versions.empty()) {
      RSI_TRY(tx.exec(m_flavor.lock_versions));
    }
    RSI_TRY_ASSIGN(const auto current, read_version(conn, table));
    RSI_TRY(expect_version("migration of", table, current, target_version - 1));
    RSI_TRY_ASSIGN(const auto columns, read_columns(conn, table));
    RSI_TRY_ASSIGN(const MigrationPlan plan,
                   plan_migration(m_names, table, target_version, operations, columns));
    for (const auto& statement : plan.statements) {
      if (auto done = tx.exec(statement); !done) {
        return fail(done.error().wrap(context));
      }
    }
    RSI_TRY(tx.exec(m_flavor.insert_version, {std::string(table), std::to_string(target_version)}));
    if (auto committed = tx.commit(); !committed) {
      return fail(committed.error().wrap(context));
    }
    log::info("applied migration", {{"table", table},
                                    {"version", target_version},
                                    {"created", plan.creates_table},
                                    {"statements", plan.statements.size()}});
    return {};
  });
}

Result<std::vector<std::string>>
PgWarehouseBase::migration_statements(std::string_view table, int target_version,
                                      std::span<const core::Operation> operations) {
  RSI_TRY(check_table_name(table, dialect()));
  return with_connection([&](pg::Connection& conn) -> Result<std::vector<std::string>> {
    RSI_TRY_ASSIGN(const auto current, read_version(conn, table));
    RSI_TRY(expect_version("migration of", table, current, target_version - 1));
    RSI_TRY_ASSIGN(const auto columns, read_columns(conn, table));
    RSI_TRY_ASSIGN(MigrationPlan plan,
                   plan_migration(m_names, table, target_version, operations, columns));
    return std::move(plan.statements);
  });
}

Result<std::vector<std::string>> PgWarehouseBase::repair_views() {
  const Layout& layout = m_names.layout();
  if (layout.view_schema.empty()) {
    return std::vector<std::string>{};
  }
  RSI_TRY_ASSIGN(const TableVersions versions, table_versions());
  return with_connection([&](pg::Connection& conn) -> Result<std::vector<std::string>> {
    std::vector<std::string> created;
    for (const auto& [table, version] : versions) {
      if (!check_table_name(table, dialect())) {
        continue; // Not a table this project could have made.
      }
      RSI_TRY_ASSIGN(const auto view_there,
                     conn.exec(pg_sql::k_view_exists, {layout.view_schema, table}));
      if (view_there.boolean(0, 0)) {
        continue;
      }
      RSI_TRY_ASSIGN(const auto columns, read_columns(conn, table));
      if (!columns) {
        continue; // A retired event: a version, no table.
      }
      auto views = plan_views(m_names, table, *columns);
      if (!views) {
        return fail(std::move(views.error()));
      }
      if (auto done = conn.exec(views->plain.value_or("")); !done) {
        return fail(done.error().wrap(fmt::format("create the missing view of {}", table)));
      }
      RSI_TRY_ASSIGN(std::string view, m_names.view(table));
      created.push_back(std::move(view));
    }
    return created;
  });
}

Result<int> PgWarehouseBase::increment_version(std::string_view table) {
  RSI_TRY(check_table_name(table, dialect()));
  return with_connection([&](pg::Connection& conn) -> Result<int> {
    RSI_TRY_ASSIGN(auto tx, pg::Transaction::begin(conn));
    if (!m_flavor.lock_versions.empty()) {
      RSI_TRY(tx.exec(m_flavor.lock_versions));
    }
    RSI_TRY_ASSIGN(
        const auto exists,
        conn.exec(pg_sql::k_table_exists, {m_names.layout().physical_schema, std::string(table)}));
    if (exists.boolean(0, 0)) {
      return fail(
          ErrorKind::conflict,
          fmt::format("increment version of {}: the table exists; only a table without one can "
                      "change version without DDL",
                      table));
    }
    RSI_TRY_ASSIGN(const auto current, read_version(conn, table));
    const int next = current ? *current + 1 : 0;
    if (next > core::k_max_table_version) {
      return fail(ErrorKind::permanent,
                  fmt::format("increment version of {}: version {} out of range", table, next));
    }
    RSI_TRY(tx.exec(m_flavor.insert_version, {std::string(table), std::to_string(next)}));
    RSI_TRY(tx.commit());
    return next;
  });
}

} // namespace rsi::warehouse::detail
