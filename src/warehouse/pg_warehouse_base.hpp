#pragma once

// Shared by the Redshift and PostgreSQL backends (both speak the PostgreSQL protocol); not
// part of the warehouse interface. Include only from those backends.

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "pg/connection.hpp"
#include "pg/transaction.hpp"
#include "warehouse/batch_files.hpp"
#include "warehouse/ddl.hpp"
#include "warehouse/schema_protocol.hpp"
#include "warehouse/warehouse.hpp"

namespace rsi::warehouse::detail {

// The statements in which Redshift and PostgreSQL differ.
struct PgFlavor {
  Dialect dialect = Dialect::postgres;
  std::string_view insert_version; // $1 name, $2 version.
  // Serialises version changes; "" for none (Redshift: a LOCK would block readers of
  // infra.table_version for the whole migration; its serializable isolation aborts the
  // second of two racing migrations instead).
  std::string_view lock_versions;
};

// Versions, table checks and migrations over one lazily (re)opened connection.
class PgWarehouseBase : public Warehouse {
public:
  // Warehouse
  [[nodiscard]] Result<TableVersions> table_versions() override;
  [[nodiscard]] Result<bool> table_exists(std::string_view table) override;
  [[nodiscard]] Result<void> apply_migration(std::string_view table, int target_version,
                                             std::span<const core::Operation> operations,
                                             std::chrono::milliseconds statement_timeout) override;
  [[nodiscard]] Result<std::vector<std::string>>
  migration_statements(std::string_view table, int target_version,
                       std::span<const core::Operation> operations) override;
  [[nodiscard]] Result<std::vector<std::string>> repair_views() override;
  [[nodiscard]] Result<int> increment_version(std::string_view table) override;
  [[nodiscard]] Result<void> ping() override;

protected:
  // `quoter` is a detached connection: identifiers are quoted by libpq without a server.
  PgWarehouseBase(std::string conninfo, PgFlavor flavor, Layout layout, pg::Connection quoter);

  // Runs `work(pg::Connection&)` on the connection, opening it first when needed; a transient
  // failure or a broken connection drops it, so the next call connects again.
  template <class Work>
  auto with_connection(Work&& work) -> std::invoke_result_t<Work, pg::Connection&> {
    RSI_TRY_ASSIGN(pg::Connection * conn, connection());
    auto result = std::forward<Work>(work)(*conn);
    if (!result && (result.error().kind == ErrorKind::transient || !conn->healthy())) {
      m_conn.reset();
    }
    return result;
  }

  // The open connection, connecting first when there is none or it broke.
  [[nodiscard]] Result<pg::Connection*> connection();

  [[nodiscard]] const SqlNames& names() const { return m_names; }
  [[nodiscard]] Dialect dialect() const { return m_flavor.dialect; }

  // The table's version, or nullopt when infra.table_version has none.
  [[nodiscard]] static Result<std::optional<int>> read_version(pg::Connection& conn,
                                                               std::string_view table);
  // Keeps `rows`, which the load of `request` rejected, in infra.rejected_row within `tx`: a few
  // statements of many rows each, so that a large max_bad_rows costs few round trips. Empty
  // texts and line 0 are stored as NULL (not known). `now` is the dialect's clock.
  [[nodiscard]] static Result<void> insert_rejected_rows(pg::Transaction& tx,
                                                         const LoadRequest& request,
                                                         std::span<const RejectedRow> rows,
                                                         std::string_view now);

  // ($1 schema, $2 table) of the catalog lookups of `table` in the physical schema, both as the
  // catalog holds them (SqlNames::catalog).
  [[nodiscard]] std::vector<pg::Param> catalog_params(std::string_view table) const;

  // Redshift: permanent when infra.table_version has versions of another name that folds to the
  // same table as `table` ("MyEvent" and "myevent"), which would change one table under two
  // histories. Nothing for PostgreSQL, which keeps quoted case.
  [[nodiscard]] Result<void> check_folded_name(pg::Connection& conn, std::string_view table) const;

  // The table's columns in order, or nullopt when it does not exist.
  [[nodiscard]] Result<std::optional<std::vector<std::string>>>
  read_columns(pg::Connection& conn, std::string_view table) const;

private:
  class SchemaTx;
  // Schema transactions on `conn` (statement timeout by SET LOCAL, the flavor's version lock).
  [[nodiscard]] BeginSchemaTransaction begin_schema(pg::Connection& conn);

  std::string m_conninfo;
  PgFlavor m_flavor;
  pg::Connection m_quoter;
  SqlNames m_names;
  std::optional<pg::Connection> m_conn;
};

} // namespace rsi::warehouse::detail
