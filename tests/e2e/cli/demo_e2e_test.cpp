// scripts/demo end to end, on a fresh data directory each time: it must exit 0 only when the
// warehouse holds exactly what it generated, whatever the machine's speed. The race it once had
// (the schema change and the version 1 files announced after the run had already stopped) is
// pinned by two variants besides the default: a fast machine (tiny files, everything loads at
// once) and a slow one (one load worker and a long age trigger, so the version 0 files still
// wait when the schema changes and the migrator has to drain them first). The test then reads
// the warehouse itself.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sqlite/database.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace rsi {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Variant {
  std::string name;
  int rows_per_file = 2000;
  std::string run_args; // Empty: the demo's own.

  friend void PrintTo(const Variant& variant, std::ostream* out) { *out << variant.name; }
};

std::int64_t scalar(sqlite::Database& db, const std::string& sql) {
  auto statement = db.prepare(sql);
  EXPECT_TRUE(statement) << sql << ": " << statement.error().message;
  if (!statement) {
    return -1;
  }
  auto row = statement->step();
  EXPECT_TRUE(row && *row) << sql;
  return row && *row ? statement->integer(0) : -1;
}

class DemoE2E : public ::testing::TestWithParam<Variant> {
protected:
  test::TempDir m_dir;
};

TEST_P(DemoE2E, LoadsExactlyWhatItGeneratedAndSaysSo) {
  const Variant& variant = GetParam();
  const fs::path data = m_dir.path("demo-data");
  std::map<std::string, std::string> env{{"RSI_DEMO_BIN", RSI_RS_INGESTER_BIN},
                                         {"RSI_DEMO_ROWS", std::to_string(variant.rows_per_file)}};
  if (!variant.run_args.empty()) {
    env["RSI_DEMO_RUN_ARGS"] = variant.run_args;
  }
  test::Process demo("/bin/bash", {RSI_DEMO_SCRIPT, data.string()}, m_dir.path("demo.log"), env);

  const auto status = demo.wait(600s);

  ASSERT_TRUE(status.has_value()) << "the demo did not finish in 10 minutes:\n" << demo.log_text();
  const std::string output = demo.log_text();
  ASSERT_EQ(*status, 0) << output;
  EXPECT_EQ(output.find("MISMATCH"), std::string::npos) << output;
  EXPECT_NE(
      output.find(fmt::format("21 files ({} rows) loaded and checked", 21 * variant.rows_per_file)),
      std::string::npos)
      << output;
  // The suggested query ran and printed both groups (with and without a referrer).
  EXPECT_NE(output.find("\n0|"), std::string::npos) << output;
  EXPECT_NE(output.find("\n1|"), std::string::npos) << output;

  auto warehouse = sqlite::Database::open(data / "warehouse.db");
  ASSERT_TRUE(warehouse) << warehouse.error().message;
  const std::int64_t rows = variant.rows_per_file;
  EXPECT_EQ(scalar(*warehouse, "SELECT count(*) FROM page_view"), 9 * rows);
  EXPECT_EQ(scalar(*warehouse, "SELECT count(*) FROM minute_watched"), 6 * rows);
  EXPECT_EQ(scalar(*warehouse, "SELECT count(*) FROM purchase"), 6 * rows);
  EXPECT_EQ(scalar(*warehouse,
                   "SELECT max(version) FROM \"infra.table_version\" WHERE name = 'page_view'"),
            1);
  EXPECT_GE(scalar(*warehouse, "SELECT count(*) FROM page_view WHERE referrer IS NULL"), 6 * rows)
      << "every version 0 row has no referrer";
  auto ingester = sqlite::Database::open(data / "ingester.db");
  ASSERT_TRUE(ingester) << ingester.error().message;
  EXPECT_EQ(scalar(*ingester, "SELECT count(*) FROM tsv"), 0);
  EXPECT_EQ(scalar(*ingester, "SELECT count(*) FROM loaded_key"), 21);
  std::size_t left_in_inbox = 0;
  for (const auto& entry : fs::recursive_directory_iterator(data / "inbox")) {
    left_in_inbox += entry.is_regular_file() ? 1 : 0;
  }
  EXPECT_EQ(left_in_inbox, 0U);
}

INSTANTIATE_TEST_SUITE_P(
    Speeds, DemoE2E,
    ::testing::Values(Variant{.name = "Default"},
                      // Every file loads before the schema changes.
                      Variant{.name = "FastMachine", .rows_per_file = 5},
                      // The version 0 files still wait when it changes.
                      Variant{.name = "SlowMachine",
                              .rows_per_file = 20000,
                              .run_args = "--workers 1 --listeners 1 --load-age 4 "
                                          "--load-count 100"}),
    [](const ::testing::TestParamInfo<Variant>& variant) { return variant.param.name; });

} // namespace
} // namespace rsi
