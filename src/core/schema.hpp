#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace rsi::core {

// One column of a Blueprint schema: which event property feeds it, its warehouse name, and the
// transformer that gives its type ("varchar" with options "(25)", "f@timestamp@unix", "ipCity").
struct ColumnDefinition {
  std::string inbound_name;
  std::string outbound_name;
  std::string transformer;
  std::string column_creation_options;
  std::string supporting_columns; // Comma-separated; used by mapping transformers.

  bool operator==(const ColumnDefinition&) const = default;
};

// A table's schema at one version, as Blueprint serves it (its AnnotatedSchema). Timestamps
// are kept as the RFC 3339 text Blueprint sends; nothing here computes with them.
struct TableSchema {
  std::string event_name;
  std::vector<ColumnDefinition> columns;
  int version = 0;
  std::string created_ts;
  std::string ts;
  std::string user_name;
  bool dropped = false;
  bool drop_requested = false;
  std::string reason;

  bool operator==(const TableSchema&) const = default;
};

// Decode a GET /schema/<table>?version=N response body: an array of exactly one schema object.
// EventName (validate_table_name), Columns and Version (0..k_max_table_version) are required,
// each column needs all five string fields with an OutboundName passing validate_column_name
// and unique within the schema; CreatedTS, TS, UserName, Dropped, DropRequested and Reason are
// optional but typed. "Columns": null (Go's nil slice) reads as no columns. Unknown fields are
// ignored. The 404 "Not Found" body of a dropped or unknown table is not JSON and fails here:
// callers look at the HTTP status first. Fails with ErrorKind::permanent.
[[nodiscard]] Result<TableSchema> parse_schema(std::string_view body);

// Decode a GET /schemas response body: an array of schemas, each checked as by parse_schema.
[[nodiscard]] Result<std::vector<TableSchema>> parse_schema_list(std::string_view body);

// The body Blueprint would send for GET /schema/<table>: `[ {…schema…} ]`.
std::string encode_schema(const TableSchema& schema);

// The body Blueprint would send for GET /schemas.
std::string encode_schema_list(std::span<const TableSchema> schemas);

// The message of a Blueprint error body {"Error":"…"} (sent with 400 and 5xx statuses). Fails
// with ErrorKind::permanent when `body` is not such an object.
[[nodiscard]] Result<std::string> parse_blueprint_error(std::string_view body);

// {"Error":"<message>"}: Blueprint's error body, which the control API also uses.
std::string encode_blueprint_error(std::string_view message);

} // namespace rsi::core
