// The real Spade file ../shared/testdata/spade-minute-watched.v0.tsv.gz (7,504 rows, 23 columns)
// loaded into PostgreSQL and into SQLite through the warehouse interface, then read back and
// compared value by value with each other and with what the COPY rules say Redshift stores.

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/byte_source.hpp"
#include "common/uuid.hpp"
#include "objectstore/local_object_store.hpp"
#include "pg/connection.hpp"
#include "sqlite/database.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"
#include "support/testdata.hpp"
#include "support/tsv_text.hpp"
#include "tsv/reader.hpp"
#include "warehouse/postgres_warehouse.hpp"
#include "warehouse/sqlite_warehouse.hpp"
#include "warehouse_fixture.hpp"

namespace rsi::warehouse::testing {
namespace {

constexpr std::size_t k_rows = 7504;

// Blueprint's steps for a table that fits the file, one of each column type the loaders know.
std::vector<core::Operation> minute_watched_v0() {
  return {
      add_column("time", "f@timestamp@unix", " sortkey", 0),
      add_column("time_utc", "f@timestamp@unix-utc", "", 0),
      add_column("adblock", "bool", "", 0),
      add_column("browser", "varchar", "(128)", 0), // Narrower than some values: TRUNCATECOLUMNS.
      add_column("buffer_empty_count", "bigint", "", 0),
      add_column("channel", "varchar", "(25)", 0),
      add_column("channel_id", "bigint", " distkey", 0),
      add_column("content_mode", "varchar", "(16)", 0),
      add_column("current_bitrate", "float", "", 0),
      add_column("device_id", "varchar", "(32)", 0), // Go's \x00 escapes load as x00.
      add_column("game", "varchar", "(64) encode zstd", 0),
      add_column("live", "bool", "", 0),
      add_column("logged_in", "bool", "", 0),
      add_column("ip", "varchar", "(15)", 0),
      add_column("platform", "varchar", "(16)", 0),
      add_column("buffer_seconds", "decimal", "(10,2)", 0), // ROUNDEC: 4.457 -> 4.46.
      add_column("vod_id", "varchar", "(8)", 0),
      add_column("vod_type", "varchar", "(16)", 0),
      add_column("quality", "char", "(2)", 0),
      add_column("retries", "int", "", 0),
      add_column("session_date", "date", "", 0),
      add_column("volume", "real", "", 0),
      add_column("hidden", "smallint", "", 0),
  };
}

std::vector<tsv::Column> load_columns(const std::vector<core::Operation>& operations) {
  std::vector<tsv::Column> columns;
  for (const auto& op : operations) {
    columns.push_back(
        {op.name, column_spec(op.name, op.column_type, op.column_options).value().type});
  }
  return columns;
}

double to_double(const std::string& text) {
  double value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// One value in a form the three sources agree on when they hold the same value: booleans as
// t/f, numbers through their binary value, timestamps without trailing zeros in the fraction.
std::string normalized(const Value& value, const tsv::ColumnType& type) {
  if (!value) {
    return "NULL";
  }
  const std::string& text = *value;
  switch (type.kind) {
  case tsv::TypeKind::boolean:
    return text == "t" || text == "1" ? "t" : "f";
  case tsv::TypeKind::double_precision:
    return fmt::format("{}", to_double(text));
  case tsv::TypeKind::real:
    return fmt::format("{}", static_cast<float>(to_double(text)));
  case tsv::TypeKind::decimal:
    return fmt::format("{:.{}f}", to_double(text), type.scale);
  case tsv::TypeKind::timestamp: {
    std::string out = text;
    if (out.find('.') != std::string::npos) {
      out.erase(out.find_last_not_of('0') + 1);
      if (out.back() == '.') {
        out.pop_back();
      }
    }
    return out;
  }
  default:
    return text;
  }
}

std::vector<std::string> normalized_rows(const std::vector<Row>& rows,
                                         const std::vector<tsv::Column>& columns) {
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t index = 0; index < columns.size(); ++index) {
      line += normalized(row.at(index), columns[index].type);
      line += '\t';
    }
    out.push_back(std::move(line));
  }
  std::sort(out.begin(), out.end());
  return out;
}

class SpadeFileLoadTest : public WarehouseTest {};

TEST_P(SpadeFileLoadTest, LoadsWhatTheCopyRulesSayValueByValue) {
  RSI_REQUIRE_TESTDATA(path, rsi::test::testdata_file("spade-minute-watched.v0.tsv.gz"));
  std::ifstream file(path, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  const auto ops = minute_watched_v0();
  const auto columns = load_columns(ops);
  create("minute_watched", ops);
  const core::ObjectLocation stored =
      put_raw("minute-watched/v0/spade-minute-watched.v0.tsv.gz", bytes.str());
  const std::string url = core::s3_url(stored);

  const auto loaded = m_warehouse->load_batch(
      {.manifest = new_uuid(), .table = "minute_watched", .version = 0, .files = {stored}});

  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->rows, k_rows);
  EXPECT_GT(loaded->truncated_values, 0U);
  // What Redshift stores, from the COPY rules themselves.
  auto source = make_memory_source(bytes.str());
  auto reader = tsv::Reader::open(*source, columns, {.name = url}).value();
  std::vector<Row> expected_rows;
  while (reader.next().value()) {
    Row row;
    for (const auto& text : test::texts_of(reader.row(), reader.columns())) {
      row.push_back(text ? Value(*text) : Value());
    }
    expected_rows.push_back(std::move(row));
  }
  const auto expected = normalized_rows(expected_rows, columns);
  const auto actual =
      normalized_rows(query("SELECT * FROM " + table_ref("minute_watched"), 23), columns);
  ASSERT_EQ(actual.size(), k_rows);
  for (std::size_t index = 0; index < k_rows; ++index) {
    ASSERT_EQ(actual[index], expected[index]) << "row " << index << " (sorted)";
  }
  const auto device_ids = query("SELECT count(*) FROM " + table_ref("minute_watched") +
                                    " WHERE device_id = 'x00x00x00x00x00'",
                                1);
  EXPECT_GT(std::stoll(device_ids.at(0).at(0).value()), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, SpadeFileLoadTest, ::testing::Values(k_sqlite, k_postgres),
                         backend_name);

// Both warehouses side by side: the same rows, value for value.
TEST(SpadeFileBothWarehousesTest, PostgresAndSqliteHoldIdenticalRows) {
  RSI_REQUIRE_TESTDATA(path, rsi::test::testdata_file("spade-minute-watched.v0.tsv.gz"));
  const auto base = test::postgres_conninfo();
  RSI_REQUIRE_SERVICE(base.has_value(), "PostgreSQL (RSI_TEST_PG)");
  test::TempDir dir;
  test::PostgresDatabase database(*base);
  auto store = objectstore::make_local_object_store({.root = dir.path("objects")}).value();
  std::ifstream file(path, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  ASSERT_TRUE(store->put("spade/mw/v0/file.gz", bytes.str()));
  const auto ops = minute_watched_v0();
  const auto columns = load_columns(ops);
  auto postgres = make_postgres_warehouse({.conninfo = database.conninfo(),
                                           .layout = {},
                                           .files = locate_in_bucket_folders(*store)})
                      .value();
  auto sqlite = make_sqlite_warehouse({.path = dir.path("warehouse.db"),
                                       .layout = {},
                                       .files = locate_in_bucket_folders(*store)})
                    .value();
  const LoadRequest batch{.manifest = new_uuid(),
                          .table = "mw",
                          .version = 0,
                          .files = {core::ObjectLocation{"spade", "mw/v0/file.gz"}}};
  for (Warehouse* warehouse : {postgres.get(), sqlite.get()}) {
    ASSERT_TRUE(warehouse->apply_migration("mw", 0, ops, std::chrono::seconds(60)));
  }

  const auto into_postgres = postgres->load_batch(batch);
  const auto into_sqlite = sqlite->load_batch(batch);

  ASSERT_TRUE(into_postgres) << into_postgres.error().message;
  ASSERT_TRUE(into_sqlite) << into_sqlite.error().message;
  EXPECT_EQ(into_postgres->rows, k_rows);
  EXPECT_EQ(into_sqlite->rows, k_rows);
  EXPECT_EQ(into_postgres->truncated_values, into_sqlite->truncated_values);
  EXPECT_EQ(into_postgres->replaced_characters, into_sqlite->replaced_characters);
  std::vector<Row> postgres_rows;
  {
    auto conn = pg::Connection::connect(database.conninfo()).value();
    const auto rows = conn.exec("SELECT * FROM logs.mw").value();
    for (int row = 0; row < rows.size(); ++row) {
      Row values;
      for (int column = 0; column < 23; ++column) {
        values.push_back(rows.is_null(row, column) ? Value() : Value(rows.text(row, column)));
      }
      postgres_rows.push_back(std::move(values));
    }
  }
  std::vector<Row> sqlite_rows;
  {
    auto db = sqlite::Database::open(dir.path("warehouse.db")).value();
    auto select = db.prepare("SELECT * FROM mw").value();
    while (select.step().value()) {
      Row values;
      for (int column = 0; column < 23; ++column) {
        switch (sqlite3_column_type(select.raw(), column)) {
        case SQLITE_NULL:
          values.emplace_back();
          break;
        case SQLITE_INTEGER:
          values.emplace_back(std::to_string(select.integer(column)));
          break;
        case SQLITE_FLOAT:
          values.emplace_back(fmt::format("{}", select.real(column)));
          break;
        default:
          values.emplace_back(std::string(select.text(column)));
        }
      }
      sqlite_rows.push_back(std::move(values));
    }
  }
  const auto from_postgres = normalized_rows(postgres_rows, columns);
  const auto from_sqlite = normalized_rows(sqlite_rows, columns);
  ASSERT_EQ(from_postgres.size(), k_rows);
  ASSERT_EQ(from_sqlite.size(), k_rows);
  std::size_t differing = 0;
  for (std::size_t index = 0; index < k_rows; ++index) {
    if (from_postgres[index] != from_sqlite[index]) {
      ADD_FAILURE() << "row " << index << "\n postgres: " << from_postgres[index]
                    << "\n sqlite:   " << from_sqlite[index];
      if (++differing == 5) {
        break;
      }
    }
  }
  EXPECT_EQ(differing, 0U);
}

} // namespace
} // namespace rsi::warehouse::testing

namespace rsi::warehouse::testing {
namespace {

// The two COPY formats of the PostgreSQL backend store exactly the same values, and so does a
// binary COPY through the server's Unix-domain socket (its wider send buffer, 64 KiB pieces).
TEST(SpadeFileCopyFormatsTest, BinaryTextAndSocketCopiesStoreTheSameRows) {
  RSI_REQUIRE_TESTDATA(path, rsi::test::testdata_file("spade-minute-watched.v0.tsv.gz"));
  const auto base = test::postgres_conninfo();
  RSI_REQUIRE_SERVICE(base.has_value(), "PostgreSQL (RSI_TEST_PG)");
  test::TempDir dir;
  test::PostgresDatabase database(*base);
  auto store = objectstore::make_local_object_store({.root = dir.path("objects")}).value();
  std::ifstream file(path, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  ASSERT_TRUE(store->put("spade/mw/v0/file.gz", bytes.str()));
  const auto socket = test::through_unix_socket(database.conninfo());
  RSI_REQUIRE_SERVICE(socket.has_value(), "the test server's Unix-domain socket");
  struct Load {
    const char* table;
    CopyFormat format;
    std::string conninfo;
  };
  for (const auto& [table, format, conninfo] :
       {Load{"by_binary", CopyFormat::binary, database.conninfo()},
        Load{"by_text", CopyFormat::text, database.conninfo()},
        Load{"by_socket", CopyFormat::binary, *socket}}) {
    auto warehouse = make_postgres_warehouse({.conninfo = conninfo,
                                              .layout = {},
                                              .files = locate_in_bucket_folders(*store),
                                              .copy_format = format})
                         .value();
    ASSERT_TRUE(
        warehouse->apply_migration(table, 0, minute_watched_v0(), std::chrono::seconds(60)));
    const auto loaded =
        warehouse->load_batch({.manifest = new_uuid(),
                               .table = table,
                               .version = 0,
                               .files = {core::ObjectLocation{"spade", "mw/v0/file.gz"}}});
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_EQ(loaded->rows, k_rows);
  }

  auto conn = pg::Connection::connect(database.conninfo()).value();
  for (const std::string other : {"by_text", "by_socket"}) {
    const auto differences =
        conn.exec(fmt::format("SELECT (SELECT count(*) FROM (SELECT * FROM logs.by_binary EXCEPT "
                              "ALL SELECT * FROM logs.{0}) d) + (SELECT count(*) FROM (SELECT * "
                              "FROM logs.{0} EXCEPT ALL SELECT * FROM logs.by_binary) d)",
                              other))
            .value();
    EXPECT_EQ(differences.integer(0, 0), 0) << other;
  }
}

} // namespace
} // namespace rsi::warehouse::testing
