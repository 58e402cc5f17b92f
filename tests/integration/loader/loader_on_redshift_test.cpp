// The loader driving the Redshift backend when a load fails for a file's data, end to end: the
// real Loader, a real ingester database (SQLite), and the real Redshift warehouse on PostgreSQL
// dressed as Redshift (tests/support/redshift_shims.hpp), with its manifest objects in a local
// store. Only the COPY from S3 is faked (PostgreSQL cannot run it): test::FakeRedshiftCopy reads
// the manifest the backend wrote, inserts one row per file into the event table (naming the
// file, so the rows show which files committed) and fails for a manifest listing a bad file,
// with rows in STL_LOAD_ERRORS naming it (the file is set aside, the rest loads in one more
// COPY) or with nothing logged (the loader finds it by loading halves). A failure that is not
// the data's is retried, never set aside. The objects the manifests list need not exist.

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ingestdb/sqlite_ingest_db.hpp"
#include "loader/loader.hpp"
#include "objectstore/local_object_store.hpp"
#include "pg/connection.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_redshift_copy.hpp"
#include "support/redshift_shims.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"
#include "warehouse/redshift_warehouse.hpp"

namespace rsi::loader {
namespace {

using namespace std::chrono_literals;

constexpr int k_files = 8;

core::Operation add(std::string name, std::string type, std::string options = "") {
  return {.action = core::Action::add,
          .name = std::move(name),
          .column_type = std::move(type),
          .column_options = std::move(options)};
}

std::string url_of(const std::string& key) { return "s3://" + key; }

class LoaderOnRedshiftTest : public ::testing::Test {
protected:
  void SetUp() override {
    const auto base = test::postgres_conninfo();
    RSI_REQUIRE_SERVICE(base.has_value(), "PostgreSQL (RSI_TEST_PG)");
    m_database.emplace(*base);
    auto admin = pg::Connection::connect(m_database->conninfo());
    ASSERT_TRUE(admin) << admin.error().message;
    m_admin.emplace(std::move(*admin));
    ASSERT_TRUE(m_admin->exec_script(test::k_redshift_shims));
    auto manifests = objectstore::make_local_object_store({.root = m_dir.path("manifests")});
    ASSERT_TRUE(manifests) << manifests.error().message;
    m_manifests = std::move(*manifests);
    m_copy.emplace(*m_admin, *m_manifests);
    m_copy->insert_row = "INSERT INTO logs.events (file) VALUES ($1)";
    auto warehouse = warehouse::make_redshift_warehouse(
        {.conninfo = m_database->conninfo(),
         .manifests = m_manifests.get(),
         .manifest_bucket = "manifests",
         .iam_role = "arn:aws:iam::123456789012:role/loader",
         .run_copy_for_test = [this](pg::Connection& conn, const warehouse::CopyCall& call) {
           return (*m_copy)(conn, call);
         }});
    ASSERT_TRUE(warehouse) << warehouse.error().message;
    m_warehouse = std::move(*warehouse);
    const std::vector<core::Operation> columns{add("time", "f@timestamp@unix"),
                                               add("file", "varchar", "(256)"), add("n", "bigint")};
    const auto created = m_warehouse->apply_migration("events", 0, columns, 1min);
    ASSERT_TRUE(created) << created.error().message;
    auto store = ingestdb::make_sqlite_ingest_db({.path = m_dir.path("ingester.db")});
    ASSERT_TRUE(store) << store.error().message;
    m_store = std::move(*store);
    m_config.transient_backoff = {.initial_delay = 1ms, .max_delay = 5ms, .max_attempts = 0};
    m_loader = make_loader();
  }

  std::unique_ptr<Loader> make_loader() {
    return std::make_unique<Loader>(
        *m_store,
        [this] {
          return std::make_shared<const ingestdb::VersionMap>(
              m_warehouse->table_versions().value_or(warehouse::TableVersions{}));
        },
        m_clock, m_metrics, m_config);
  }

  // Records `k_files` pointers of table events (enough for a batch); returns their KeyNames.
  std::vector<std::string> add_files() {
    std::vector<std::string> keys;
    for (int index = 0; index < k_files; ++index) {
      keys.push_back(fmt::format("spade/events/f{}.gz", index));
      const auto recorded =
          m_store->record_file({.key_name = keys.back(), .table = "events"}, m_clock.now());
      EXPECT_EQ(recorded ? ingestdb::to_string(*recorded) : recorded.error().message, "recorded");
    }
    return keys;
  }

  bool work() { return m_loader->work_once(*m_warehouse, {}); }

  // Work steps until one finds nothing to do; false when `limit` steps all did work.
  bool work_until_idle(int limit = 50) {
    for (int step = 0; step < limit; ++step) {
      if (!work()) {
        return true;
      }
    }
    return false;
  }

  std::int64_t count(const std::string& sql) {
    const auto rows = m_admin->exec(sql);
    EXPECT_TRUE(rows) << rows.error().message;
    return rows && !rows->empty() ? rows->integer(0, 0) : -1;
  }

  // The ledger's file_count of each committed batch.
  std::vector<std::int64_t> ledger_file_counts() {
    const auto rows =
        m_admin->exec("SELECT file_count FROM infra.load_manifest ORDER BY loaded_at");
    EXPECT_TRUE(rows) << rows.error().message;
    std::vector<std::int64_t> counts;
    for (int row = 0; rows && row < rows->size(); ++row) {
      counts.push_back(rows->integer(row, 0));
    }
    return counts;
  }

  // How many committed rows of the event table each file has.
  std::map<std::string, int> committed_rows_by_file() {
    const auto rows = m_admin->exec("SELECT file, count(*) FROM logs.events GROUP BY file");
    EXPECT_TRUE(rows) << rows.error().message;
    std::map<std::string, int> by_file;
    for (int row = 0; rows && row < rows->size(); ++row) {
      by_file[rows->text(row, 0)] = static_cast<int>(rows->integer(row, 1));
    }
    return by_file;
  }

  // How many COPYs that succeeded listed each file.
  std::map<std::string, int> copied_by_file() const {
    std::map<std::string, int> by_file;
    for (const test::CopyRun& copy : m_copy->copies) {
      for (const std::string& url : copy.urls) {
        by_file[url] += copy.succeeded ? 1 : 0;
      }
    }
    std::erase_if(by_file, [](const auto& entry) { return entry.second == 0; });
    return by_file;
  }

  // Each of `keys` but `bad`, once: the files that must have loaded exactly once.
  static std::map<std::string, int> once_each_but(const std::vector<std::string>& keys,
                                                  const std::string& bad) {
    std::map<std::string, int> expected;
    for (const std::string& key : keys) {
      if (key != bad) {
        expected[url_of(key)] = 1;
      }
    }
    return expected;
  }

  // Nothing is left to load or to retry, and the good files are remembered as loaded (a
  // redelivered pointer is not loaded again).
  void expect_settled(const std::vector<std::string>& keys, const std::string& bad) {
    EXPECT_TRUE(m_store->stale_batches(0).value().empty()) << "no batch waits for a retry";
    EXPECT_TRUE(m_store->in_flight_batches(m_clock.now()).value().empty());
    EXPECT_TRUE(m_store->pending_versions().value().empty()) << "no pending file left";
    for (const std::string& key : keys) {
      if (key != bad) {
        const auto again =
            m_store->record_file({.key_name = key, .table = "events"}, m_clock.now());
        EXPECT_EQ(again ? ingestdb::to_string(*again) : again.error().message, "recently_loaded")
            << key;
      }
    }
  }

  test::TempDir m_dir;
  test::FakeClock m_clock;
  telemetry::Metrics m_metrics{"ingester"};
  LoaderConfig m_config;
  std::optional<test::PostgresDatabase> m_database;
  std::optional<pg::Connection> m_admin;
  std::unique_ptr<objectstore::ObjectStore> m_manifests;
  std::optional<test::FakeRedshiftCopy> m_copy;
  std::unique_ptr<warehouse::Warehouse> m_warehouse;
  std::unique_ptr<ingestdb::IngestDb> m_store;
  std::unique_ptr<Loader> m_loader;
};

TEST_F(LoaderOnRedshiftTest, AFileStlLoadErrorsNamesIsQuarantinedAndTheRestLoadsInOneMoreCopy) {
  const std::vector<std::string> keys = add_files();
  const std::string bad = keys[5];
  m_copy->bad = {{.url = url_of(bad),
                  .line = 17,
                  .column = "n",
                  .code = 1207,
                  .reason = "Invalid digit, Value 'x', Pos 0, Type: Long"}};

  EXPECT_TRUE(work());

  ASSERT_EQ(m_copy->copies.size(), 2U) << "the failed COPY, then the other files";
  EXPECT_EQ(m_copy->copies[0].urls.size(), 8U);
  EXPECT_FALSE(m_copy->copies[0].succeeded);
  EXPECT_EQ(m_copy->copies[1].urls.size(), 7U);
  EXPECT_TRUE(m_copy->copies[1].succeeded);
  const auto quarantined = m_store->quarantined_files(10).value();
  ASSERT_EQ(quarantined.size(), 1U);
  EXPECT_EQ(quarantined.front().key, bad);
  EXPECT_EQ(quarantined.front().table, "events");
  EXPECT_EQ(quarantined.front().kind, "bad_value");
  EXPECT_EQ(quarantined.front().line, 17);
  EXPECT_EQ(quarantined.front().column, 3);
  EXPECT_NE(quarantined.front().error.find("s3://spade/events/f5.gz line 17 column 3 (\"n\")"),
            std::string::npos)
      << quarantined.front().error;
  EXPECT_NE(quarantined.front().error.find("(Redshift load error 1207)"), std::string::npos);
  EXPECT_EQ(ledger_file_counts(), (std::vector<std::int64_t>{7}));
  EXPECT_EQ(committed_rows_by_file(), once_each_but(keys, bad));
  EXPECT_EQ(count("SELECT count(*) FROM stl_load_errors"), 1) << "only the failed COPY logged";
  EXPECT_FALSE(work()) << "nothing left";
  EXPECT_EQ(m_copy->copies.size(), 2U);
  expect_settled(keys, bad);
}

// Redshift said "data failure" and logged nothing: the loader loads halves until the bad file is
// alone, wherever it is in the batch (the parameter: its position among the 8 files).
class LoaderOnRedshiftBisectTest : public LoaderOnRedshiftTest,
                                   public ::testing::WithParamInterface<int> {
protected:
  // Records the files, makes the parameter's one fail without a logged row, and works until
  // idle; returns the files' keys.
  std::vector<std::string> bisect() {
    const std::vector<std::string> keys = add_files();
    m_bad = keys[static_cast<std::size_t>(GetParam())];
    m_copy->bad = {{.url = url_of(m_bad), .line = 3, .logged = false}};
    EXPECT_TRUE(work_until_idle()) << "the loader keeps working";
    return keys;
  }

  std::string m_bad;
};

TEST_P(LoaderOnRedshiftBisectTest, AFileNothingNamesIsQuarantinedAloneAndTheRestLoadsOnce) {
  const std::vector<std::string> keys = bisect();

  const auto quarantined = m_store->quarantined_files(10).value();
  ASSERT_EQ(quarantined.size(), 1U);
  EXPECT_EQ(quarantined.front().key, m_bad);
  EXPECT_EQ(quarantined.front().kind, "rejected");
  EXPECT_EQ(quarantined.front().line, 0) << "nothing said which line";
  EXPECT_NE(quarantined.front().error.find("Load into table 'events' failed"), std::string::npos)
      << quarantined.front().error;
  const std::vector<std::int64_t> ledger = ledger_file_counts();
  EXPECT_EQ(std::accumulate(ledger.begin(), ledger.end(), std::int64_t{0}), 7);
  EXPECT_EQ(committed_rows_by_file(), once_each_but(keys, m_bad));
  EXPECT_EQ(copied_by_file(), once_each_but(keys, m_bad)) << "no file in two successful COPYs";
  const auto succeeded = std::ranges::count_if(
      m_copy->copies, [](const test::CopyRun& copy) { return copy.succeeded; });
  EXPECT_EQ(static_cast<std::size_t>(succeeded), ledger.size())
      << "every successful COPY committed";
  EXPECT_EQ(count("SELECT count(*) FROM stl_load_errors"), 0) << "Redshift logged nothing";
  expect_settled(keys, m_bad);
}

// The bisection's bound, for the bad file at every position: the half of a split batch that is
// not loaded at once stays a batch of its own (it is not merged with other pending files, which
// would make the next claim bisect a larger batch again: 10 COPYs for the bad file 4th of 8, 28
// for 64 files, before the halves were kept apart).
TEST_P(LoaderOnRedshiftBisectTest, FindsTheFileInAtMostTwiceLog2NPlusTwoCopies) {
  bisect();

  ASSERT_EQ(m_store->quarantined_files(10).value().size(), 1U);
  EXPECT_LE(m_copy->copies.size(), 2U * 3U + 2U) << "at most 2 x ceil(log2 8) + 2 COPYs";
}

std::string bad_file_name(const ::testing::TestParamInfo<int>& param) {
  return fmt::format("file_{}", param.param);
}

INSTANTIATE_TEST_SUITE_P(BadFileAt, LoaderOnRedshiftBisectTest, ::testing::Range(0, k_files),
                         bad_file_name);

TEST_F(LoaderOnRedshiftTest, AFailureThatIsNotTheDatasIsRetriedThenStaleNeverQuarantined) {
  m_config.max_load_retry = 2;
  m_config.error_retry_delay = 600s;
  m_loader = make_loader();
  const std::vector<std::string> keys = add_files();
  m_copy->failure =
      test::CopyFailure{.message = "permission denied for relation events", .sqlstate = "42501"};

  EXPECT_TRUE(work());

  ASSERT_EQ(m_copy->copies.size(), 1U) << "not split: one COPY of the whole batch";
  const auto failed = m_store->stale_batches(0).value();
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_EQ(failed.front().keys.size(), 8U);
  EXPECT_NE(failed.front().last_error.value_or("").find("permission denied"), std::string::npos);
  EXPECT_TRUE(m_store->quarantined_files(10).value().empty()) << "never quarantined";

  // Retried after error_retry_delay, up to max_load_retry, then stale.
  for (int retry = 1; retry <= 2; ++retry) {
    m_clock.advance(601s);
    EXPECT_TRUE(work()) << "retry " << retry;
  }
  m_clock.advance(601s);
  EXPECT_FALSE(work()) << "stale: not retried";
  EXPECT_EQ(m_copy->copies.size(), 3U);
  const auto stale = m_store->stale_batches(2).value();
  ASSERT_EQ(stale.size(), 1U);
  EXPECT_EQ(stale.front().manifest, failed.front().manifest);
  EXPECT_EQ(stale.front().keys.size(), 8U);
  EXPECT_TRUE(m_store->quarantined_files(10).value().empty()) << "never quarantined";
  EXPECT_TRUE(ledger_file_counts().empty());
  EXPECT_TRUE(committed_rows_by_file().empty());

  // The privilege is granted and the operator retries the stale batch: it loads, whole, once.
  m_copy->failure.reset();
  ASSERT_TRUE(m_store->retry_batch(failed.front().manifest, m_clock.now()).value());
  m_clock.advance(61s);
  EXPECT_TRUE(work());
  EXPECT_EQ(ledger_file_counts(), (std::vector<std::int64_t>{8}));
  EXPECT_EQ(committed_rows_by_file(), once_each_but(keys, ""));
  expect_settled(keys, "");
}

} // namespace
} // namespace rsi::loader
