// Versions and schema changes for the warehouses that speak the PostgreSQL protocol: the
// statements of schema_protocol.hpp's steps over one lazily (re)opened connection.
#include "warehouse/pg_warehouse_base.hpp"

#include <fmt/format.h>

#include "common/log.hpp"
#include "core/file_pointer.hpp"
#include "core/text.hpp"
#include "warehouse/load_protocol.hpp"
#include "warehouse/migration_plan.hpp"
#include "warehouse/pg_sql.hpp"
#include "warehouse/redshift_sql.hpp"
#include "warehouse/schema_protocol.hpp"

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
    RSI_TRY_ASSIGN(const auto rows, conn.exec(pg_sql::k_table_exists, catalog_params(table)));
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

Result<void> PgWarehouseBase::insert_rejected_rows(pg::Transaction& tx, const LoadRequest& request,
                                                   std::span<const RejectedRow> rows,
                                                   std::string_view now) {
  constexpr std::size_t k_rows_per_statement = 500;
  const auto text = [](const std::string& value) {
    return value.empty() ? pg::Param() : pg::Param(value);
  };
  for (std::size_t first = 0; first < rows.size(); first += k_rows_per_statement) {
    const auto chunk = rows.subspan(first, std::min(k_rows_per_statement, rows.size() - first));
    std::vector<pg::Param> params{request.manifest, request.table};
    params.reserve(2 + chunk.size() * pg_sql::k_rejected_row_params);
    for (const RejectedRow& row : chunk) {
      params.insert(params.end(),
                    {row.file_url, row.line > 0 ? pg::Param(std::to_string(row.line)) : pg::Param(),
                     text(row.column), text(row.raw_text), row.reason});
    }
    RSI_TRY(tx.exec(pg_sql::rejected_row_insert(chunk.size(), now), params));
  }
  return {};
}

std::vector<pg::Param> PgWarehouseBase::catalog_params(std::string_view table) const {
  return {m_names.catalog(m_names.layout().physical_schema), m_names.catalog(table)};
}

Result<void> PgWarehouseBase::check_folded_name(pg::Connection& conn,
                                                std::string_view table) const {
  if (dialect() != Dialect::redshift) {
    return {};
  }
  RSI_TRY_ASSIGN(const auto rows, conn.exec(redshift::k_versions_folded_alike,
                                            {m_names.catalog(table), std::string(table)}));
  if (rows.empty()) {
    return {};
  }
  return fail(ErrorKind::permanent,
              fmt::format("table {}: infra.table_version has versions of {}, and Redshift folds "
                          "identifiers to lowercase: both would be the table {}.{}; rename one of "
                          "the events",
                          core::quote_for_message(table), core::quote_for_message(rows.text(0, 0)),
                          m_names.catalog(m_names.layout().physical_schema),
                          m_names.catalog(table)));
}

Result<std::optional<std::vector<std::string>>>
PgWarehouseBase::read_columns(pg::Connection& conn, std::string_view table) const {
  const std::vector<pg::Param> params = catalog_params(table);
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

// Schema changes on this connection, in one transaction.
class PgWarehouseBase::SchemaTx final : public SchemaTransaction {
public:
  SchemaTx(const PgWarehouseBase& base, pg::Connection& conn, pg::Transaction tx)
      : m_base(base), m_conn(conn), m_tx(std::move(tx)) {}

  Result<std::optional<int>> table_version(std::string_view table) override {
    // Every schema change reads the version first: the place to refuse a name that is another
    // table's once folded.
    RSI_TRY(m_base.check_folded_name(m_conn, table));
    return read_version(m_conn, table);
  }
  Result<std::optional<std::vector<std::string>>> table_columns(std::string_view table) override {
    return m_base.read_columns(m_conn, table);
  }
  Result<TableKeys> table_keys(std::string_view table) override {
    TableKeys keys;
    const SqlNames& names = m_base.m_names;
    if (names.dialect() != Dialect::redshift) {
      return keys;
    }
    // PG_TABLE_DEF lists only the tables of schemas on the search path; for this transaction.
    RSI_TRY_ASSIGN(const std::string schema, names.quote(names.layout().physical_schema));
    RSI_TRY(m_tx.exec(fmt::format("SET LOCAL search_path TO {}, public", schema)));
    RSI_TRY_ASSIGN(const auto rows,
                   m_tx.exec(redshift::k_table_keys, m_base.catalog_params(table)));
    for (int row = 0; row < rows.size(); ++row) {
      if (rows.boolean(row, 1)) {
        keys.distkey.push_back(rows.text(row, 0));
      }
      if (rows.integer(row, 2) != 0) {
        keys.sortkey.push_back(rows.text(row, 0));
      }
    }
    return keys;
  }
  Result<bool> view_exists(std::string_view table) override {
    RSI_TRY_ASSIGN(const auto rows,
                   m_conn.exec(pg_sql::k_view_exists,
                               {m_base.m_names.catalog(m_base.m_names.layout().view_schema),
                                m_base.m_names.catalog(table)}));
    return rows.boolean(0, 0);
  }
  Result<void> exec(const std::string& statement) override {
    RSI_TRY(m_tx.exec(statement));
    return {};
  }
  Result<void> record_version(std::string_view table, int version) override {
    RSI_TRY(
        m_tx.exec(m_base.m_flavor.insert_version, {std::string(table), std::to_string(version)}));
    return {};
  }
  Result<void> commit() override { return m_tx.commit(); }

private:
  const PgWarehouseBase& m_base;
  pg::Connection& m_conn;
  pg::Transaction m_tx;
};

BeginSchemaTransaction PgWarehouseBase::begin_schema(pg::Connection& conn) {
  return [this, &conn](const SchemaTransactionOptions& options)
             -> Result<std::unique_ptr<SchemaTransaction>> {
    RSI_TRY_ASSIGN(auto tx, pg::Transaction::begin(conn));
    if (options.statement_timeout) {
      RSI_TRY(tx.exec(fmt::format("SET LOCAL statement_timeout TO {}",
                                  std::max<std::int64_t>(0, options.statement_timeout->count()))));
    }
    if (options.lock_versions && !m_flavor.lock_versions.empty()) {
      RSI_TRY(tx.exec(m_flavor.lock_versions));
    }
    return std::make_unique<SchemaTx>(*this, conn, std::move(tx));
  };
}

Result<void> PgWarehouseBase::apply_migration(std::string_view table, int target_version,
                                              std::span<const core::Operation> operations,
                                              std::chrono::milliseconds statement_timeout) {
  return with_connection([&](pg::Connection& conn) {
    return run_migration(m_names, table, target_version, operations, statement_timeout,
                         begin_schema(conn));
  });
}

Result<std::vector<std::string>>
PgWarehouseBase::migration_statements(std::string_view table, int target_version,
                                      std::span<const core::Operation> operations) {
  return with_connection([&](pg::Connection& conn) {
    return detail::migration_statements(m_names, table, target_version, operations,
                                        begin_schema(conn));
  });
}

Result<std::vector<std::string>> PgWarehouseBase::repair_views() {
  RSI_TRY_ASSIGN(const TableVersions versions, table_versions());
  return with_connection([&](pg::Connection& conn) {
    return detail::repair_views(m_names, versions, begin_schema(conn));
  });
}

Result<int> PgWarehouseBase::increment_version(std::string_view table) {
  return with_connection([&](pg::Connection& conn) {
    return detail::increment_version(m_names, table, begin_schema(conn));
  });
}

} // namespace rsi::warehouse::detail
