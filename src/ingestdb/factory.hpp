#pragma once

#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <variant>

#include "common/error.hpp"
#include "ingestdb/ingest_db.hpp"
#include "ingestdb/migrator_lock.hpp"
#include "ingestdb/postgres_ingest_db.hpp"
#include "ingestdb/sqlite_ingest_db.hpp"

namespace rsi::ingestdb {

struct Config {
  std::variant<PostgresConfig, SqliteConfig> backend;
};

// Backend by URL: postgres://… or postgresql://… (or a libpq key=value string) → PostgreSQL;
// sqlite:///path/file.db → SQLite. Anything else is a permanent error.
Result<Config> config_from_url(const std::string& url,
                               std::size_t max_connections = PostgresConfig{}.max_connections,
                               StoreOptions options = {});

Result<std::unique_ptr<IngestDb>> make_ingest_db(const Config& config);

// Until `stop`: calls `on_work` when other processes make work due (PostgreSQL: its notifications,
// listen_for_work in postgres_ingest_db.hpp). SQLite returns at once: its database serves one
// process, whose storer wakes the loaders itself.
void watch_for_work(const Config& config, const std::function<void()>& on_work,
                    std::stop_token stop);

// The lock that keeps one migrator per ingester database (migrator_lock.hpp).
Result<std::unique_ptr<MigratorLock>> make_migrator_lock(const Config& config);

} // namespace rsi::ingestdb
