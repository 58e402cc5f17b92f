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
//
// A COPY that fails for something other than a transient fault is pinned on a file of the batch
// (redshift_load_errors.hpp): the aborted transaction is rolled back, then the rows Redshift
// logged for that COPY are read from STL_LOAD_ERRORS (SYS_LOAD_ERROR_DETAIL on Serverless) by
// its query id, pg_last_copy_id(). That id is read before the COPY too: a COPY that failed before
// reading data leaves it unchanged, and the rows of an earlier COPY are not this one's. Without
// rows, the error message is read. After a COPY that succeeded under MAXERROR, the rows it
// rejected are read the same way and kept in infra.rejected_row, in the load's transaction.
#include "warehouse/redshift_warehouse.hpp"

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/log.hpp"
#include "common/uuid.hpp"
#include "warehouse/load_protocol.hpp"
#include "warehouse/pg_sql.hpp"
#include "warehouse/pg_warehouse_base.hpp"
#include "warehouse/redshift_load_errors.hpp"
#include "warehouse/redshift_privileges.hpp"
#include "warehouse/redshift_sql.hpp"

namespace rsi::warehouse {
namespace {

// The CREATE TABLE of a bookkeeping table of redshift::k_infra_tables.
std::string_view create_statement(std::string_view infra_table) {
  if (infra_table == "table_version") {
    return redshift::k_create_table_version;
  }
  if (infra_table == "load_manifest") {
    return redshift::k_create_load_manifest;
  }
  return pg_sql::k_create_rejected_row;
}

// The rows of redshift::k_stl_load_errors or k_sys_load_error_detail.
std::vector<redshift::LoadErrorRow> load_error_rows(const pg::Rows& rows) {
  std::vector<redshift::LoadErrorRow> out;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int row = 0; row < rows.size(); ++row) {
    out.push_back(
        {.file_url = rows.text(row, 0),
         .line = static_cast<std::uint64_t>(std::max<std::int64_t>(rows.integer(row, 1), 0)),
         .column = rows.text(row, 2),
         .code = static_cast<int>(rows.integer(row, 3)),
         .reason = rows.text(row, 4),
         .raw_line =
             rows.is_null(row, 5) ? std::nullopt : std::optional<std::string>(rows.text(row, 5))});
  }
  return out;
}

// The server's part of the error of a failed `statement`: pg::Connection puts the statement's
// summary in front, and a COPY's summary names the manifest.
std::string_view server_part(std::string_view message, std::string_view statement) {
  const std::string prefix = pg::summarize(statement) + ": ";
  return message.starts_with(prefix) ? message.substr(prefix.size()) : message;
}

class RedshiftWarehouse final : public detail::PgWarehouseBase {
public:
  RedshiftWarehouse(const RedshiftConfig& config, pg::Connection quoter)
      : PgWarehouseBase(
            config.conninfo,
            {.dialect = Dialect::redshift, .insert_version = redshift::k_insert_version},
            config.layout, std::move(quoter)),
        m_config(config) {}

  // The privileges first (redshift_privileges.hpp), reported once, with the statements to run;
  // then only the infra schema and tables that are missing are created: once they exist, no
  // DDL runs in infra (which would need CREATE there on every start of every worker).
  Result<void> bootstrap() {
    RSI_TRY(names().check_layout());
    return with_connection([&](pg::Connection& conn) -> Result<void> {
      RSI_TRY_ASSIGN(const redshift::PrivilegeReport report,
                     redshift::check_privileges(conn, names()));
      if (!report.grants.empty()) {
        return fail(ErrorKind::permanent,
                    fmt::format("redshift warehouse: the user {} lacks what it needs; as an "
                                "administrator, run:\n  {}",
                                report.user, fmt::join(report.grants, "\n  ")));
      }
      if (!report.advice.empty()) {
        log::warn("redshift: grant the user what its checks need",
                  {{"user", report.user},
                   {"run", fmt::format("{}", fmt::join(report.advice, " "))},
                   {"why", report.advice_reason}});
      } else if (!report.advice_reason.empty()) {
        log::warn("redshift: cannot check the user's system-log access",
                  {{"user", report.user}, {"why", report.advice_reason}});
      }
      if (!report.infra_schema) {
        RSI_TRY(conn.exec(redshift::k_create_infra_schema));
      }
      for (const std::string& table : report.missing_tables) {
        RSI_TRY(conn.exec(create_statement(table)));
      }
      return {};
    });
  }

  // Warehouse
  Result<bool> table_locked(std::string_view table) override {
    RSI_TRY(check_table_name(table, dialect()));
    return with_connection([&](pg::Connection& conn) -> Result<bool> {
      RSI_TRY_ASSIGN(const auto rows, conn.exec(redshift::k_table_locked, catalog_params(table)));
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
                         request.table, url, m_authorization, request.max_bad_rows));
      RSI_TRY(config.manifests->put(fmt::format("{}.json", request.manifest),
                                    redshift::manifest_json(request.files)));
      RSI_TRY_ASSIGN(auto tx, pg::Transaction::begin(m_conn));
      m_tx.emplace(std::move(tx));
      RSI_TRY_ASSIGN(const std::int64_t previous_copy, last_copy_id());
      if (auto copied = run_copy(copy, url); !copied) {
        return std::unexpected(
            copy_failure(request, std::move(copied.error()), copy, previous_copy));
      }
      RSI_TRY_ASSIGN(const auto count, m_tx->exec(redshift::k_last_copy_count));
      LoadResult loaded{.rows = static_cast<std::uint64_t>(count.integer(0, 0)),
                        .files = request.files.size()};
      if (request.max_bad_rows > 0) {
        RSI_TRY_ASSIGN(loaded.rejected_rows, keep_rejected_rows(request));
      }
      return loaded;
    }

    Result<void> complete_ledger(const LoadRequest& request, const LoadResult& loaded) override {
      RSI_TRY(m_tx->exec(redshift::k_ledger_insert,
                         {request.manifest, request.table, std::to_string(request.version),
                          std::to_string(request.files.size()), std::to_string(loaded.rows)}));
      return {};
    }

    Result<void> commit() override { return m_tx->commit(); }

  private:
    Result<void> run_copy(std::string_view copy, std::string_view manifest_url) {
      if (const auto& run = m_warehouse.m_config.run_copy_for_test) {
        return run(m_conn, CopyCall{.statement = copy, .manifest_url = manifest_url});
      }
      RSI_TRY(m_tx->exec(copy));
      return {};
    }

    Result<std::int64_t> last_copy_id() {
      RSI_TRY_ASSIGN(const auto id, m_conn.exec(redshift::k_last_copy_id));
      return id.integer(0, 0);
    }

    // The rows COPY `copy_id` rejected, as Redshift logged them.
    Result<std::vector<redshift::LoadErrorRow>> read_load_errors(std::int64_t copy_id) {
      const std::string_view query = m_warehouse.m_config.serverless
                                         ? redshift::k_sys_load_error_detail
                                         : redshift::k_stl_load_errors;
      RSI_TRY_ASSIGN(const auto rows, m_conn.exec(query, {std::to_string(copy_id)}));
      return load_error_rows(rows);
    }

    // A failed COPY as a LoadError (see the top of the file). A transient failure stays as it is.
    LoadError copy_failure(const LoadRequest& request, Error error, std::string_view copy,
                           std::int64_t previous_copy) {
      if (error.kind == ErrorKind::transient) {
        return error;
      }
      m_tx.reset(); // Redshift aborted the transaction: nothing else runs in it.
      auto rows = rows_of_failed_copy(previous_copy);
      if (!rows) {
        log::warn("cannot read the load errors of a failed COPY",
                  {{"manifest", request.manifest}, {"error", rows.error().message}});
      } else if (!rows->empty()) {
        return redshift::load_error_from_rows(*rows, request, table_columns(request.table));
      }
      return redshift::load_error_from_message(error, server_part(error.message, copy),
                                               request.files);
    }

    // The rows the failed COPY rejected; none when it failed before reading data (its id is
    // still `previous_copy`).
    Result<std::vector<redshift::LoadErrorRow>> rows_of_failed_copy(std::int64_t previous_copy) {
      RSI_TRY_ASSIGN(const std::int64_t copy_id, last_copy_id());
      if (copy_id < 0 || copy_id == previous_copy) {
        return std::vector<redshift::LoadErrorRow>{};
      }
      return read_load_errors(copy_id);
    }

    // The table's columns in order; none when they cannot be read (a fault then has no column
    // position, only the name).
    std::vector<std::string> table_columns(std::string_view table) {
      auto columns = m_warehouse.read_columns(m_conn, table);
      return columns && *columns ? std::move(**columns) : std::vector<std::string>{};
    }

    // Keeps the rows the COPY that just succeeded rejected in infra.rejected_row; returns how many.
    Result<std::uint64_t> keep_rejected_rows(const LoadRequest& request) {
      RSI_TRY_ASSIGN(const std::int64_t copy_id, last_copy_id());
      RSI_TRY_ASSIGN(const auto rows, read_load_errors(copy_id));
      std::vector<RejectedRow> rejected;
      rejected.reserve(rows.size());
      for (const redshift::LoadErrorRow& row : rows) {
        // The batch's URL where it is one of the batch's files: Redshift logs 256 bytes at most.
        const auto file = redshift::find_file(row.file_url, request.files);
        rejected.push_back({.file = file.value_or(0),
                            .file_url = file ? core::s3_url(request.files[*file]) : row.file_url,
                            .line = row.line,
                            .column = row.column,
                            .raw_text = row.raw_line.value_or(""),
                            .reason = row.reason});
      }
      RSI_TRY(insert_rejected_rows(*m_tx, request, rejected, "GETDATE()"));
      return rows.size();
    }

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
