#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "core/file_pointer.hpp"
#include "warehouse/ddl.hpp"

namespace rsi::warehouse::redshift {

// How Redshift's COPY gets at the files: an IAM role attached to the cluster, or keys (with
// the session token of temporary credentials).
struct CopyAuthorization {
  std::string iam_role; // "arn:aws:iam::123456789012:role/name"; when set, the keys are unused.
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
};

// The manifest object: {"entries":[{"url":"s3://bucket/key","mandatory":true},...]}: the one
// place object locations become URLs on the load path.
std::string manifest_json(std::span<const core::ObjectLocation> files);

// "s3://<bucket>/<uuid>.json", where the manifest of `uuid` is stored.
std::string manifest_url(std::string_view bucket, std::string_view uuid);

// The original's COPY, byte for byte (docs/warehouse.md, "Loading"), one line:
//   COPY "schema"."table" FROM 's3://…/uuid.json' WITH CREDENTIALS
//   'aws_access_key_id=…;aws_secret_access_key=…[;token=…]' removequotes delimiter '\t' gzip
//   escape truncatecolumns roundec fillrecord compupdate on emptyasnull acceptinvchars '?'
//   manifest trimblanks;
// or `IAM_ROLE '<arn>'` in place of `WITH CREDENTIALS '…'` (`IAM_ROLE default`, unquoted, when the
// role is "default": the IAM role set as the cluster's default). With `max_bad_rows` above 0,
// ` maxerror <n>` goes before the ';' (Redshift takes at most k_max_copy_errors). Literals are
// quoted by `quote_literal` (PQescapeLiteral). Fails permanent when the authorization is missing
// or holds characters the credentials string cannot carry (';', quotes, backslashes, controls);
// the message never shows a secret.
[[nodiscard]] Result<std::string>
copy_statement(const SqlNames& names, const QuoteFn& quote_literal, std::string_view table,
               std::string_view manifest_url, const CopyAuthorization& authorization,
               std::uint32_t max_bad_rows = 0);

// The IAM role that COPY names by the keyword `default`: the one set as the cluster's (or
// Serverless namespace's) default. Matched without regard to ASCII case.
inline constexpr std::string_view k_default_iam_role = "default";
[[nodiscard]] bool is_default_iam_role(std::string_view iam_role);

// COPY's MAXERROR limit: a larger count is sent as this.
inline constexpr std::uint32_t k_max_copy_errors = 100000;

// `message` with every secret of `authorization` replaced by "<redacted>".
std::string redact(std::string_view message, const CopyAuthorization& authorization);

// Statements of the Redshift backend, kept here so that tests can hold them to golden text.
// $1 is the table name unless noted. (Those PostgreSQL sends too are in pg_sql.hpp.)
inline constexpr std::string_view k_insert_version =
    "INSERT INTO infra.table_version (name, version, ts) VALUES ($1, $2, GETDATE())";
// $1 schema, $2 table: another session holds or waits for a lock on the table.
inline constexpr std::string_view k_table_locked =
    "SELECT EXISTS (SELECT 1 FROM svv_transactions t JOIN pg_catalog.pg_class c ON c.oid = "
    "t.relation "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE t.lockable_object_type = "
    "'relation' "
    "AND t.pid <> pg_backend_pid() AND n.nspname = $1 AND c.relname = $2)";
// A name other than $2 with versions in infra.table_version that folds to $1 (the folded $2):
// another event that would be the same Redshift table. Names are ASCII (validate_table_name).
inline constexpr std::string_view k_versions_folded_alike =
    "SELECT name FROM infra.table_version WHERE lower(name) = $1 AND name <> $2 LIMIT 1";
// $1 schema, $2 table: the table's distribution key and sort key columns as (column, distkey,
// sortkey position; 0: none). PG_TABLE_DEF shows only tables of schemas on the search path: the
// caller puts the physical schema there first.
inline constexpr std::string_view k_table_keys =
    "SELECT \"column\", distkey, sortkey FROM pg_table_def WHERE schemaname = $1 AND tablename = "
    "$2 AND (distkey OR sortkey <> 0)";
// $1 uuid, $2 table, $3 version, $4 files, $5 rows.
inline constexpr std::string_view k_ledger_insert =
    "INSERT INTO infra.load_manifest (uuid, table_name, table_version, file_count, row_count, "
    "loaded_at) "
    "VALUES ($1, $2, $3, $4, $5, GETDATE())";
inline constexpr std::string_view k_last_copy_count = "SELECT pg_last_copy_count()";
// The query id of the session's last COPY that began loading (-1: none). A COPY that fails before
// it reads data (syntax, credentials, privileges) leaves it as it was.
inline constexpr std::string_view k_last_copy_id = "SELECT pg_last_copy_id()";

// The rows COPY rejected, $1 its query id (k_last_copy_id), as (file URL, line, column, error
// code, reason, raw line): a provisioned cluster logs them in STL_LOAD_ERRORS, Serverless in
// SYS_LOAD_ERROR_DETAIL (which has no raw line). Character columns are blank-padded.
inline constexpr std::string_view k_stl_load_errors =
    "SELECT trim(filename), line_number, trim(colname), err_code, trim(err_reason), "
    "rtrim(raw_line) FROM stl_load_errors WHERE query = $1";
inline constexpr std::string_view k_sys_load_error_detail =
    "SELECT trim(file_name), line_number, trim(column_name), error_code, trim(error_message), "
    "NULL FROM sys_load_error_detail WHERE query_id = $1";

// The ledger and version tables, created when missing (existing deployments have
// infra.table_version from the original's ace_init.sql, whose definition this repeats).
inline constexpr std::string_view k_create_infra_schema = "CREATE SCHEMA infra";
inline constexpr std::string_view k_create_table_version =
    "CREATE TABLE IF NOT EXISTS infra.table_version (name character varying(256), version integer, "
    "ts timestamp without time zone default GETDATE())";
inline constexpr std::string_view k_create_load_manifest =
    "CREATE TABLE IF NOT EXISTS infra.load_manifest (uuid char(36) NOT NULL PRIMARY KEY, "
    "table_name varchar(127) NOT NULL, table_version integer NOT NULL, "
    "file_count integer NOT NULL, row_count bigint NOT NULL, loaded_at timestamp NOT NULL)";

// The system-table check of the original, for loads it started (no ledger row): $1 is
// copy_search_pattern(manifest URL).
inline constexpr std::string_view k_copy_running =
    "SELECT count(*) FROM stv_recents WHERE query ILIKE $1 AND status != 'Done'";
inline constexpr std::string_view k_copy_committed =
    "SELECT count(*) FROM stl_query q JOIN stl_utilitytext u ON u.xid = q.xid "
    "WHERE q.querytxt ILIKE $1 AND u.text = 'COMMIT'";
inline constexpr std::string_view k_copy_attempted =
    "SELECT count(*) FROM stl_query WHERE querytxt ILIKE $1";

// "COPY % FROM 's3://…/uuid.json' %": the original's pattern for its COPY in the query logs.
std::string copy_search_pattern(std::string_view manifest_url);

} // namespace rsi::warehouse::redshift
