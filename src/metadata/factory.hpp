#pragma once

#include <memory>
#include <string>
#include <variant>

#include "common/error.hpp"
#include "metadata/metadata_store.hpp"
#include "metadata/migrator_lock.hpp"
#include "metadata/postgres_metadata_store.hpp"
#include "metadata/sqlite_metadata_store.hpp"

namespace rsi::metadata {

struct Config {
  std::variant<PostgresConfig, SqliteConfig> backend;
};

// Backend by URL: postgres://… or postgresql://… (or a libpq key=value string) → PostgreSQL;
// sqlite:///path/file.db → SQLite. Anything else is a permanent error.
Result<Config> config_from_url(const std::string& url, std::size_t max_connections = 5,
                               StoreOptions options = {});

Result<std::unique_ptr<MetadataStore>> make_metadata_store(const Config& config);

// The lock that keeps one migrator per ingester database (migrator_lock.hpp).
Result<std::unique_ptr<MigratorLock>> make_migrator_lock(const Config& config);

} // namespace rsi::metadata
