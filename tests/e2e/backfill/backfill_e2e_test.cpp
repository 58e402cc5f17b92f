// `rs_ingester backfill` as a process. Against the S3 emulator and a PostgreSQL ingester database
// (the daemons' form): 10,000 objects listed 9 keys a page (1,112 ListObjectsV2 calls), the
// process killed with SIGKILL midway and run again must leave every object recorded exactly
// once, and a third run records nothing. On a data directory (the embedded form): Ctrl-C stops
// after a page, says so, exits 5, and a rerun finishes.
#include <algorithm>
#include <csignal>
#include <fstream>
#include <regex>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/event_metadata.hpp"
#include "objectstore/s3_object_store.hpp"
#include "pg/connection.hpp"
#include "s3_test_support.hpp"
#include "sqlite/database.hpp"
#include "support/process.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"

namespace rsi {
namespace {

using namespace std::chrono_literals;

constexpr int k_tables = 10;
constexpr int k_objects = 10'000;
constexpr int k_page_size = 9;
constexpr int k_upload_threads = 8;

// The number after `label` in a backfill summary ("  recorded      123"), or -1.
std::int64_t summary_count(const std::string& output, const std::string& label) {
  const std::regex line("\n  " + label + " +([0-9]+)");
  std::smatch found;
  if (!std::regex_search(output, found, line)) {
    return -1;
  }
  return std::stoll(found[1].str());
}

// Everything the process printed since `offset` bytes of its log.
std::string output_since(const test::Process& process, std::size_t offset) {
  const std::string text = process.log_text();
  return offset < text.size() ? text.substr(offset) : std::string();
}

class BackfillE2eTest : public ::testing::Test {
protected:
  std::string write_event_metadata() {
    core::EventMetadata metadata;
    for (int table = 0; table < k_tables; ++table) {
      metadata.events[fmt::format("t{:02}", table)]["datastores"] = {.value = "ace"};
    }
    const auto path = m_dir.path("event-metadata.json");
    std::ofstream(path) << core::encode_event_metadata(metadata);
    return "file://" + path.string();
  }

  test::TempDir m_dir;
};

TEST_F(BackfillE2eTest, KilledMidwayAndRunAgainRecordsEveryObjectOnce) {
  const auto endpoint = test::s3_endpoint();
  const auto postgres = test::postgres_conninfo();
  RSI_REQUIRE_SERVICE(endpoint && postgres,
                      "S3 emulator and PostgreSQL (RSI_TEST_S3_ENDPOINT, RSI_TEST_PG)");
  test::PostgresSchema schema(*postgres);
  std::string bucket = test::unique_name("rsi-backfill"); // S3 names take '-', not '_'.
  std::replace(bucket.begin(), bucket.end(), '_', '-');
  ASSERT_TRUE(test::create_bucket(*endpoint, bucket));
  auto config = test::s3_test_config(bucket, 5U << 20U);
  config.prefix.clear();
  auto objects = objectstore::make_s3_object_store(config);
  ASSERT_TRUE(objects) << objects.error().message;
  std::vector<std::string> keys;
  std::set<std::string> expected;
  for (int index = 0; index < k_objects; ++index) {
    keys.push_back(fmt::format("events/t{:02}/v0/{:05}.gz", index % k_tables, index));
    expected.insert(bucket + "/" + keys.back());
  }
  const auto upload_start = std::chrono::steady_clock::now();
  ASSERT_TRUE(test::put_objects(**objects, keys, "x", k_upload_threads));
  std::printf(
      "uploaded %d objects in %.1f s\n", k_objects,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - upload_start).count());

  const std::vector<std::string> args = {
      "backfill",        "s3://" + bucket + "/events/", "--database-url",
      schema.conninfo(), "--event-metadata-url",        write_event_metadata(),
      "--route",         "events/{table}/v{version}/*"};
  const std::map<std::string, std::string> env = {{"AWS_ENDPOINT_URL_S3", *endpoint},
                                                  {"AWS_ACCESS_KEY_ID", "S3RVER"},
                                                  {"AWS_SECRET_ACCESS_KEY", "S3RVER"},
                                                  {"AWS_REGION", "us-east-1"}};
  const auto log = m_dir.path("backfill.log");
  const auto run = [&](int page_size) {
    std::vector<std::string> with_page = args;
    with_page.insert(with_page.end(), {"--page-size", std::to_string(page_size)});
    return std::make_unique<test::Process>(RSI_RS_INGESTER_BIN, with_page, log, env);
  };
  auto conn = pg::Connection::connect(schema.conninfo());
  ASSERT_TRUE(conn) << conn.error().message;
  const auto count = [&]() -> std::int64_t {
    auto rows = conn->exec("SELECT count(*) FROM tsv");
    return rows && !rows->empty() ? rows->integer(0, 0) : -1;
  };

  auto first = run(k_page_size);
  ASSERT_TRUE(test::eventually(180s, [&] { return count() >= k_objects / 3; }))
      << first->log_text();
  first->kill_hard();
  ASSERT_EQ(first->wait(10s), 128 + SIGKILL);
  const std::int64_t after_kill = count();
  EXPECT_LT(after_kill, k_objects);
  EXPECT_EQ(after_kill % k_page_size, 0) << "a page is recorded whole or not at all";

  std::size_t offset = first->log_text().size();
  const auto second_start = std::chrono::steady_clock::now();
  auto second = run(k_page_size);
  ASSERT_EQ(second->wait(300s), 0) << second->log_text();
  std::printf(
      "second run (%d pages) in %.1f s\n", (k_objects + k_page_size - 1) / k_page_size,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - second_start).count());
  const std::string second_output = output_since(*second, offset);
  EXPECT_EQ(summary_count(second_output, "recorded"), k_objects - after_kill) << second_output;
  EXPECT_EQ(summary_count(second_output, "already recorded"), after_kill) << second_output;
  EXPECT_NE(second_output.find(fmt::format("{} objects listed in {} pages", k_objects,
                                           (k_objects + k_page_size - 1) / k_page_size)),
            std::string::npos)
      << second_output;

  auto rows = conn->exec("SELECT keyname, count(*) FROM tsv GROUP BY keyname");
  ASSERT_TRUE(rows) << rows.error().message;
  std::set<std::string> recorded;
  for (int row = 0; row < rows->size(); ++row) {
    recorded.insert(rows->text(row, 0));
    EXPECT_EQ(rows->integer(row, 1), 1) << rows->text(row, 0);
  }
  EXPECT_EQ(recorded, expected);
  EXPECT_EQ(count(), k_objects);

  offset = second->log_text().size();
  auto third = run(1000);
  ASSERT_EQ(third->wait(120s), 0) << third->log_text();
  const std::string third_output = output_since(*third, offset);
  EXPECT_EQ(summary_count(third_output, "recorded"), 0) << third_output;
  EXPECT_EQ(summary_count(third_output, "already recorded"), k_objects) << third_output;
  EXPECT_EQ(count(), k_objects);
}

TEST_F(BackfillE2eTest, CtrlCStopsAfterAPageAndARerunFinishes) {
  constexpr int k_local_objects = 2'000;
  const auto data = m_dir.path("data");
  std::filesystem::create_directories(data / "schemas/clicks");
  std::ofstream(data / "schemas/clicks/v0.json") << "{}";
  // Laid out as `rs_ingester load` stores files: objects/<bucket>/<table>/v<version>/<file>.
  std::filesystem::create_directories(data / "objects/local/clicks/v0");
  for (int index = 0; index < k_local_objects; ++index) {
    std::ofstream(data / fmt::format("objects/local/clicks/v0/{:05}.gz", index)) << "x";
  }
  const std::vector<std::string> args = {"backfill",    (data / "objects/local").string(),
                                         "--data-dir",  data.string(),
                                         "--page-size", "2"};
  const auto count = [&]() -> std::int64_t {
    auto db = sqlite::Database::open(data / "ingester.db");
    if (!db) {
      return -1;
    }
    auto statement = db->prepare("SELECT count(*) FROM tsv");
    return statement && statement->step().value_or(false) ? statement->integer(0) : -1;
  };

  test::Process first(RSI_RS_INGESTER_BIN, args, m_dir.path("first.log"));
  ASSERT_TRUE(test::eventually(60s, [&] { return count() >= 100; })) << first.log_text();
  first.signal(SIGINT);
  const auto status = first.wait(30s);

  ASSERT_EQ(status, 5) << first.log_text();
  EXPECT_NE(first.log_text().find(", interrupted\n"), std::string::npos) << first.log_text();
  EXPECT_NE(first.log_text().find("run the same command again to finish"), std::string::npos);
  const std::int64_t recorded = summary_count(first.log_text(), "recorded");
  EXPECT_EQ(recorded, count()) << "the summary counts what was committed";

  test::Process second(RSI_RS_INGESTER_BIN, args, m_dir.path("second.log"));
  ASSERT_EQ(second.wait(120s), 0) << second.log_text();
  EXPECT_EQ(summary_count(second.log_text(), "recorded"), k_local_objects - recorded);
  EXPECT_EQ(count(), k_local_objects);
}

} // namespace
} // namespace rsi
