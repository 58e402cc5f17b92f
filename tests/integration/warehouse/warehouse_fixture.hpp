#pragma once

// One warehouse per test, of the parameter's backend: SQLite always, PostgreSQL when the test
// server is up (a database of its own per test). Batch files live in a local object store whose
// root holds one folder per bucket.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "objectstore/object_store.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"
#include "warehouse/ddl.hpp"
#include "warehouse/warehouse.hpp"

namespace rsi::warehouse::testing {

struct Backend {
  std::string name;
  Dialect dialect = Dialect::sqlite;

  friend void PrintTo(const Backend& backend, std::ostream* out) { *out << backend.name; }
};

inline const Backend k_sqlite{"sqlite", Dialect::sqlite};
inline const Backend k_postgres{"postgres", Dialect::postgres};

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param.name;
}

// A value read back from the warehouse: nullopt is NULL. SQLite numbers come as text in their
// shortest round-trip form.
using Value = std::optional<std::string>;
using Row = std::vector<Value>;

// The layout most tests use: tables in "logs", a view per table in "views" (filtered for tables
// with a "time" column once a filter is set), a full view of those in "fullviews" replacing "ip"
// by the original's form of a replacement, "NULL AS ip".
Layout default_layout();

core::Operation add_column(std::string name, std::string type, std::string options, int version);
core::Operation delete_column(std::string name, int version);
core::Operation rename_column(std::string from, std::string to, int version);
core::Operation event_step(core::Action action, int version);

class WarehouseTest : public ::testing::TestWithParam<Backend> {
protected:
  void SetUp() override;

  [[nodiscard]] bool is_postgres() const { return GetParam().dialect == Dialect::postgres; }

  // A new warehouse instance on the test's database (a second worker, or after a restart).
  Result<std::unique_ptr<Warehouse>> make(const Layout& layout);
  // Replace m_warehouse by one with `layout`.
  void reopen(const Layout& layout);

  // Stores `text` gzip-compressed as s3://<bucket>/<name>; returns where.
  core::ObjectLocation put_file(const std::string& name, const std::string& text,
                                const std::string& bucket = "spade");
  // Stores raw bytes as s3://<bucket>/<name>; returns where.
  core::ObjectLocation put_raw(const std::string& name, const std::string& bytes,
                               const std::string& bucket = "spade");

  // How the test refers to the table, its view and its full view in SQL.
  [[nodiscard]] std::string table_ref(const std::string& table) const;
  [[nodiscard]] std::string view_ref(const std::string& table) const;
  [[nodiscard]] std::string full_view_ref(const std::string& table) const;

  // The rows of `sql`, which selects `columns` columns.
  std::vector<Row> query(const std::string& sql, int columns);
  std::int64_t count(const std::string& relation);
  std::vector<std::string> columns_of(const std::string& table);
  bool relation_exists(const std::string& ref);

  // Creates `table` at version 0 with `operations` and fails the test otherwise.
  void create(const std::string& table, const std::vector<core::Operation>& operations);

  test::TempDir m_dir;
  std::optional<test::PostgresDatabase> m_database;
  std::unique_ptr<objectstore::ObjectStore> m_store;
  std::unique_ptr<Warehouse> m_warehouse;
};

} // namespace rsi::warehouse::testing
