#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "tsv/column.hpp"
#include "warehouse/warehouse.hpp"

namespace rsi::warehouse {

// The SQL a warehouse speaks. Redshift gets the DDL the original sent; PostgreSQL and SQLite
// get translated types and options (docs/warehouse.md has the table).
enum class Dialect { redshift, postgres, sqlite };

std::string_view to_string(Dialect dialect);

// Quotes an identifier with the database library's escaping (PQescapeIdentifier through
// pg::Connection, sqlite's %w), never by hand.
using QuoteFn = std::function<Result<std::string>(std::string_view)>;

// Longest identifier each warehouse keeps as given: Redshift 127 bytes, PostgreSQL 63 (it
// would cut longer names silently), SQLite no limit of its own (127 applies, as everywhere).
std::size_t max_identifier_bytes(Dialect dialect);

// A column name (validate_column_name) that the dialect also keeps whole. `what` names it in
// the message ("column", "schema"). Fails permanent.
[[nodiscard]] Result<void> check_identifier(std::string_view name, Dialect dialect,
                                            std::string_view what);

// A table name (validate_table_name) that the dialect keeps whole. Fails permanent.
[[nodiscard]] Result<void> check_table_name(std::string_view table, Dialect dialect);

// Checks the uuid, table, version and file locations of a load request before anything is
// sent. Fails permanent; a location no object can have is a data failure of that file
// (FileFaultKind::refused_object), so the rest of the batch can load without it.
[[nodiscard]] LoadOutcome<void> check_load_request(const LoadRequest& request, Dialect dialect);

// A column of an `add` step, checked. The type comes from Blueprint's `column_type` through the
// transformer map (ipCity → varchar(64), ipCountry → varchar(2), ipRegion → varchar(64),
// ipAsn → varchar(128), ipAsnInteger → int, f@timestamp@… → datetime, userIDWithMapping →
// bigint), otherwise as written; `column_options` may add a width and Redshift attributes.
struct ColumnSpec {
  std::string name;
  std::string redshift_type; // The type as the original sent it: "varchar", "datetime".
  std::string options;       // column_options as sent ("(25) distkey"), "" when 1 byte or less.
  tsv::ColumnType type;      // The type with its width, as the loaders read it.
  bool sortkey = false;
  bool distkey = false;
  bool not_null = false;
  std::string encode;        // Compression codec, lowercase; "" for none.
  std::string default_value; // The DEFAULT literal as written; "" for none.
};

// Checks `column_type` + `column_options` against the allow-list grammar
//   options   := [ width ] { space attribute }
//   width     := "(" n ")" | "(" n "," n ")" | "(max)"
//   attribute := sortkey | distkey | null | not null | encode <codec> | default <literal>
//   literal   := a signed decimal number | true | false | '<printable ASCII without ', " or \>'
// (keywords in any case, blanks around), a type the loaders can read (tsv::parse_column_type)
// within Redshift's limits. Anything else fails permanent, naming the column and the
// offending text.
[[nodiscard]] Result<ColumnSpec> column_spec(std::string_view name, std::string_view column_type,
                                             std::string_view column_options);

// `"name" type ...` as a column definition of CREATE TABLE / ADD COLUMN in `dialect`:
// Redshift: type and options exactly as the original joined them; PostgreSQL and SQLite: the
// canonical type (datetime → timestamp, widths explicit), NOT NULL and DEFAULT kept, sortkey,
// distkey and encode dropped (PostgreSQL turns sortkey into a BRIN index: see plan_migration).
[[nodiscard]] Result<std::string> column_definition(const ColumnSpec& column, Dialect dialect,
                                                    const QuoteFn& quote);

// `identifier` as `dialect` stores it in its catalog: Redshift folds the ASCII letters of every
// identifier, quoted or not, to lowercase ("ASCII letters in standard and delimited identifiers
// are case-insensitive and are folded to lowercase in the database"; enable_case_sensitive_
// identifier is not assumed: docs/warehouse.md, "Names"); PostgreSQL and SQLite keep a quoted
// identifier as written.
[[nodiscard]] std::string catalog_name(std::string_view identifier, Dialect dialect);

// How one warehouse names its objects, with identifiers quoted by `quote`. PostgreSQL and
// Redshift: "schema"."name" and infra.<name>. SQLite has no schemas: tables are "name" and
// views "<schema>.<name>" (a '.' no table name can contain, so they never collide). For
// Redshift every identifier is folded (catalog_name) before it is quoted, so the DDL names the
// objects as the catalog will hold them whatever enable_case_sensitive_identifier says.
class SqlNames {
public:
  SqlNames(Dialect dialect, QuoteFn quote, Layout layout);

  [[nodiscard]] Dialect dialect() const { return m_dialect; }
  [[nodiscard]] const Layout& layout() const { return m_layout; }
  // `identifier` as the catalog holds it (catalog_name in this dialect): what relname,
  // nspname and attname are compared with.
  [[nodiscard]] std::string catalog(std::string_view identifier) const {
    return catalog_name(identifier, m_dialect);
  }
  [[nodiscard]] Result<std::string> quote(std::string_view identifier) const {
    return m_quote(identifier);
  }
  [[nodiscard]] const QuoteFn& quote_fn() const { return m_quote; }

  // The physical table, its view and its full view.
  [[nodiscard]] Result<std::string> table(std::string_view name) const;
  [[nodiscard]] Result<std::string> view(std::string_view name) const;
  [[nodiscard]] Result<std::string> full_view(std::string_view name) const;
  // The bookkeeping tables: "table_version", "load_manifest".
  [[nodiscard]] Result<std::string> infra(std::string_view name) const;

  // Fails permanent when a configured schema or view column name cannot be used here.
  [[nodiscard]] Result<void> check_layout() const;

private:
  [[nodiscard]] Result<std::string> qualified(std::string_view schema, std::string_view name) const;

  Dialect m_dialect;
  QuoteFn m_quote;
  Layout m_layout;
};

} // namespace rsi::warehouse
