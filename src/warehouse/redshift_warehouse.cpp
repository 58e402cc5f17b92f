// Amazon Redshift warehouse.
//
// Tables: the event tables in the physical schema (views beside them), infra.table_version
// (the original's) and infra.load_manifest (the ledger). A load writes the manifest object,
// then runs COPY and the ledger INSERT in one transaction.
//
// Redshift neither enforces primary keys nor lets concurrent transactions read and write the
// same table without aborting one (serializable isolation, error 1023), so the ledger is only
// written inside the load's transaction and read before it: a uuid already there fails with
// conflict before anything runs. Two loads of one uuid at the same moment are kept apart by
// the ingester database, which gives a batch to one loader at a time. The ledger INSERT comes
// last, so the table lock it takes is held only until the COMMIT right after it.
#include "warehouse/redshift_warehouse.hpp"

#include <fmt/format.h>

#include "common/log.hpp"
#include "common/uuid.hpp"
#include "warehouse/load_protocol.hpp"
#include "warehouse/pg_sql.hpp"
#include "warehouse/pg_warehouse_base.hpp"
#include "warehouse/redshift_sql.hpp"

namespace rsi::warehouse {
namespace {

constexpr std::string_view k_infra_exists =
    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'infra')";

class RedshiftWarehouse final : public detail::PgWarehouseBase {
public:
  RedshiftWarehouse(const RedshiftConfig& config, pg::Connection quoter)
      : PgWarehouseBase(
            config.conninfo,
            {.dialect = Dialect::redshift, .insert_version = redshift::k_insert_version},
            config.layout, std::move(quoter)),
        m_config(config) {}

  Result<void> bootstrap() {
    RSI_TRY(names().check_layout());
    return with_connection([&](pg::Connection& conn) -> Result<void> {
      RSI_TRY_ASSIGN(const auto infra, conn.exec(k_infra_exists));
      if (!infra.boolean(0, 0)) {
        RSI_TRY(conn.exec(redshift::k_create_infra_schema));
      }
      RSI_TRY(conn.exec(redshift::k_create_table_version));
      RSI_TRY(conn.exec(redshift::k_create_load_manifest));
      return {};
    });
  }

  // Warehouse
  Result<bool> table_locked(std::string_view table) override {
    RSI_TRY(check_table_name(table, dialect()));
    return with_connection([&](pg::Connection& conn) -> Result<bool> {
      RSI_TRY_ASSIGN(const auto rows,
                     conn.exec(redshift::k_table_locked,
                               {names().layout().physical_schema, std::string(table)}));
      return rows.boolean(0, 0);
    });
  }

  Result<core::LoadStatus> check_load(std::string_view uuid) override {
    if (!is_uuid(uuid)) {
      return fail(ErrorKind::permanent, fmt::format("check load {}: not a uuid", uuid));
    }
    return with_connection([&](pg::Connection& conn) -> Result<core::LoadStatus> {
      RSI_TRY_ASSIGN(const auto ledger, conn.exec(pg_sql::k_ledger_has, {std::string(uuid)}));
      if (ledger.integer(0, 0) > 0) {
        return core::LoadStatus::complete;
      }
      if (!m_config.system_table_fallback) {
        return core::LoadStatus::not_found;
      }
      // Loads started by the original left no ledger row: look for its COPY in the query logs.
      const std::vector<pg::Param> pattern{
          redshift::copy_search_pattern(redshift::manifest_url(m_config.manifest_bucket, uuid))};
      RSI_TRY_ASSIGN(const auto running, conn.exec(redshift::k_copy_running, pattern));
      if (running.integer(0, 0) > 0) {
        return core::LoadStatus::in_progress;
      }
      RSI_TRY_ASSIGN(const auto committed, conn.exec(redshift::k_copy_committed, pattern));
      if (committed.integer(0, 0) > 0) {
        return core::LoadStatus::complete;
      }
      RSI_TRY_ASSIGN(const auto attempted, conn.exec(redshift::k_copy_attempted, pattern));
      return attempted.integer(0, 0) > 0 ? core::LoadStatus::failed : core::LoadStatus::not_found;
    });
  }

  LoadOutcome<LoadResult> load_batch(const LoadRequest& request) override {
    RSI_TRY_ASSIGN(const redshift::CopyAuthorization authorization, copy_authorization());
    auto loaded = with_connection([&](pg::Connection& conn) -> LoadOutcome<LoadResult> {
      return detail::run_load(request, dialect(),
                              [&]() -> Result<std::unique_ptr<detail::LoadTransaction>> {
                                return std::make_unique<Load>(*this, conn, authorization);
                              });
    });
    if (!loaded) {
      LoadError& error = loaded.error();
      error.message =
          redshift::redact(error.message, authorization); // The COPY's text holds the keys.
    }
    return loaded;
  }

private:
  Result<redshift::CopyAuthorization> copy_authorization() const {
    redshift::CopyAuthorization authorization;
    if (!m_config.iam_role.empty()) {
      authorization.iam_role = m_config.iam_role;
      return authorization;
    }
    if (!m_config.credentials) {
      return fail(ErrorKind::permanent,
                  "redshift COPY: neither an IAM role nor credentials are configured");
    }
    RSI_TRY_ASSIGN(const http::Credentials credentials, m_config.credentials->get());
    authorization.access_key_id = credentials.access_key_id;
    authorization.secret_access_key = credentials.secret_access_key;
    authorization.session_token = credentials.session_token;
    return authorization;
  }

  // One load (see the top of the file): the ledger and the version are read before the
  // transaction; the manifest object is written before it too (COPY must find it; an unused one
  // is harmless); COPY, its row count and the ledger row commit together.
  class Load final : public detail::LoadTransaction {
  public:
    Load(RedshiftWarehouse& warehouse, pg::Connection& conn,
         const redshift::CopyAuthorization& authorization)
        : m_warehouse(warehouse), m_conn(conn), m_authorization(authorization) {}

    Result<bool> enter_ledger(const LoadRequest& request) override {
      RSI_TRY_ASSIGN(const auto ledger, m_conn.exec(pg_sql::k_ledger_has, {request.manifest}));
      return ledger.integer(0, 0) == 0;
    }

    Result<std::optional<int>> table_version(std::string_view table) override {
      return read_version(m_conn, table);
    }

    LoadOutcome<LoadResult> load_rows(const LoadRequest& request) override {
      const RedshiftConfig& config = m_warehouse.m_config;
      const std::string url = redshift::manifest_url(config.manifest_bucket, request.manifest);
      RSI_TRY_ASSIGN(const std::string copy,
                     redshift::copy_statement(
                         m_warehouse.names(),
                         [&](std::string_view text) { return m_conn.quote_literal(text); },
                         request.table, url, m_authorization));
      RSI_TRY(config.manifests->put(fmt::format("{}.json", request.manifest),
                                    redshift::manifest_json(request.files)));
      RSI_TRY_ASSIGN(auto tx, pg::Transaction::begin(m_conn));
      m_tx.emplace(std::move(tx));
      RSI_TRY(m_tx->exec(copy));
      RSI_TRY_ASSIGN(const auto count, m_tx->exec(redshift::k_last_copy_count));
      return LoadResult{.rows = static_cast<std::uint64_t>(count.integer(0, 0)),
                        .files = request.files.size()};
    }

    Result<void> complete_ledger(const LoadRequest& request, const LoadResult& loaded) override {
      RSI_TRY(m_tx->exec(redshift::k_ledger_insert,
                         {request.manifest, request.table, std::to_string(request.version),
                          std::to_string(request.files.size()), std::to_string(loaded.rows)}));
      return {};
    }

    Result<void> commit() override { return m_tx->commit(); }

  private:
    RedshiftWarehouse& m_warehouse;
    pg::Connection& m_conn;
    const redshift::CopyAuthorization& m_authorization;
    std::optional<pg::Transaction> m_tx;
  };

  RedshiftConfig m_config;
};

} // namespace

Result<std::unique_ptr<Warehouse>> make_redshift_warehouse(const RedshiftConfig& config) {
  if (config.manifests == nullptr || config.manifest_bucket.empty()) {
    return fail(ErrorKind::permanent, "redshift warehouse: no manifest bucket configured");
  }
  if (config.iam_role.empty() && !config.credentials) {
    return fail(ErrorKind::permanent,
                "redshift warehouse: COPY needs an IAM role or AWS credentials");
  }
  RSI_TRY_ASSIGN(auto quoter, pg::Connection::detached());
  auto warehouse = std::make_unique<RedshiftWarehouse>(config, std::move(quoter));
  RSI_TRY(warehouse->bootstrap());
  return std::unique_ptr<Warehouse>(std::move(warehouse));
}

} // namespace rsi::warehouse
