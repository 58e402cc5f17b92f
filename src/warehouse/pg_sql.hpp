#pragma once

// The statements every warehouse that speaks the PostgreSQL protocol (Redshift and PostgreSQL)
// sends alike: the version bookkeeping, the catalog lookups and the ledger lookup. Redshift-only
// statements are in redshift_sql.hpp. Kept as constants so that tests can hold them to golden
// text; $1 is the table name unless noted.

#include <cstddef>
#include <string>
#include <string_view>

namespace rsi::warehouse::pg_sql {

inline constexpr std::string_view k_select_versions =
    "SELECT name, MAX(version) FROM infra.table_version GROUP BY name";

inline constexpr std::string_view k_select_version =
    "SELECT MAX(version) FROM infra.table_version WHERE name = $1 GROUP BY name";

// $1 schema, $2 table.
inline constexpr std::string_view k_table_exists =
    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
    "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'r')";

// $1 schema, $2 view.
inline constexpr std::string_view k_view_exists =
    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
    "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'v')";

// $1 schema, $2 table: the table's columns in order.
inline constexpr std::string_view k_table_columns =
    "SELECT a.attname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = "
    "a.attrelid "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = "
    "$2 "
    "AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";

// $1 manifest uuid.
inline constexpr std::string_view k_ledger_has =
    "SELECT count(*) FROM infra.load_manifest WHERE uuid = $1";

// Rows a load rejected under max_bad_rows, kept with the batch (SQLite has the same table).
inline constexpr std::string_view k_create_rejected_row =
    "CREATE TABLE IF NOT EXISTS infra.rejected_row (manifest_uuid char(36) NOT NULL, "
    "table_name varchar(127) NOT NULL, file_url varchar(1024) NOT NULL, line_number bigint, "
    "column_name varchar(127), raw_line varchar(1024), reason varchar(1024) NOT NULL, "
    "rejected_at timestamp NOT NULL)";
// Parameters per row of rejected_row_insert after the shared $1 (uuid) and $2 (table).
inline constexpr std::size_t k_rejected_row_params = 5;
// "INSERT INTO infra.rejected_row (…) VALUES ($1, $2, $3, $4, $5, $6, $7, <now>), ($1, $2, $8,
// …)" for `rows` rows: $1 the manifest uuid and $2 the table for all of them, then file URL,
// line, column, raw line and reason of each. `now` is the dialect's clock: now() or GETDATE().
std::string rejected_row_insert(std::size_t rows, std::string_view now);

} // namespace rsi::warehouse::pg_sql
