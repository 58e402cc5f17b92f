#include "warehouse_fixture.hpp"

#include <fmt/format.h>

#include "common/gzip.hpp"
#include "objectstore/local_object_store.hpp"
#include "pg/connection.hpp"
#include "sqlite/database.hpp"
#include "warehouse/postgres_warehouse.hpp"
#include "warehouse/sqlite_warehouse.hpp"

namespace rsi::warehouse::testing {

Layout default_layout() {
  return {.physical_schema = "logs",
          .view_schema = "views",
          .view_column = "time",
          .full_view_schema = "fullviews",
          .full_view_replacements = {{"ip", "NULL AS ip"}}};
}

core::Operation add_column(std::string name, std::string type, std::string options, int version) {
  return {.action = core::Action::add,
          .name = std::move(name),
          .version = version,
          .inbound = "in",
          .column_type = std::move(type),
          .column_options = std::move(options)};
}

core::Operation delete_column(std::string name, int version) {
  return {.action = core::Action::delete_column, .name = std::move(name), .version = version};
}

core::Operation rename_column(std::string from, std::string to, int version) {
  return {.action = core::Action::rename,
          .name = std::move(from),
          .version = version,
          .new_outbound = std::move(to)};
}

core::Operation event_step(core::Action action, int version) {
  return {.action = action, .version = version};
}

void WarehouseTest::SetUp() {
  if (is_postgres()) {
    const auto base = test::postgres_conninfo();
    RSI_REQUIRE_SERVICE(base.has_value(), "PostgreSQL (RSI_TEST_PG)");
    m_database.emplace(*base);
  }
  auto store = objectstore::make_local_object_store({.root = m_dir.path("objects")});
  ASSERT_TRUE(store) << store.error().message;
  m_store = std::move(*store);
  reopen(default_layout());
}

Result<std::unique_ptr<Warehouse>> WarehouseTest::make(const Layout& layout) {
  if (is_postgres()) {
    return make_postgres_warehouse({.conninfo = m_database->conninfo(),
                                    .layout = layout,
                                    .files = locate_in_bucket_folders(*m_store)});
  }
  return make_sqlite_warehouse({.path = m_dir.path("warehouse.db"),
                                .layout = layout,
                                .files = locate_in_bucket_folders(*m_store)});
}

void WarehouseTest::reopen(const Layout& layout) {
  auto warehouse = make(layout);
  ASSERT_TRUE(warehouse) << warehouse.error().message;
  m_warehouse = std::move(*warehouse);
}

core::ObjectLocation WarehouseTest::put_raw(const std::string& name, const std::string& bytes,
                                            const std::string& bucket) {
  const auto stored = m_store->put(bucket + "/" + name, bytes);
  EXPECT_TRUE(stored) << stored.error().message;
  return {bucket, name};
}

core::ObjectLocation WarehouseTest::put_file(const std::string& name, const std::string& text,
                                             const std::string& bucket) {
  return put_raw(name, gzip(text).value(), bucket);
}

std::string WarehouseTest::table_ref(const std::string& table) const {
  return is_postgres() ? fmt::format("\"logs\".\"{}\"", table) : fmt::format("\"{}\"", table);
}

std::string WarehouseTest::view_ref(const std::string& table) const {
  return is_postgres() ? fmt::format("\"views\".\"{}\"", table)
                       : fmt::format("\"views.{}\"", table);
}

std::string WarehouseTest::full_view_ref(const std::string& table) const {
  return is_postgres() ? fmt::format("\"fullviews\".\"{}\"", table)
                       : fmt::format("\"fullviews.{}\"", table);
}

std::vector<Row> WarehouseTest::query(const std::string& sql, int columns) {
  std::vector<Row> out;
  if (is_postgres()) {
    auto conn = pg::Connection::connect(m_database->conninfo());
    EXPECT_TRUE(conn) << conn.error().message;
    if (!conn) {
      return out;
    }
    auto rows = conn->exec(sql);
    EXPECT_TRUE(rows) << rows.error().message;
    if (!rows) {
      return out;
    }
    for (int row = 0; row < rows->size(); ++row) {
      Row values;
      for (int column = 0; column < columns; ++column) {
        values.push_back(rows->is_null(row, column) ? Value() : Value(rows->text(row, column)));
      }
      out.push_back(std::move(values));
    }
    return out;
  }
  auto db = sqlite::Database::open(m_dir.path("warehouse.db"));
  EXPECT_TRUE(db) << db.error().message;
  auto statement = db->prepare(sql);
  EXPECT_TRUE(statement) << statement.error().message;
  if (!statement) {
    return out;
  }
  EXPECT_EQ(sqlite3_column_count(statement->raw()), columns) << sql;
  while (true) {
    auto more = statement->step();
    EXPECT_TRUE(more) << more.error().message;
    if (!more || !*more) {
      break;
    }
    Row values;
    for (int column = 0; column < columns; ++column) {
      switch (sqlite3_column_type(statement->raw(), column)) {
      case SQLITE_NULL:
        values.emplace_back();
        break;
      case SQLITE_INTEGER:
        values.emplace_back(std::to_string(statement->integer(column)));
        break;
      case SQLITE_FLOAT:
        values.emplace_back(fmt::format("{}", statement->real(column)));
        break;
      default:
        values.emplace_back(std::string(statement->text(column)));
        break;
      }
    }
    out.push_back(std::move(values));
  }
  return out;
}

std::int64_t WarehouseTest::count(const std::string& relation) {
  const auto rows = query(fmt::format("SELECT count(*) FROM {}", relation), 1);
  return rows.empty() || !rows[0][0] ? -1 : std::stoll(*rows[0][0]);
}

std::vector<std::string> WarehouseTest::columns_of(const std::string& table) {
  const std::string sql = is_postgres()
                              ? fmt::format("SELECT column_name FROM information_schema.columns "
                                            "WHERE table_schema = 'logs' AND "
                                            "table_name = '{}' ORDER BY ordinal_position",
                                            table)
                              : fmt::format("SELECT name FROM pragma_table_info('{}')", table);
  std::vector<std::string> names;
  for (const auto& row : query(sql, 1)) {
    names.push_back(row.at(0).value_or("NULL"));
  }
  return names;
}

bool WarehouseTest::relation_exists(const std::string& ref) {
  if (is_postgres()) {
    auto conn = pg::Connection::connect(m_database->conninfo());
    return conn && conn->exec(fmt::format("SELECT 1 FROM {} LIMIT 0", ref)).has_value();
  }
  auto db = sqlite::Database::open(m_dir.path("warehouse.db"));
  return db && db->prepare(fmt::format("SELECT 1 FROM {} LIMIT 0", ref)).has_value();
}

void WarehouseTest::create(const std::string& table,
                           const std::vector<core::Operation>& operations) {
  const auto created = m_warehouse->apply_migration(table, 0, operations, std::chrono::seconds(60));
  ASSERT_TRUE(created) << created.error().message;
}

} // namespace rsi::warehouse::testing
