// Loading batches: all files in one transaction with the ledger row, at most once, nothing at
// all when one file is bad (and the error names it), for every backend that loads files itself.

#include <chrono>
#include <functional>

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

  LoadRequest request(std::vector<core::ObjectLocation> files, int version = 0,
                      std::uint32_t max_bad_rows = 0) {
    return {.manifest = new_uuid(),
            .table = "events",
            .version = version,
            .files = std::move(files),
            .max_bad_rows = max_bad_rows};
  }

  // How the test refers to a bookkeeping table in SQL.
  [[nodiscard]] std::string infra_ref(const std::string& table) const {
    return is_postgres() ? "infra." + table : "\"infra." + table + "\"";
  }

  std::vector<Row> rejected_rows() {
    return query("SELECT manifest_uuid, table_name, file_url, line_number, column_name, raw_line, "
                 "reason FROM " +
                     infra_ref("rejected_row") + " ORDER BY file_url, line_number",
                 7);
  }
};

// A record whose "n" is not a bigint, and one with a field too many.
const std::string k_bad_number =
    "\"2016-07-29 22:00:00\"\t\"bad\"\t\"abc\"\t\"true\"\t\"0.5\"\t\"U\"";
const std::string k_extra_field =
    "\"2016-07-29 22:00:00\"\t\"more\"\t\"1\"\t\"true\"\t\"0.5\"\t\"U\"\t\"extra\"";

void expect_fault(const LoadError& error, FileFault expected) {
  EXPECT_TRUE(error.data) << error.message;
  ASSERT_TRUE(error.fault) << error.message;
  EXPECT_EQ(error.fault->file, expected.file) << error.message;
  EXPECT_EQ(to_string(error.fault->kind), to_string(expected.kind)) << error.message;
  EXPECT_EQ(error.fault->line, expected.line) << error.message;
  EXPECT_EQ(error.fault->column, expected.column) << error.message;
}

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

TEST_P(LoadContract, EveryKindOfBadFileIsADataFailureNamingFileKindLineAndColumn) {
  std::string truncated = gzip(rows_text(0, 50)).value();
  truncated.resize(truncated.size() / 2);
  const std::string long_line =
      "\"2016-07-29 22:00:00\"\t\"" + std::string(5U << 20U, 'x') + "\"\t1\n";
  struct Case {
    std::string name;
    std::function<core::ObjectLocation()> bad;
    FileFaultKind kind;
    std::uint64_t line = 0;
    std::uint32_t column = 0;
  };
  const std::vector<Case> cases{
      {"missing",
       [] {
         return core::ObjectLocation{"spade", "never-written.gz"};
       },
       FileFaultKind::missing_object},
      {"climbing key",
       [] {
         return core::ObjectLocation{"spade", "a/../b.gz"};
       },
       FileFaultKind::refused_object},
      {"segment too long for a file name",
       [] {
         return core::ObjectLocation{"spade", std::string(300, 'k') + ".gz"};
       },
       FileFaultKind::refused_object},
      {"not gzip", [&] { return put_raw("notgzip.gz", "not gzip at all"); },
       FileFaultKind::corrupt_gzip},
      {"truncated gzip", [&] { return put_raw("truncated.gz", truncated); },
       FileFaultKind::truncated_gzip},
      {"line over 4 MB", [&] { return put_file("long.gz", rows_text(0, 2) + long_line); },
       FileFaultKind::record_too_long, 3},
      {"unterminated quote",
       [&] { return put_file("quote.gz", rows_text(0, 1) + "\"2016-07-29 22:00:00\"\t\"ab\n"); },
       FileFaultKind::bad_record, 2, 2},
      {"too many fields",
       [&] { return put_file("fields.gz", rows_text(0, 3) + "a\tb\t1\ttrue\t1\tUS\textra\n"); },
       FileFaultKind::bad_record, 4},
      {"not a number",
       [&] { return put_file("number.gz", rows_text(0, 4) + "\"2016-07-29 22:00:00\"\tx\tabc\n"); },
       FileFaultKind::bad_value, 5, 3},
      {"non-ASCII in CHAR",
       [&] {
         return put_file("char.gz",
                         rows_text(0, 1) + "\"2016-07-29 22:00:00\"\tx\t1\ttrue\t1\t\xc3\xa9\n");
       },
       FileFaultKind::invalid_characters, 2, 6},
  };
  for (const auto& each : cases) {
    SCOPED_TRACE(each.name);
    const auto bad = each.bad();
    const auto batch =
        request({put_file("good1.gz", rows_text(0, 5)), bad, put_file("good2.gz", rows_text(5, 5))},
                0, 1000); // Bad rows are skipped, but none of these is a row that can be.
    if (each.kind == FileFaultKind::bad_value || each.kind == FileFaultKind::bad_record ||
        each.kind == FileFaultKind::invalid_characters) {
      const auto skipped = m_warehouse->load_batch(batch);
      ASSERT_TRUE(skipped) << skipped.error().message;
      EXPECT_EQ(skipped->rejected_rows, 1U);
      ASSERT_TRUE(m_warehouse->load_batch(request({bad})).error().data) << "without the limit";
      continue;
    }

    const auto loaded = m_warehouse->load_batch(batch);

    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error().kind, ErrorKind::permanent);
    EXPECT_TRUE(loaded.error().data) << loaded.error().message;
    ASSERT_TRUE(loaded.error().fault) << loaded.error().message;
    EXPECT_EQ(loaded.error().fault->file, 1U);
    EXPECT_EQ(loaded.error().fault->kind, each.kind) << to_string(loaded.error().fault->kind);
    EXPECT_EQ(loaded.error().fault->line, each.line);
    EXPECT_EQ(loaded.error().fault->column, each.column);
    EXPECT_NE(loaded.error().message.find(bad.key.substr(0, 20)), std::string::npos)
        << loaded.error().message;
    EXPECT_EQ(m_warehouse->check_load(batch.manifest).value(), core::LoadStatus::not_found);
  }
  // Only the four batches whose bad row was skipped loaded: 10 good rows each, and the bad
  // files' other rows (1 + 3 + 4 + 1).
  EXPECT_EQ(count(table_ref("events")), 49);
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
  EXPECT_FALSE(loaded.error().data) << "no file is at fault: " << loaded.error().message;
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

TEST_P(LoadContract, BadRowsUpToTheLimitAreRejectedAndKeptWithTheLoad) {
  const auto batch =
      request({put_file("good.gz", rows_text(0, 3)),
               put_file("mixed.gz", rows_text(3, 2) + k_bad_number + "\n" + rows_text(5, 1) +
                                        k_extra_field + "\n" + rows_text(6, 2))},
              0, 3);

  const auto loaded = m_warehouse->load_batch(batch);
  const auto again = m_warehouse->load_batch(batch);

  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->rows, 8U);
  EXPECT_EQ(loaded->rejected_rows, 2U);
  EXPECT_EQ(count(table_ref("events")), 8);
  EXPECT_EQ(query("SELECT row_count FROM " + infra_ref("load_manifest"), 1),
            (std::vector<Row>{{Value("8")}}));
  EXPECT_EQ(rejected_rows(),
            (std::vector<Row>{
                {Value(batch.manifest), Value("events"), Value("s3://spade/mixed.gz"), Value("3"),
                 Value("n"), Value(k_bad_number),
                 Value("s3://spade/mixed.gz line 3 column 3 (\"n\"): invalid bigint \"abc\"")},
                {Value(batch.manifest), Value("events"), Value("s3://spade/mixed.gz"), Value("5"),
                 Value(), Value(k_extra_field),
                 Value("s3://spade/mixed.gz line 5: extra column(s) found: more than 6 fields")},
            }));
  EXPECT_EQ(count(infra_ref("rejected_row") + " WHERE rejected_at IS NOT NULL"), 2);
  // A second load of the manifest is refused by the ledger and keeps no second copy.
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::conflict);
  EXPECT_EQ(count(infra_ref("rejected_row")), 2);
}

TEST_P(LoadContract, OneBadRowMoreThanTheLimitFailsTheLoadAsDataAndKeepsNothing) {
  const auto batch =
      request({put_file("a.gz", rows_text(0, 1) + k_bad_number + "\n" + rows_text(1, 1) +
                                    k_extra_field + "\n"),
               put_file("b.gz", rows_text(2, 2) + k_extra_field + "\n" + rows_text(4, 1) +
                                    k_bad_number + "\n" + rows_text(5, 1))},
              0, 3);

  const auto loaded = m_warehouse->load_batch(batch);

  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::permanent);
  expect_fault(loaded.error(),
               {.file = 1, .kind = FileFaultKind::too_many_bad_rows, .line = 5, .column = 3});
  EXPECT_NE(loaded.error().message.find(
                "too many bad rows: 3 rejected (max_bad_rows 3), then s3://spade/b.gz line 5"),
            std::string::npos)
      << loaded.error().message;
  EXPECT_EQ(count(table_ref("events")), 0);
  EXPECT_EQ(count(infra_ref("load_manifest")), 0);
  EXPECT_EQ(count(infra_ref("rejected_row")), 0);
  EXPECT_EQ(m_warehouse->check_load(batch.manifest).value(), core::LoadStatus::not_found);
}

TEST_P(LoadContract, WithoutABadRowLimitTheFirstBadRowFailsTheLoad) {
  const auto bad_value = request({put_file("ok.gz", rows_text(0, 2)),
                                  put_file("value.gz", rows_text(2, 2) + k_bad_number + "\n")});
  const auto bad_record =
      request({put_file("record.gz", rows_text(0, 1) + k_extra_field + "\n" + rows_text(1, 1))});

  const auto value_loaded = m_warehouse->load_batch(bad_value);
  const auto record_loaded = m_warehouse->load_batch(bad_record);

  ASSERT_FALSE(value_loaded);
  EXPECT_EQ(value_loaded.error().kind, ErrorKind::permanent);
  expect_fault(value_loaded.error(),
               {.file = 1, .kind = FileFaultKind::bad_value, .line = 3, .column = 3});
  EXPECT_NE(value_loaded.error().message.find(
                "s3://spade/value.gz line 3 column 3 (\"n\"): invalid bigint \"abc\""),
            std::string::npos)
      << value_loaded.error().message;
  ASSERT_FALSE(record_loaded);
  expect_fault(record_loaded.error(), {.file = 0, .kind = FileFaultKind::bad_record, .line = 2});
  EXPECT_EQ(count(table_ref("events")), 0);
  EXPECT_EQ(count(infra_ref("rejected_row")), 0);
}

TEST_P(LoadContract, ACorruptGzipIsNeverSkipped) {
  std::string corrupt = gzip(rows_text(10, 50)).value();
  corrupt.resize(corrupt.size() / 2); // Cut mid-stream: the gzip member never ends.
  const auto batch = request({put_file("one.gz", rows_text(0, 5) + k_bad_number + "\n"),
                              put_raw("two.gz", corrupt), put_file("three.gz", rows_text(60, 5))},
                             0, 1000);

  const auto loaded = m_warehouse->load_batch(batch);

  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::permanent);
  expect_fault(loaded.error(), {.file = 1, .kind = FileFaultKind::truncated_gzip});
  EXPECT_NE(loaded.error().message.find("s3://spade/two.gz"), std::string::npos)
      << loaded.error().message;
  EXPECT_EQ(count(table_ref("events")), 0);
  EXPECT_EQ(count(infra_ref("rejected_row")), 0);
}

TEST_P(LoadContract, RejectedTextIsKeptAsValidUtf8WithoutNulAndCut) {
  const std::string bad_bytes = "\"2016-07-29 22:00:00\"\t\"a\xff\"\t\"1\xfe\"";
  const std::string nul_byte = std::string("\"2016-07-29 22:00:00\"\t\"a") + '\0' + "b\"";
  const std::string long_bad = "\"2016-07-29 22:00:00\"\t\"" + std::string(3000, 'w') + "\"\tx";
  const auto batch = request(
      {put_file("odd.gz", bad_bytes + "\n" + nul_byte + "\n" + long_bad + "\n" + rows_text(0, 1))},
      0, 3);

  const auto loaded = m_warehouse->load_batch(batch);

  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->rows, 1U);
  EXPECT_EQ(loaded->rejected_rows, 3U);
  const auto kept = query("SELECT line_number, column_name, raw_line FROM " +
                              infra_ref("rejected_row") + " ORDER BY line_number",
                          3);
  EXPECT_EQ(kept, (std::vector<Row>{
                      {Value("1"), Value("n"), Value("\"2016-07-29 22:00:00\"\t\"a?\"\t\"1?\"")},
                      {Value("2"), Value("name"), Value("\"2016-07-29 22:00:00\"\t\"a?b\"")},
                      {Value("3"), Value("n"), Value(long_bad.substr(0, 1024))},
                  }));
}

TEST_P(LoadContract, ThousandsOfRejectedRowsAreAllKept) {
  std::string text;
  for (int row = 0; row < 1201; ++row) {
    text += rows_text(row, 1) + k_bad_number + "\n";
  }
  const auto batch = request({put_file("many.gz", text)}, 0, 5000);

  const auto loaded = m_warehouse->load_batch(batch);

  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->rows, 1201U);
  EXPECT_EQ(loaded->rejected_rows, 1201U);
  EXPECT_EQ(count(infra_ref("rejected_row")), 1201);
  EXPECT_EQ(query("SELECT min(line_number), max(line_number), count(DISTINCT line_number) FROM " +
                      infra_ref("rejected_row"),
                  3),
            (std::vector<Row>{{Value("2"), Value("2402"), Value("1201")}}));
}

TEST_P(LoadContract, AWarehouseWithoutTheRejectedRowTableGetsItAtStart) {
  query("DROP TABLE " + infra_ref("rejected_row"), 0);
  ASSERT_FALSE(relation_exists(infra_ref("rejected_row")));

  reopen(default_layout());
  const auto loaded = m_warehouse->load_batch(
      request({put_file("a.gz", rows_text(0, 2) + k_bad_number + "\n")}, 0, 1));

  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(count(infra_ref("rejected_row")), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, LoadContract, ::testing::Values(k_sqlite, k_postgres),
                         backend_name);

} // namespace
} // namespace rsi::warehouse::testing
