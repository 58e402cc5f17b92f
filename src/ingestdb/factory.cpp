#include "ingestdb/factory.hpp"

#include <fmt/format.h>

namespace rsi::ingestdb {

Result<Config> config_from_url(const std::string& url, std::size_t max_connections,
                               StoreOptions options) {
  constexpr std::string_view k_sqlite = "sqlite://";
  if (url.starts_with(k_sqlite)) {
    const std::string path = url.substr(k_sqlite.size());
    if (path.empty() || path.front() != '/') {
      return fail(
          ErrorKind::permanent,
          fmt::format("ingester database URL {}: expected sqlite:///absolute/path.db", url));
    }
    return Config{SqliteConfig{.path = path, .options = options}};
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://") ||
      url.find('=') != std::string::npos) {
    return Config{
        PostgresConfig{.conninfo = url, .max_connections = max_connections, .options = options}};
  }
  return fail(
      ErrorKind::permanent,
      "ingester database URL: expected postgres://… or sqlite:///path (got a different scheme)");
}

Result<std::unique_ptr<IngestDb>> make_ingest_db(const Config& config) {
  if (const auto* postgres = std::get_if<PostgresConfig>(&config.backend)) {
    return make_postgres_ingest_db(*postgres);
  }
  return make_sqlite_ingest_db(std::get<SqliteConfig>(config.backend));
}

void watch_for_work(const Config& config, const std::function<void()>& on_work,
                    std::stop_token stop) {
  if (const auto* postgres = std::get_if<PostgresConfig>(&config.backend)) {
    listen_for_work(*postgres, on_work, std::move(stop));
  }
}

Result<std::unique_ptr<MigratorLock>> make_migrator_lock(const Config& config) {
  if (const auto* postgres = std::get_if<PostgresConfig>(&config.backend)) {
    return make_postgres_migrator_lock(*postgres);
  }
  return make_sqlite_migrator_lock(std::get<SqliteConfig>(config.backend));
}

} // namespace rsi::ingestdb
