// Loading batches: all files in one transaction with the ledger row, at most once, nothing at
// all when one file is bad (and the error names it), for every backend that loads files itself.

#include <chrono>

#include "common/gzip.hpp"
#include "common/uuid.hpp"
#include "warehouse_fixture.hpp"

namespace rsi::warehouse::testing {
namespace {

using namespace std::chrono_literals;

const std::vector<core::Operation> k_schema = {
    add_column("time", "f@timestamp@unix", " sortkey", 0),
    add_column("name", "varchar", "(4)", 0),
    add_column("n", "bigint", "", 0),
    add_column("flag", "bool", "", 0),
    add_column("ratio", "float", "", 0),
    add_column("code", "char", "(2)", 0),
};

std::string rows_text(int first, int count) {
  std::string text;
  for (int row = first; row < first + count; ++row) {
    text += "\"2016-07-29 22:00:00\"\t\"name" + std::to_string(row) + "\"\t\"" +
            std::to_string(row) + "\"\t\"true\"\t\"0.5\"\t\"U\"\n";
  }
  return text;
}

class LoadContract : public WarehouseTest {
protected:
  void SetUp() override {
    WarehouseTest::SetUp();
    if (m_warehouse) {
      create("events", k_schema);
    }
  }

  LoadRequest request(std::vector<core::ObjectLocation> files, int version = 0) {
    return {
        .manifest = new_uuid(), .table = "events", .version = version, .files = std::move(files)};
  }
};

TEST_P(LoadContract, LoadsEveryFileAndRecordsTheLedger) {
  const auto batch = request(
      {put_file("a.gz", rows_text(0, 3)), put_file("b.gz", rows_text(3, 2), "other-bucket")});

  const auto loaded = m_warehouse->load_batch(batch);

  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->rows, 5U);
  EXPECT_EQ(loaded->files, 2U);
  EXPECT_EQ(loaded->truncated_values, 5U); // "name0" does not fit varchar(4).
  EXPECT_GT(loaded->bytes, 0U);
  EXPECT_EQ(m_warehouse->check_load(batch.manifest).value(), core::LoadStatus::complete);
  EXPECT_EQ(
      query("SELECT name, n, flag, ratio, code FROM " + table_ref("events") + " WHERE n = 4", 5),
      (std::vector<Row>{{Value("name"), Value("4"), Value(is_postgres() ? "t" : "1"), Value("0.5"),
                         Value("U ")}}));
  EXPECT_EQ(
      query(
          is_postgres()
              ? "SELECT table_name, table_version, file_count, row_count FROM infra.load_manifest"
              : R"(SELECT table_name, table_version, file_count, row_count FROM "infra.load_manifest")",
          4),
      (std::vector<Row>{{Value("events"), Value("0"), Value("2"), Value("5")}}));
}

TEST_P(LoadContract, ASecondLoadOfTheSameManifestIsAConflictAndLoadsNothing) {
  const auto batch = request({put_file("a.gz", rows_text(0, 3))});
  ASSERT_TRUE(m_warehouse->load_batch(batch));
  auto other_worker = make(default_layout());
  ASSERT_TRUE(other_worker) << other_worker.error().message;

  const auto again = m_warehouse->load_batch(batch);
  const auto elsewhere = (*other_worker)->load_batch(batch);

  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::conflict);
  EXPECT_NE(again.error().message.find("in the ledger already"), std::string::npos)
      << again.error().message;
  ASSERT_FALSE(elsewhere);
  EXPECT_EQ(elsewhere.error().kind, ErrorKind::conflict);
  EXPECT_EQ(count(table_ref("events")), 3);
}

TEST_P(LoadContract, AnUnknownManifestIsNotFound) {
  EXPECT_EQ(m_warehouse->check_load(new_uuid()).value(), core::LoadStatus::not_found);
  EXPECT_EQ(m_warehouse->check_load("not-a-uuid").error().kind, ErrorKind::permanent);
}

TEST_P(LoadContract, ABatchWhoseThirdFileIsCorruptLoadsNothingAndNamesTheFile) {
  std::string corrupt = gzip(rows_text(20, 50)).value();
  corrupt.resize(corrupt.size() / 2); // Cut mid-stream: the gzip member never ends.
  const auto batch =
      request({put_file("one.gz", rows_text(0, 10)), put_file("two.gz", rows_text(10, 10)),
               put_raw("three.gz", corrupt), put_file("four.gz", rows_text(70, 10))});

  const auto loaded = m_warehouse->load_batch(batch);

  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::permanent);
  EXPECT_NE(loaded.error().message.find("s3://spade/three.gz"), std::string::npos)
      << loaded.error().message;
  EXPECT_EQ(count(table_ref("events")), 0);
  EXPECT_EQ(m_warehouse->check_load(batch.manifest).value(), core::LoadStatus::not_found);
  // Nothing was half-done: once the file is fixed the same manifest loads.
  put_file("three.gz", rows_text(20, 50));
  const auto retried = m_warehouse->load_batch(batch);
  ASSERT_TRUE(retried) << retried.error().message;
  EXPECT_EQ(retried->rows, 80U);
}

TEST_P(LoadContract, BadDataNamesFileLineAndColumn) {
  const auto batch = request(
      {put_file("ok.gz", rows_text(0, 5)),
       put_file("bad.gz", rows_text(5, 2) + "\"2016-13-01 00:00:00\"\tx\t1\ttrue\t1\tUS\n")});

  const auto loaded = m_warehouse->load_batch(batch);

  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::permanent);
  EXPECT_NE(loaded.error().message.find("s3://spade/bad.gz line 3 column 1 (\"time\")"),
            std::string::npos)
      << loaded.error().message;
  EXPECT_EQ(count(table_ref("events")), 0);
}

TEST_P(LoadContract, AMissingFileLoadsNothing) {
  const auto batch = request(
      {put_file("a.gz", rows_text(0, 5)), core::ObjectLocation{"spade", "never-written.gz"}});

  const auto loaded = m_warehouse->load_batch(batch);

  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::permanent);
  EXPECT_NE(loaded.error().message.find("s3://spade/never-written.gz: no such object"),
            std::string::npos)
      << loaded.error().message;
  EXPECT_EQ(count(table_ref("events")), 0);
}

TEST_P(LoadContract, AVersionOtherThanTheTablesIsAConflict) {
  const auto batch = request({put_file("a.gz", rows_text(0, 5))}, 1);

  const auto loaded = m_warehouse->load_batch(batch);

  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::conflict);
  EXPECT_EQ(count(table_ref("events")), 0);
  EXPECT_EQ(m_warehouse->check_load(batch.manifest).value(), core::LoadStatus::not_found);
}

TEST_P(LoadContract, AMissingTableLoadsNothing) {
  LoadRequest batch = request({put_file("a.gz", rows_text(0, 5))});
  batch.table = "nowhere";

  const auto loaded = m_warehouse->load_batch(batch);

  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().kind, ErrorKind::transient);
  EXPECT_EQ(m_warehouse->check_load(batch.manifest).value(), core::LoadStatus::not_found);
}

TEST_P(LoadContract, MalformedRequestsAreRefusedBeforeAnythingRuns) {
  const std::vector<LoadRequest> bad = {
      {.manifest = "nope", .table = "events", .files = {core::ObjectLocation{"spade", "a.gz"}}},
      {.manifest = new_uuid(), .table = "events", .files = {}},
      {.manifest = new_uuid(),
       .table = "events",
       .files = {core::ObjectLocation{"spade", "../a.gz"}}},
      {.manifest = new_uuid(), .table = "events", .files = {core::ObjectLocation{"spade", ""}}},
      {.manifest = new_uuid(),
       .table = "events",
       .version = -1,
       .files = {core::ObjectLocation{"spade", "a.gz"}}},
  };
  for (const auto& batch : bad) {
    const auto loaded = m_warehouse->load_batch(batch);

    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error().kind, ErrorKind::permanent);
  }
}

TEST_P(LoadContract, LoadsAfterAMigrationUseTheNewColumns) {
  ASSERT_TRUE(m_warehouse->load_batch(request({put_file("v0.gz", rows_text(0, 2))})));
  ASSERT_TRUE(m_warehouse->apply_migration(
      "events", 1, std::vector{delete_column("code", 1), add_column("city", "ipCity", "", 1)},
      60s));

  const auto stale = m_warehouse->load_batch(request({put_file("v0b.gz", rows_text(2, 2))}, 0));
  const auto loaded = m_warehouse->load_batch(
      request({put_file("v1.gz", "2016-07-29 22:00:00\tx\t9\tf\t1.5\tBerlin\n")}, 1));

  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().kind, ErrorKind::conflict);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(query("SELECT city FROM " + table_ref("events") + " WHERE n = 9", 1),
            (std::vector<Row>{{Value("Berlin")}}));
  EXPECT_EQ(count(table_ref("events")), 3);
}

INSTANTIATE_TEST_SUITE_P(Backends, LoadContract, ::testing::Values(k_sqlite, k_postgres),
                         backend_name);

} // namespace
} // namespace rsi::warehouse::testing
