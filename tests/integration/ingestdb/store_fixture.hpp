#pragma once

#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "ingestdb/ingest_db.hpp"
#include "ingestdb/postgres_ingest_db.hpp"
#include "ingestdb/sqlite_ingest_db.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"

namespace rsi::ingestdb::testing {

// One backend of the contract suite.
struct Backend {
  std::string name;
  bool needs_postgres = false;

  friend void PrintTo(const Backend& backend, std::ostream* out) { *out << backend.name; }
};

inline const Backend k_sqlite{"sqlite", false};
inline const Backend k_postgres{"postgres", true};

// A fresh, empty ingester database of the parameter's backend for each test.
class StoreTest : public ::testing::TestWithParam<Backend> {
protected:
  void SetUp() override {
    if (GetParam().needs_postgres) {
      const auto base = test::postgres_conninfo();
      RSI_REQUIRE_SERVICE(base.has_value(), "PostgreSQL (RSI_TEST_PG)");
      m_schema.emplace(*base);
    }
    auto store = open();
    ASSERT_TRUE(store) << store.error().message;
    m_store = std::move(*store);
  }

  // Another store on the same database (a second process would see the same).
  Result<std::unique_ptr<IngestDb>> open(StoreOptions options = {}) {
    if (m_schema) {
      return make_postgres_ingest_db(
          {.conninfo = m_schema->conninfo(), .max_connections = 8, .options = options});
    }
    return make_sqlite_ingest_db({.path = m_dir.path("ingester.db"), .options = options});
  }

  [[nodiscard]] bool is_postgres() const { return m_schema.has_value(); }

  test::TempDir m_dir;
  std::optional<test::PostgresSchema> m_schema;
  std::unique_ptr<IngestDb> m_store;
};

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param.name;
}

} // namespace rsi::ingestdb::testing
