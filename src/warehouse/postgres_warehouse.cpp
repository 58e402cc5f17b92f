// PostgreSQL warehouse.
//
// Tables: the event tables in the physical schema (views beside them), infra.table_version
// (versions, as in Redshift), infra.load_manifest (the ledger: one row per committed
// batch, primary key uuid) and infra.rejected_row (the rows loads skipped under their
// max_bad_rows, committed with their load). A load follows detail::run_load; its steps here are
// in `Load`.
#include "warehouse/postgres_warehouse.hpp"

#include <fmt/format.h>

#include "common/log.hpp"
#include "common/uuid.hpp"
#include "pg/advisory_locks.hpp"
#include "warehouse/load_protocol.hpp"
#include "warehouse/pg_copy_binary.hpp"
#include "warehouse/pg_copy_text.hpp"
#include "warehouse/pg_sql.hpp"
#include "warehouse/pg_warehouse_base.hpp"
#include "warehouse/redshift_sql.hpp"

namespace rsi::warehouse {
namespace {

constexpr int k_bootstrap_lock = pg::advisory::k_warehouse_bootstrap;
constexpr int k_ledger_lock = pg::advisory::k_load;

constexpr std::string_view k_insert_version =
    "INSERT INTO infra.table_version (name, version, ts) VALUES ($1, $2, now())";
constexpr std::string_view k_lock_versions =
    "LOCK TABLE infra.table_version IN SHARE ROW EXCLUSIVE MODE";
constexpr std::string_view k_create_infra = R"sql(
  CREATE SCHEMA IF NOT EXISTS infra;
  CREATE TABLE IF NOT EXISTS infra.table_version (
    name character varying(256), version integer, ts timestamp without time zone DEFAULT now());
  CREATE TABLE IF NOT EXISTS infra.load_manifest (
    uuid char(36) PRIMARY KEY, table_name varchar(127) NOT NULL, table_version integer NOT NULL,
    file_count integer NOT NULL, row_count bigint NOT NULL, loaded_at timestamp NOT NULL))sql";
constexpr std::string_view k_index_versions =
    "CREATE INDEX IF NOT EXISTS table_version_name_idx ON infra.table_version (name, version)";
constexpr std::string_view k_ledger_lock_sql = "SELECT pg_advisory_xact_lock($1, hashtext($2))";
constexpr std::string_view k_ledger_try_lock_sql =
    "SELECT pg_try_advisory_xact_lock($1, hashtext($2))";
constexpr std::string_view k_ledger_insert = "INSERT INTO infra.load_manifest (uuid, table_name, "
                                             "table_version, file_count, row_count, loaded_at) "
                                             "VALUES ($1, $2, $3, $4, 0, now())";
constexpr std::string_view k_ledger_set_rows =
    "UPDATE infra.load_manifest SET row_count = $2 WHERE uuid = $1";
constexpr std::string_view k_table_columns_typed =
    "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) FROM "
    "pg_catalog.pg_attribute a "
    "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = "
    "c.relnamespace "
    "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'r' AND a.attnum > 0 AND NOT "
    "a.attisdropped "
    "ORDER BY a.attnum";
constexpr std::string_view k_table_locked =
    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_class c ON c.oid = "
    "l.relation "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE l.locktype = 'relation' "
    "AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) "
    "AND l.pid <> pg_backend_pid() AND n.nspname = $1 AND c.relname = $2)";

class PostgresWarehouse final : public detail::PgWarehouseBase {
public:
  PostgresWarehouse(const PostgresConfig& config, pg::Connection quoter)
      : PgWarehouseBase(config.conninfo,
                        {.dialect = Dialect::postgres,
                         .insert_version = k_insert_version,
                         .lock_versions = k_lock_versions},
                        config.layout, std::move(quoter)),
        m_files(config.files), m_read(config.read),
        m_copy_chunk_bytes(std::max<std::size_t>(config.copy_chunk_bytes, 4096)),
        m_binary(config.copy_format == CopyFormat::binary) {}

  Result<void> bootstrap() {
    RSI_TRY(names().check_layout());
    return with_connection([&](pg::Connection& conn) -> Result<void> {
      RSI_TRY_ASSIGN(auto tx, pg::Transaction::begin(conn));
      RSI_TRY(tx.exec("SELECT pg_advisory_xact_lock($1)", {std::to_string(k_bootstrap_lock)}));
      RSI_TRY(conn.exec_script(k_create_infra));
      RSI_TRY(conn.exec(pg_sql::k_create_rejected_row));
      const Layout& layout = names().layout();
      for (const std::string* schema :
           {&layout.physical_schema, &layout.view_schema, &layout.full_view_schema}) {
        if (!schema->empty()) {
          RSI_TRY_ASSIGN(const std::string quoted, names().quote(*schema));
          RSI_TRY(tx.exec(fmt::format("CREATE SCHEMA IF NOT EXISTS {}", quoted)));
        }
      }
      // A table's version (MAX(version) of its name, read by every load and migration step)
      // from an index, not a scan: creating N tables stays linear in N. A table_version made by
      // someone else (the original's) may not let this user index it: then lookups scan, as
      // before, and the rest of the bootstrap stands.
      RSI_TRY(tx.exec("SAVEPOINT index_versions"));
      if (auto indexed = tx.exec(k_index_versions); !indexed) {
        RSI_TRY(tx.exec("ROLLBACK TO SAVEPOINT index_versions"));
        log::warn("cannot index infra.table_version; version lookups read the whole table",
                  {{"error", indexed.error().message}});
      }
      return tx.commit();
    });
  }

  // Warehouse
  Result<bool> table_locked(std::string_view table) override {
    RSI_TRY(check_table_name(table, dialect()));
    return with_connection([&](pg::Connection& conn) -> Result<bool> {
      RSI_TRY_ASSIGN(const auto rows, conn.exec(k_table_locked, {names().layout().physical_schema,
                                                                 std::string(table)}));
      return rows.boolean(0, 0);
    });
  }

  Result<core::LoadStatus> check_load(std::string_view uuid) override {
    if (!is_uuid(uuid)) {
      return fail(ErrorKind::permanent, fmt::format("check load {}: not a uuid", uuid));
    }
    return with_connection([&](pg::Connection& conn) -> Result<core::LoadStatus> {
      RSI_TRY_ASSIGN(auto tx, pg::Transaction::begin(conn));
      // A load holds this lock from before its ledger row until it commits or rolls back.
      RSI_TRY_ASSIGN(const auto free, tx.exec(k_ledger_try_lock_sql,
                                              {std::to_string(k_ledger_lock), std::string(uuid)}));
      if (!free.boolean(0, 0)) {
        return core::LoadStatus::in_progress;
      }
      RSI_TRY_ASSIGN(const auto found, tx.exec(pg_sql::k_ledger_has, {std::string(uuid)}));
      RSI_TRY(tx.commit());
      return found.integer(0, 0) > 0 ? core::LoadStatus::complete : core::LoadStatus::not_found;
    });
  }

  LoadOutcome<LoadResult> load_batch(const LoadRequest& request) override {
    return with_connection([&](pg::Connection& conn) -> LoadOutcome<LoadResult> {
      return detail::run_load(request, dialect(),
                              [&]() -> Result<std::unique_ptr<detail::LoadTransaction>> {
                                RSI_TRY_ASSIGN(auto tx, pg::Transaction::begin(conn));
                                return std::make_unique<Load>(*this, conn, std::move(tx));
                              });
    });
  }

private:
  Result<std::vector<tsv::Column>> typed_columns(pg::Connection& conn, std::string_view table) {
    RSI_TRY_ASSIGN(
        const auto rows,
        conn.exec(k_table_columns_typed, {names().layout().physical_schema, std::string(table)}));
    std::vector<tsv::Column> columns;
    for (int row = 0; row < rows.size(); ++row) {
      auto type = tsv::parse_column_type(rows.get(row, 1));
      if (!type) {
        return fail(type.error().wrap(fmt::format("column {}", rows.get(row, 0))));
      }
      columns.push_back({rows.text(row, 0), *type});
    }
    return columns;
  }

  // One load: the ledger row first, under a transaction-level advisory lock on the uuid (so
  // check_load sees a load in progress), then ROW EXCLUSIVE on the table before its version is
  // read (a migration's ALTER takes ACCESS EXCLUSIVE, so the version cannot change under the
  // load), then COPY FROM STDIN of every file, converted while it streams in.
  class Load final : public detail::LoadTransaction {
  public:
    Load(PostgresWarehouse& warehouse, pg::Connection& conn, pg::Transaction tx)
        : m_warehouse(warehouse), m_conn(conn), m_tx(std::move(tx)) {}

    Result<bool> enter_ledger(const LoadRequest& request) override {
      RSI_TRY(m_tx.exec(k_ledger_lock_sql, {std::to_string(k_ledger_lock), request.manifest}));
      auto inserted = m_tx.exec(k_ledger_insert,
                                {request.manifest, request.table, std::to_string(request.version),
                                 std::to_string(request.files.size())});
      if (!inserted && inserted.error().kind == ErrorKind::conflict) {
        return false;
      }
      RSI_TRY(inserted);
      return true;
    }

    Result<std::optional<int>> table_version(std::string_view table) override {
      RSI_TRY_ASSIGN(const std::string quoted, m_warehouse.names().table(table));
      RSI_TRY(m_tx.exec(fmt::format("LOCK TABLE {} IN ROW EXCLUSIVE MODE", quoted)));
      return read_version(m_conn, table);
    }

    // The rows, then the rejected rows (the connection is busy during the COPY, so they wait
    // in memory: at most max_bad_rows of them).
    LoadOutcome<LoadResult> load_rows(const LoadRequest& request) override {
      std::vector<RejectedRow> rejected;
      auto loaded = m_warehouse.copy_rows(m_conn, request, rejected);
      if (!loaded) {
        return loaded;
      }
      RSI_TRY(insert_rejected_rows(m_tx, request, rejected, "now()"));
      loaded->rejected_rows = rejected.size();
      return loaded;
    }

    Result<void> complete_ledger(const LoadRequest& request, const LoadResult& loaded) override {
      RSI_TRY(m_tx.exec(k_ledger_set_rows, {request.manifest, std::to_string(loaded.rows)}));
      return {};
    }

    Result<void> commit() override { return m_tx.commit(); }

  private:
    PostgresWarehouse& m_warehouse;
    pg::Connection& m_conn;
    pg::Transaction m_tx;
  };

  // COPY of every file of `request`; the rows skipped under its max_bad_rows go to `rejected`.
  LoadOutcome<LoadResult> copy_rows(pg::Connection& conn, const LoadRequest& request,
                                    std::vector<RejectedRow>& rejected) {
    RSI_TRY_ASSIGN(const std::string table, names().table(request.table));
    RSI_TRY_ASSIGN(const auto columns, typed_columns(conn, request.table));
    std::vector<std::string> quoted;
    for (const auto& column : columns) {
      RSI_TRY_ASSIGN(std::string name, names().quote(column.name));
      quoted.push_back(std::move(name));
    }
    RSI_TRY(conn.copy_in(fmt::format("COPY {} ({}) FROM STDIN{}", table, fmt::join(quoted, ", "),
                                     m_binary ? " (FORMAT binary)" : "")));
    std::string buffer;
    buffer.reserve(m_copy_chunk_bytes + (64U << 10U));
    if (m_binary) {
      buffer.append(pg_binary_header());
    }
    bool send_failed = false;
    const auto send = [&]() -> Result<void> {
      auto sent = conn.put_copy_data(buffer);
      buffer.clear();
      send_failed = !sent;
      return sent;
    };
    auto counts = read_batch(
        request.files, m_files, columns,
        [&](std::span<const tsv::Field> row) -> Result<void> {
          if (m_binary) {
            append_pg_binary_row(buffer, row, columns);
          } else {
            warehouse::append_pg_copy_row(buffer, row, columns);
          }
          if (buffer.size() >= m_copy_chunk_bytes) {
            RSI_TRY(send());
          }
          return {};
        },
        m_read,
        {.max_bad_rows = request.max_bad_rows, .on_rejected = [&](RejectedRow row) -> Result<void> {
           rejected.push_back(std::move(row));
           return {};
         }});
    if (counts && m_binary) {
      buffer.append(k_pg_binary_trailer);
    }
    if (counts && !buffer.empty()) {
      if (auto sent = send(); !sent) {
        counts = fail(sent.error());
      }
    }
    if (!counts) {
      if (send_failed) {
        // The server stopped the COPY (or the connection broke): its own error says why.
        auto ended = conn.end_copy();
        if (!ended) {
          return server_copy_error(conn, std::move(ended.error()));
        }
        return std::unexpected(std::move(counts.error()));
      }
      // Ends the COPY with an error, so the server discards what it received. Should that fail
      // too, the connection is broken and the transaction dies with it: nothing is kept.
      (void)conn.abort_copy(counts.error().message);
      return std::unexpected(std::move(counts.error()));
    }
    auto rows = conn.end_copy();
    if (!rows) {
      return server_copy_error(conn, std::move(rows.error()));
    }
    return LoadResult{.rows = static_cast<std::uint64_t>(*rows),
                      .files = request.files.size(),
                      .bytes = counts->bytes,
                      .truncated_values = counts->truncated_values,
                      .replaced_characters = counts->replaced_characters};
  }

  // The server refused the COPY. A data exception (SQLSTATE class 22: a value the column cannot
  // hold that the reader let through) is a data failure of some file of the batch.
  static std::unexpected<LoadError> server_copy_error(const pg::Connection& conn, Error error) {
    if (conn.last_sqlstate().starts_with("22")) {
      return std::unexpected(LoadError(std::move(error), std::nullopt));
    }
    return std::unexpected(LoadError(std::move(error)));
  }

  FileLocator m_files;
  BatchReadOptions m_read;
  std::size_t m_copy_chunk_bytes;
  bool m_binary = true;
};

} // namespace

Result<std::unique_ptr<Warehouse>> make_postgres_warehouse(const PostgresConfig& config) {
  if (!config.files) {
    return fail(ErrorKind::permanent,
                "postgres warehouse: no object store to read batch files from");
  }
  RSI_TRY_ASSIGN(auto quoter, pg::Connection::detached());
  auto warehouse = std::make_unique<PostgresWarehouse>(config, std::move(quoter));
  RSI_TRY(warehouse->bootstrap());
  return std::unique_ptr<Warehouse>(std::move(warehouse));
}

} // namespace rsi::warehouse
