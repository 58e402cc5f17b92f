#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/error.hpp"
#include "warehouse/postgres_warehouse.hpp"
#include "warehouse/redshift_warehouse.hpp"
#include "warehouse/sqlite_warehouse.hpp"
#include "warehouse/warehouse.hpp"

namespace rsi::warehouse {

struct Config {
  std::variant<RedshiftConfig, PostgresConfig, SqliteConfig> backend;
};

// The original's `redshift` object of the -config JSON file.
struct RedshiftSection {
  std::string url; // The warehouse URL ("url"), "" when absent.
  Layout layout;
};

// Decodes {"url", "physicalSchema", "viewSchema", "viewColumn", "viewFilter", "fullViewSchema",
// "fullViewReplacements": {"column": "SQL expression", ...}}: every field optional, strings
// (physicalSchema defaults to "logs"), unknown fields ignored as the original's Go decoder did.
// Fails permanent on a wrong type.
[[nodiscard]] Result<RedshiftSection> parse_redshift_section(std::string_view json_object);

// What a warehouse needs besides its URL: where batch files are read from (PostgreSQL, SQLite),
// where manifests go and how COPY authenticates (Redshift).
struct Dependencies {
  FileLocator files;
  objectstore::ObjectStore* manifests = nullptr;
  std::string manifest_bucket;
  std::string iam_role;
  std::shared_ptr<http::CredentialsProvider> credentials;
  // Redshift: whether loads missing from the ledger are looked up in the system tables
  // (RedshiftConfig::system_table_fallback); nullopt decides by the host: off for Redshift
  // Serverless (*.redshift-serverless.amazonaws.com), which has no STL/STV tables. Off also
  // means Serverless (RedshiftConfig::serverless) behind another host name.
  std::optional<bool> system_tables;
};

// The backend a URL names: redshift://user@host:5439/db (PostgreSQL protocol, Redshift dialect),
// postgres://… or postgresql://… (or a libpq key=value string), sqlite:///absolute/path.db.
// Fails permanent on anything else.
[[nodiscard]] Result<Config> config_from_url(std::string_view url, Layout layout,
                                             Dependencies dependencies);

[[nodiscard]] Result<std::unique_ptr<Warehouse>> make_warehouse(const Config& config);

} // namespace rsi::warehouse
