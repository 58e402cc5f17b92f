#include "support/services.hpp"

#include <atomic>
#include <cstdlib>
#include <random>
#include <stdexcept>

#include <fmt/format.h>
#include <unistd.h>

#include "pg/connection.hpp"

namespace rsi::test {
namespace {

pg::Connection connect_or_throw(const std::string& conninfo) {
  auto conn = pg::Connection::connect(conninfo);
  if (!conn) {
    throw std::runtime_error(conn.error().message);
  }
  return std::move(*conn);
}

void exec_or_throw(pg::Connection& conn, const std::string& sql) {
  if (auto done = conn.exec(sql); !done) {
    throw std::runtime_error(done.error().message);
  }
}

} // namespace

bool services_required() {
  const char* value = std::getenv("RSI_TEST_REQUIRE_SERVICES");
  return value != nullptr && std::string_view(value) == "1";
}

std::optional<std::string> postgres_conninfo() {
  const char* value = std::getenv("RSI_TEST_PG");
  if (value == nullptr || *value == '\0') {
    return std::nullopt;
  }
  return std::string(value);
}

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  thread_local std::mt19937 rng{std::random_device{}()};
  return fmt::format("{}_{}_{}_{:x}", prefix, getpid(), counter.fetch_add(1), rng() & 0xffffff);
}

PostgresSchema::PostgresSchema(const std::string& base_conninfo)
    : m_base(base_conninfo), m_name(unique_name("t")) {
  auto conn = connect_or_throw(m_base);
  exec_or_throw(conn, fmt::format("CREATE SCHEMA {}", m_name));
  m_conninfo = fmt::format("{} options='-csearch_path={}'", m_base, m_name);
}

PostgresSchema::~PostgresSchema() {
  if (auto conn = pg::Connection::connect(m_base)) {
    (void)conn->exec(fmt::format("DROP SCHEMA IF EXISTS {} CASCADE", m_name));
  }
}

std::optional<std::string> through_unix_socket(const std::string& conninfo) {
  if (conninfo.starts_with("postgres")) {
    return std::nullopt;
  }
  auto conn = connect_or_throw(conninfo);
  auto rows = conn.exec("SELECT split_part(current_setting('unix_socket_directories'), ',', 1), "
                        "current_setting('port')");
  if (!rows) {
    throw std::runtime_error("unix_socket_directories: " + rows.error().message);
  }
  const std::string directory(rows->get(0, 0));
  if (directory.empty()) {
    return std::nullopt;
  }
  // A later keyword overrides an earlier one.
  return fmt::format("{} host='{}' port={}", conninfo, directory, rows->get(0, 1));
}

PostgresDatabase::PostgresDatabase(const std::string& base_conninfo)
    : m_base(base_conninfo), m_name(unique_name("db")) {
  auto conn = connect_or_throw(m_base);
  exec_or_throw(conn, fmt::format("CREATE DATABASE {}", m_name));
  m_conninfo = fmt::format("{} dbname={}", m_base, m_name);
}

PostgresDatabase::~PostgresDatabase() {
  if (auto conn = pg::Connection::connect(m_base)) {
    (void)conn->exec(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", m_name));
  }
}

} // namespace rsi::test
