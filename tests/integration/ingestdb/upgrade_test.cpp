// A database created by the original rs_ingester (with rows, a batch in flight and a failed
// one) is upgraded at start and keeps every row and claim.
#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "ingestdb/migrations.hpp"
#include "ingestdb/postgres_ingest_db.hpp"
#include "pg/connection.hpp"
#include "support/services.hpp"

namespace rsi::ingestdb {
namespace {

using namespace std::chrono_literals;

constexpr auto k_in_flight = "11111111-1111-4111-8111-111111111111";
constexpr auto k_failed = "22222222-2222-4222-8222-222222222222";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class UpgradeTest : public ::testing::Test {
protected:
  void SetUp() override {
    const auto base = test::postgres_conninfo();
    RSI_REQUIRE_SERVICE(base.has_value(), "PostgreSQL (RSI_TEST_PG)");
    m_schema.emplace(*base);
    auto conn = pg::Connection::connect(m_schema->conninfo());
    ASSERT_TRUE(conn) << conn.error().message;
    m_conn.emplace(std::move(*conn));
    ASSERT_TRUE(m_conn->exec_script(read_file(RSI_ORIGINAL_INIT_SQL)));
    ASSERT_TRUE(m_conn->exec_script(fmt::format(R"sql(
      INSERT INTO manifest (uuid, retry_ts, retry_count, last_error) VALUES
        ('{0}', NULL, 0, NULL),
        ('{1}', '2016-07-29 23:00:00', 2, 'S3ServiceException: Access Denied');
      INSERT INTO tsv (tablename, keyname, tableversion, ts, manifest_uuid) VALUES
        ('minute-watched', 'b/mw/1.gz', 0, '2016-07-29 22:00:00', '{0}'),
        ('minute-watched', 'b/mw/2.gz', 0, '2016-07-29 22:00:01', '{0}'),
        ('video_play', 'b/vp/1.gz', 3, '2016-07-29 22:10:00', '{1}'),
        ('minute-watched', 'b/mw/3.gz', 0, '2016-07-29 22:20:00', NULL),
        ('oauth_authorize', 'b/oa/1.gz', 1, '2016-07-29 22:30:00', NULL),
        ('oauth_authorize', 'b/oa/2.gz', 2, '2016-07-29 22:31:00', NULL);
      INSERT INTO force_load (tablename, requester, ts, started) VALUES
        ('video_play', 'blueprint', '2016-07-29 21:00:00', '2016-07-29 21:01:00'),
        ('oauth_authorize', 'migrator', '2016-07-29 22:40:00', NULL);
      INSERT INTO last_load (tablename, last_loaded) VALUES ('minute-watched', '2016-07-29 21:30:00');
    )sql",
                                                k_in_flight, k_failed)));
  }

  std::int64_t count(const std::string& sql) {
    auto rows = m_conn->exec(sql);
    EXPECT_TRUE(rows) << rows.error().message;
    return rows ? rows->integer(0, 0) : -1;
  }

  std::optional<test::PostgresSchema> m_schema;
  std::optional<pg::Connection> m_conn;
};

TEST_F(UpgradeTest, KeepsEveryRowAndClaim) {
  auto store = make_postgres_ingest_db({.conninfo = m_schema->conninfo()});
  ASSERT_TRUE(store) << store.error().message;

  EXPECT_EQ(count("SELECT count(*) FROM tsv"), 6);
  EXPECT_EQ(count(fmt::format("SELECT count(*) FROM tsv WHERE manifest_uuid = '{}'", k_in_flight)),
            2);
  EXPECT_EQ(count(fmt::format("SELECT count(*) FROM tsv WHERE manifest_uuid = '{}'", k_failed)), 1);
  EXPECT_EQ(count("SELECT count(*) FROM manifest"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM force_load"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM tsv_duplicate"), 0);

  // The batch the original left in flight is an orphan, with its table and files.
  const TimePoint now = std::chrono::system_clock::now();
  const auto orphans = (*store)->orphaned_batches(now).value();
  ASSERT_EQ(orphans.size(), 1U);
  EXPECT_EQ(orphans[0].manifest, k_in_flight);
  EXPECT_EQ(orphans[0].table, "minute-watched");
  EXPECT_EQ(orphans[0].keys, (std::vector<std::string>{"b/mw/1.gz", "b/mw/2.gz"}));

  // The failed batch keeps its retry state and error.
  const auto retry = (*store)->claim_retryable_batch(5, 600s, now).value();
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->manifest, k_failed);
  EXPECT_EQ(retry->table, "video_play");
  EXPECT_EQ(retry->version, 3);
  EXPECT_EQ(retry->retry_count, 3);
  EXPECT_EQ(retry->last_error.value_or(""), "S3ServiceException: Access Denied");

  // Pending files, force loads and last loads read as before.
  EXPECT_EQ((*store)->pending_versions().value(),
            (VersionMap{{"minute-watched", 0}, {"oauth_authorize", 2}, {"video_play", 3}}));
  EXPECT_TRUE((*store)->force_load_requested("oauth_authorize").value());
  EXPECT_FALSE((*store)->force_load_requested("video_play").value());
  EXPECT_EQ((*store)->last_loads().value().count("minute-watched"), 1U);

  // New pointers of files the original already holds are recognised.
  EXPECT_EQ(
      (*store)->record_file({.key_name = "b/mw/3.gz", .table = "minute-watched"}, now).value(),
      RecordOutcome::already_pending);

  // The orphan resolves like any batch: completing it clears its files and sets last_load.
  ASSERT_TRUE((*store)->complete_batch(k_in_flight, now).value());
  EXPECT_EQ(count("SELECT count(*) FROM tsv"), 4);
}

TEST_F(UpgradeTest, FilesTheOriginalRecordsAfterTheUpgradeAreClaimed) {
  auto store = make_postgres_ingest_db({.conninfo = m_schema->conninfo()});
  ASSERT_TRUE(store) << store.error().message;
  // The original metadatastorer, still running during a rolling upgrade, writes its rows itself,
  // one statement each.
  for (int index = 0; index < 6; ++index) {
    ASSERT_TRUE(m_conn->exec(
        "INSERT INTO tsv (tablename, keyname, tableversion, ts) VALUES ('clicks', $1, 0, $2)",
        {fmt::format("b/clicks/{}.gz", index), "2016-07-30 00:00:00"}));
  }
  const TimePoint now = std::chrono::system_clock::now();
  const ClaimPolicy policy{.count_trigger = 5, .age_trigger = 1800s};
  EXPECT_EQ((*store)->pending_versions().value(),
            (VersionMap{
                {"clicks", 0}, {"minute-watched", 0}, {"oauth_authorize", 2}, {"video_play", 3}}));
  const auto claimed = (*store)->claim_batch({{"clicks", 0}}, policy, now).value();
  ASSERT_TRUE(claimed.batch);
  EXPECT_EQ(claimed.batch->table, "clicks");
  EXPECT_EQ(claimed.batch->keys.size(), 6U);
  // Claimed: not waiting any more, once the claim's change is folded into the summary.
  EXPECT_EQ(count("SELECT rsi_fold_pending()"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM pending_group WHERE tablename = 'clicks'"), 0);
}

TEST_F(UpgradeTest, DuplicateKeysOfTheOriginalAreSetAsideNotLost) {
  ASSERT_TRUE(m_conn->exec_script(fmt::format(R"sql(
    INSERT INTO tsv (tablename, keyname, tableversion, ts, manifest_uuid) VALUES
      ('minute-watched', 'b/mw/3.gz', 0, '2016-07-29 22:21:00', NULL),
      ('minute-watched', 'b/mw/1.gz', 0, '2016-07-29 22:22:00', NULL);
    INSERT INTO force_load (tablename, requester, ts, started) VALUES
      ('oauth_authorize', 'operator', '2016-07-29 22:45:00', NULL);
    INSERT INTO last_load (tablename, last_loaded) VALUES ('minute-watched', '2016-07-29 21:45:00');
  )sql")));
  auto store = make_postgres_ingest_db({.conninfo = m_schema->conninfo()});
  ASSERT_TRUE(store) << store.error().message;

  EXPECT_EQ(count("SELECT count(*) FROM tsv"), 6);
  EXPECT_EQ(count("SELECT count(*) FROM tsv_duplicate"), 2);
  // The copy already in a batch wins over a later pending copy.
  EXPECT_EQ(count(fmt::format(
                "SELECT count(*) FROM tsv WHERE keyname = 'b/mw/1.gz' AND manifest_uuid = '{}'",
                k_in_flight)),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM force_load"), 3)
      << "duplicate requests are merged, not deleted";
  EXPECT_EQ(count("SELECT count(*) FROM force_load WHERE started IS NULL"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM last_load"), 1);
  const auto loads = (*store)->last_loads().value();
  EXPECT_EQ(to_sql_timestamp(loads.at("minute-watched")), "2016-07-29 21:45:00.000000");
}

TEST_F(UpgradeTest, MigrationsRunOnceAcrossConcurrentStarts) {
  std::vector<std::thread> starters;
  std::atomic<int> ok{0};
  for (int index = 0; index < 4; ++index) {
    starters.emplace_back([&] {
      if (make_postgres_ingest_db({.conninfo = m_schema->conninfo()})) {
        ok.fetch_add(1);
      }
    });
  }
  for (auto& starter : starters) {
    starter.join();
  }
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(count("SELECT count(*) FROM rsi_schema_migrations"),
            static_cast<std::int64_t>(k_postgres_migrations.size()));
}

} // namespace
} // namespace rsi::ingestdb
