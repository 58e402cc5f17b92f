#pragma once

#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace rsi::test {

// True when the test run must not skip service tests (CI sets RSI_TEST_REQUIRE_SERVICES=1).
bool services_required();

// Base libpq conninfo of the throwaway PostgreSQL server started by scripts/test
// (RSI_TEST_PG), or nullopt when there is none.
std::optional<std::string> postgres_conninfo();

// `conninfo` (libpq key=value pairs) reaching the same server through its Unix-domain socket
// (the first of its unix_socket_directories), or nullopt when it listens on none or `conninfo`
// is a URI.
std::optional<std::string> through_unix_socket(const std::string& conninfo);

// A schema of its own on the test server, dropped on destruction; `conninfo()` connects
// with that schema first on the search_path, so each test sees only its own tables.
class PostgresSchema {
public:
  explicit PostgresSchema(const std::string& base_conninfo);
  ~PostgresSchema();
  PostgresSchema(const PostgresSchema&) = delete;
  PostgresSchema& operator=(const PostgresSchema&) = delete;

  [[nodiscard]] const std::string& name() const { return m_name; }
  [[nodiscard]] const std::string& conninfo() const { return m_conninfo; }

private:
  std::string m_base;
  std::string m_name;
  std::string m_conninfo;
};

// A fresh database of its own on the test server, dropped on destruction (for code that
// creates schemas itself, such as a warehouse).
class PostgresDatabase {
public:
  explicit PostgresDatabase(const std::string& base_conninfo);
  ~PostgresDatabase();
  PostgresDatabase(const PostgresDatabase&) = delete;
  PostgresDatabase& operator=(const PostgresDatabase&) = delete;

  [[nodiscard]] const std::string& name() const { return m_name; }
  [[nodiscard]] const std::string& conninfo() const { return m_conninfo; }

private:
  std::string m_base;
  std::string m_name;
  std::string m_conninfo;
};

// A unique lowercase name with `prefix`, safe as an unquoted identifier.
std::string unique_name(const std::string& prefix);

} // namespace rsi::test

// Skip the test when the service is missing, or fail it when services are required.
#define RSI_REQUIRE_SERVICE(available, what)                                                       \
  do {                                                                                             \
    if (!(available)) {                                                                            \
      if (::rsi::test::services_required()) {                                                      \
        FAIL() << (what) << " is required (RSI_TEST_REQUIRE_SERVICES=1) but not available";        \
      }                                                                                            \
      GTEST_SKIP() << (what) << " not available; run the tests through scripts/test";              \
    }                                                                                              \
  } while (false)
