// Load workers against the embedded backends (SQLite ingester database and warehouse, a local
// object store) with an injected clock: triggers, the failure policy by error kind, orphans
// resolved through the ledger, and retries that never load a batch twice.
#include "loader/loader.hpp"

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "common/gzip.hpp"
#include "ingestdb/sqlite_ingest_db.hpp"
#include "objectstore/local_object_store.hpp"
#include "sqlite/database.hpp"
#include "support/fake_clock.hpp"
#include "support/forwarding_ingest_db.hpp"
#include "support/temp_dir.hpp"
#include "telemetry/names.hpp"
#include "warehouse/sqlite_warehouse.hpp"

namespace rsi::loader {
namespace {

using namespace std::chrono_literals;

// Forwards to a real warehouse; load_batch can be made to fail transiently a number of times.
class FlakyWarehouse final : public warehouse::Warehouse {
public:
  explicit FlakyWarehouse(warehouse::Warehouse& real) : m_real(real) {}
  int transient_failures = 0;
  int permanent_failures = 0;
  // A batch holding this key fails as a data failure whose file the warehouse cannot name (as
  // Redshift when its load-error tables say nothing), before anything is loaded.
  std::string unnamed_bad_key;
  int loads = 0;
  std::function<void(const warehouse::LoadRequest&)> during_load; // Runs before each load.

  Result<warehouse::TableVersions> table_versions() override { return m_real.table_versions(); }
  Result<bool> table_exists(std::string_view table) override { return m_real.table_exists(table); }
  Result<bool> table_locked(std::string_view table) override { return m_real.table_locked(table); }
  Result<void> apply_migration(std::string_view table, int target,
                               std::span<const core::Operation> operations,
                               std::chrono::milliseconds timeout) override {
    return m_real.apply_migration(table, target, operations, timeout);
  }
  Result<std::vector<std::string>>
  migration_statements(std::string_view table, int target,
                       std::span<const core::Operation> operations) override {
    return m_real.migration_statements(table, target, operations);
  }
  Result<int> increment_version(std::string_view table) override {
    return m_real.increment_version(table);
  }
  Result<std::vector<std::string>> repair_views() override { return m_real.repair_views(); }
  warehouse::LoadOutcome<warehouse::LoadResult>
  load_batch(const warehouse::LoadRequest& request) override {
    ++loads;
    if (during_load) {
      during_load(request);
    }
    if (transient_failures > 0) {
      --transient_failures;
      return fail(ErrorKind::transient, "connect to warehouse: connection refused");
    }
    if (permanent_failures > 0) {
      --permanent_failures;
      return fail(ErrorKind::permanent, "permission denied for table events");
    }
    for (const auto& file : request.files) {
      if (!unnamed_bad_key.empty() && file.bucket + "/" + file.key == unnamed_bad_key) {
        return std::unexpected(warehouse::LoadError(
            {ErrorKind::permanent, "Load into table 'events' failed"}, std::nullopt));
      }
    }
    return m_real.load_batch(request);
  }
  Result<core::LoadStatus> check_load(std::string_view uuid) override {
    return m_real.check_load(uuid);
  }
  Result<void> ping() override { return m_real.ping(); }

private:
  warehouse::Warehouse& m_real;
};

core::Operation add(std::string name, std::string type, std::string options = "") {
  return {.action = core::Action::add,
          .name = std::move(name),
          .inbound = "",
          .column_type = std::move(type),
          .column_options = std::move(options)};
}

class LoaderTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto objects = objectstore::make_local_object_store({.root = m_dir.path("objects")});
    ASSERT_TRUE(objects) << objects.error().message;
    m_objects = std::move(*objects);
    auto store = ingestdb::make_sqlite_ingest_db({.path = m_dir.path("ingester.db")});
    ASSERT_TRUE(store) << store.error().message;
    m_store = std::move(*store);
    auto warehouse = warehouse::make_sqlite_warehouse(
        {.path = m_dir.path("warehouse.db"),
         .files = warehouse::locate_in_bucket_folders(*m_objects)});
    ASSERT_TRUE(warehouse) << warehouse.error().message;
    m_real_warehouse = std::move(*warehouse);
    m_warehouse = std::make_unique<FlakyWarehouse>(*m_real_warehouse);
    for (const char* table : {"events", "other"}) {
      const std::vector<core::Operation> columns{
          add("time", "f@timestamp@unix"), add("name", "varchar", "(16)"), add("n", "bigint")};
      ASSERT_TRUE(m_real_warehouse->apply_migration(table, 0, columns, 1min));
    }
    m_config.transient_backoff = {.initial_delay = 1ms, .max_delay = 5ms, .max_attempts = 0};
    m_loader = make_loader();
  }

  std::unique_ptr<Loader> make_loader() {
    return std::make_unique<Loader>(
        *m_store,
        [this] {
          return std::make_shared<const ingestdb::VersionMap>(
              m_real_warehouse->table_versions().value_or(warehouse::TableVersions{}));
        },
        m_clock, m_metrics, m_config);
  }

  // A gzip file of `rows` rows at bucket/<table>/<name>, announced to the ingester database.
  void add_file(const std::string& table, const std::string& name, int rows,
                const std::string& bad_line = "") {
    std::string text;
    for (int row = 0; row < rows; ++row) {
      text += fmt::format("2016-07-29 22:52:{:02}\t{}-{}\t{}\n", row % 60, name, row, row);
    }
    text += bad_line;
    const std::string key = fmt::format("bucket/{}/{}.gz", table, name);
    ASSERT_TRUE(m_objects->put(key, gzip(text).value()));
    const auto recorded =
        m_store->record_file({.key_name = key, .table = table, .version = 0}, m_clock.now());
    ASSERT_TRUE(recorded) << recorded.error().message;
  }

  std::int64_t rows(const std::string& table) {
    auto db = sqlite::Database::open(m_dir.path("warehouse.db"));
    auto stmt = db->prepare(
        fmt::format("SELECT count(*) FROM {}", sqlite::Database::quote_identifier(table)));
    EXPECT_TRUE(stmt && stmt->step().value_or(false));
    return stmt ? stmt->integer(0) : -1;
  }

  bool work() { return m_loader->work_once(*m_warehouse, {}); }

  test::TempDir m_dir;
  test::FakeClock m_clock;
  telemetry::Metrics m_metrics{"ingester"};
  LoaderConfig m_config;
  std::unique_ptr<objectstore::ObjectStore> m_objects;
  std::unique_ptr<ingestdb::IngestDb> m_store;
  std::unique_ptr<warehouse::Warehouse> m_real_warehouse;
  std::unique_ptr<FlakyWarehouse> m_warehouse;
  std::unique_ptr<Loader> m_loader;
};

TEST_F(LoaderTest, LoadsAnEligibleBatchOnceAndMarksItDone) {
  for (int file = 0; file < 6; ++file) {
    add_file("events", fmt::format("f{}", file), 10);
  }
  EXPECT_TRUE(work());
  EXPECT_EQ(rows("events"), 60);
  EXPECT_TRUE(m_store->pending_versions().value().empty());
  EXPECT_EQ(m_store->last_loads().value().count("events"), 1U);
  EXPECT_FALSE(work()) << "nothing left";
  EXPECT_EQ(rows("events"), 60);
  EXPECT_NE(m_metrics.prometheus_text().find("rsi_tsv_files_loaded_total{table=\"events\"} 6"),
            std::string::npos);
}

TEST_F(LoaderTest, CountAgeAndForceLoadTriggers) {
  add_file("events", "a", 1);
  EXPECT_FALSE(work()) << "one file, young: not eligible";
  m_clock.advance(1801s);
  EXPECT_TRUE(work()) << "old enough";
  add_file("other", "b", 1);
  add_file("events", "c", 1);
  ASSERT_TRUE(m_store->request_force_load("events", "test", m_clock.now()));
  EXPECT_TRUE(work());
  EXPECT_EQ(rows("events"), 2) << "the force load went first";
  EXPECT_EQ(rows("other"), 0);
}

TEST_F(LoaderTest, ABadFileIsQuarantinedAndTheRestOfItsBatchLoadsAtOnce) {
  add_file("events", "good1", 5);
  add_file("events", "good2", 5);
  add_file("events", "bad", 3, "2016-07-29 22:52:00\tname\tnot-a-number\n");
  ASSERT_TRUE(m_store->request_force_load("events", "test", m_clock.now()));
  EXPECT_TRUE(work());
  EXPECT_EQ(rows("events"), 10) << "the good files load in the same work step";
  EXPECT_EQ(m_warehouse->loads, 2) << "the failed load, then the rest";
  EXPECT_TRUE(m_store->stale_batches(0).value().empty()) << "nothing waits for a retry";

  const auto quarantined = m_store->quarantined_files(10).value();
  ASSERT_EQ(quarantined.size(), 1U);
  const ingestdb::QuarantinedFile& file = quarantined.front();
  EXPECT_EQ(file.key, "bucket/events/bad.gz");
  EXPECT_EQ(file.table, "events");
  EXPECT_EQ(file.kind, "bad_value");
  EXPECT_EQ(file.line, 4);
  EXPECT_EQ(file.column, 3);
  EXPECT_EQ(file.attempts, 1);
  EXPECT_NE(file.error.find("bucket/events/bad.gz line 4 column 3"), std::string::npos)
      << file.error;
  EXPECT_NE(m_metrics.prometheus_text().find(
                R"(rsi_files_quarantined_total{table="events",kind="bad_value"} 1)"),
            std::string::npos)
      << m_metrics.prometheus_text();

  // Later files of the table keep flowing.
  add_file("events", "later", 2);
  ASSERT_TRUE(m_store->request_force_load("events", "test", m_clock.now()));
  EXPECT_TRUE(work());
  EXPECT_EQ(rows("events"), 12);

  // The operator fixes the object and retries the quarantined file: it loads, once.
  std::string fixed;
  for (int row = 0; row < 3; ++row) {
    fixed += fmt::format("2016-07-29 22:52:00\tfixed\t{}\n", row);
  }
  ASSERT_TRUE(m_objects->put("bucket/events/bad.gz", gzip(fixed).value()));
  const auto retried = m_store->retry_quarantined({}, "ops", m_clock.now()).value();
  ASSERT_EQ(retried.size(), 1U);
  EXPECT_EQ(retried.front().action, ingestdb::QuarantineAction::requeued);
  ASSERT_TRUE(m_store->request_force_load("events", "test", m_clock.now()));
  EXPECT_TRUE(work());
  EXPECT_EQ(rows("events"), 15);
  EXPECT_TRUE(m_store->quarantined_files(10).value().empty());
  const auto again = m_store->retry_quarantined({}, "ops", m_clock.now()).value();
  EXPECT_TRUE(again.empty()) << "nothing left to retry";
}

TEST_F(LoaderTest, AFileTheWarehouseCannotNameIsFoundByLoadingHalvesWhileTheGoodFilesLoad) {
  for (int index = 0; index < 8; ++index) {
    add_file("events", fmt::format("f{}", index), 2);
  }
  m_warehouse->unnamed_bad_key = "bucket/events/f5.gz";
  ASSERT_TRUE(m_store->request_force_load("events", "test", m_clock.now()));
  while (work()) {
  }
  EXPECT_EQ(rows("events"), 14) << "every file but the bad one";
  const auto quarantined = m_store->quarantined_files(10).value();
  ASSERT_EQ(quarantined.size(), 1U);
  EXPECT_EQ(quarantined.front().key, "bucket/events/f5.gz");
  EXPECT_EQ(quarantined.front().kind, "rejected");
  // 8 files: the whole batch, [f0..f3] (loads), [f4..f7], [f4 f5], [f4] (loads), [f5] (alone:
  // quarantined), [f6 f7] (loads): 7, within 2 × ⌈log2 8⌉ + 2.
  EXPECT_EQ(m_warehouse->loads, 7);
  EXPECT_TRUE(m_store->stale_batches(0).value().empty());
}

TEST_F(LoaderTest, MaxBadRowsLoadsAFileWithFewerBadRowsAndQuarantinesOneWithMore) {
  m_config.max_bad_rows = 3;
  m_loader = make_loader();
  const std::string bad_row = "2016-07-29 22:52:00\tname\tnot-a-number\n";
  add_file("events", "two_bad", 4, bad_row + bad_row);
  ASSERT_TRUE(m_store->request_force_load("events", "test", m_clock.now()));
  EXPECT_TRUE(work());
  EXPECT_EQ(rows("events"), 4);
  EXPECT_TRUE(m_store->quarantined_files(10).value().empty());
  EXPECT_NE(m_metrics.prometheus_text().find(R"(rsi_rows_rejected_total{table="events"} 2)"),
            std::string::npos)
      << m_metrics.prometheus_text();

  add_file("events", "four_bad", 4, bad_row + bad_row + bad_row + bad_row);
  add_file("events", "good", 3);
  ASSERT_TRUE(m_store->request_force_load("events", "test", m_clock.now()));
  EXPECT_TRUE(work());
  EXPECT_EQ(rows("events"), 7) << "the good file loads without the one past the limit";
  const auto quarantined = m_store->quarantined_files(10).value();
  ASSERT_EQ(quarantined.size(), 1U);
  EXPECT_EQ(quarantined.front().key, "bucket/events/four_bad.gz");
  EXPECT_EQ(quarantined.front().kind, "too_many_bad_rows");
  EXPECT_EQ(quarantined.front().line, 8) << "the fourth bad row";
}

TEST_F(LoaderTest, AFailureThatIsNotTheDatasIsRetriedThenStale) {
  m_config.max_load_retry = 2;
  m_config.error_retry_delay = 600s;
  m_loader = make_loader();
  add_file("events", "a", 5);
  m_warehouse->permanent_failures = 1'000;
  ASSERT_TRUE(m_store->request_force_load("events", "test", m_clock.now()));
  EXPECT_TRUE(work());
  EXPECT_EQ(rows("events"), 0);
  const auto failed = m_store->stale_batches(0).value();
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_NE(failed.front().last_error.value_or("").find("permission denied"), std::string::npos);
  EXPECT_TRUE(m_store->quarantined_files(10).value().empty()) << "never quarantined";

  add_file("other", "fine", 2);
  ASSERT_TRUE(m_store->request_force_load("other", "test", m_clock.now()));
  m_warehouse->permanent_failures = 0;
  EXPECT_TRUE(work());
  EXPECT_EQ(rows("other"), 2) << "another table keeps loading";
  m_warehouse->permanent_failures = 1'000;

  // Retried after error_retry_delay, up to max_load_retry, then stale.
  for (int retry = 1; retry <= 2; ++retry) {
    m_clock.advance(601s);
    EXPECT_TRUE(work()) << "retry " << retry;
  }
  m_clock.advance(601s);
  EXPECT_FALSE(work()) << "stale: not retried";
  ASSERT_EQ(m_store->stale_batches(2).value().size(), 1U);
  EXPECT_NE(m_metrics.prometheus_text().find("rsi_manifest_load_failures_total 3"),
            std::string::npos);

  // The cause is fixed and the operator retries the stale batch: it loads, once.
  m_warehouse->permanent_failures = 0;
  ASSERT_TRUE(m_store->retry_batch(failed.front().manifest, m_clock.now()).value());
  m_clock.advance(61s);
  EXPECT_TRUE(work());
  EXPECT_EQ(rows("events"), 5);
  EXPECT_TRUE(m_store->stale_batches(2).value().empty());
}

TEST_F(LoaderTest, TransientWarehouseFaultsAreRetriedWithoutSpendingARetry) {
  add_file("events", "a", 4);
  ASSERT_TRUE(m_store->request_force_load("events", "test", m_clock.now()));
  m_warehouse->transient_failures = 3;
  EXPECT_TRUE(work());
  EXPECT_EQ(m_warehouse->loads, 4);
  EXPECT_EQ(rows("events"), 4);
  EXPECT_TRUE(m_store->stale_batches(0).value().empty()) << "no failure was recorded";
}

TEST_F(LoaderTest, AStopDuringAnOutageReleasesTheBatchForTheNextRun) {
  add_file("events", "a", 4);
  ASSERT_TRUE(m_store->request_force_load("events", "test", m_clock.now()));
  m_warehouse->transient_failures = 1'000'000;
  std::stop_source stop;
  stop.request_stop();
  ASSERT_TRUE(m_loader->work_once(*m_warehouse, stop.get_token()));
  m_warehouse->transient_failures = 0;
  m_clock.advance(61s);
  EXPECT_TRUE(work());
  EXPECT_EQ(rows("events"), 4);
  EXPECT_TRUE(m_store->stale_batches(0).value().empty());
}

TEST_F(LoaderTest, OrphansAreResolvedThroughTheLedgerNeverLoadedTwice) {
  add_file("events", "a", 3);
  add_file("other", "b", 2);
  ASSERT_TRUE(m_store->request_force_load("events", "dead loader", m_clock.now()));
  ASSERT_TRUE(m_store->request_force_load("other", "dead loader", m_clock.now()));
  const ingestdb::ClaimPolicy policy{.lease = 120s};
  const auto versions = m_real_warehouse->table_versions().value();
  // A loader claims both, commits "events", then dies before marking anything done.
  const auto committed =
      m_store->claim_batch(versions, policy, m_clock.now()).value().batch.value();
  const auto lost = m_store->claim_batch(versions, policy, m_clock.now()).value().batch.value();
  std::vector<core::ObjectLocation> files;
  for (const auto& key : committed.keys) {
    files.push_back(core::locate_key_name(key).value());
  }
  ASSERT_TRUE(m_real_warehouse->load_batch(
      {.manifest = committed.manifest, .table = committed.table, .version = 0, .files = files}));

  EXPECT_EQ(m_loader->resolve_orphans(*m_warehouse).value(), 0) << "their leases still run";
  m_clock.advance(121s);
  EXPECT_EQ(m_loader->resolve_orphans(*m_warehouse).value(), 2);
  EXPECT_FALSE(m_store->find_batch(committed.manifest).value()) << "the committed one is done";
  EXPECT_TRUE(m_store->find_batch(lost.manifest).value()) << "the other waits for a retry";
  m_clock.advance(61s);
  EXPECT_TRUE(work());
  EXPECT_EQ(rows(committed.table), 3);
  EXPECT_EQ(rows(lost.table), 2);
  EXPECT_FALSE(work());
}

TEST_F(LoaderTest, AFailedBatchThatCommittedAfterAllIsMarkedDoneNotReloaded) {
  add_file("events", "a", 3);
  ASSERT_TRUE(m_store->request_force_load("events", "test", m_clock.now()));
  const auto batch =
      m_store
          ->claim_batch(m_real_warehouse->table_versions().value(), {.lease = 120s}, m_clock.now())
          .value()
          .batch.value();
  ASSERT_TRUE(
      m_real_warehouse->load_batch({.manifest = batch.manifest,
                                    .table = batch.table,
                                    .version = 0,
                                    .files = {core::locate_key_name(batch.keys.at(0)).value()}}));
  // The COMMIT went through but the loader saw an error (a connection lost after COMMIT).
  ASSERT_TRUE(m_store->fail_batch(batch.manifest, "server closed the connection unexpectedly",
                                  m_clock.now()));
  m_clock.advance(61s);
  const int loads_before = m_warehouse->loads;
  EXPECT_TRUE(work());
  EXPECT_EQ(m_warehouse->loads, loads_before) << "not loaded again";
  EXPECT_EQ(rows("events"), 3);
  EXPECT_FALSE(m_store->find_batch(batch.manifest).value());
}

// Forwards to the real store and lets a test wait, inside a store call, for the lease keeper's next
// renewal of a batch to have been answered "no longer in flight".
class RenewalWatchingStore final : public test::ForwardingIngestDb {
public:
  using ForwardingIngestDb::ForwardingIngestDb;

  // In complete_batch, after the completion committed: wait for such a renewal of the batch (the
  // moment between the record and the worker letting go of the batch, issue 20).
  bool wait_in_complete = false;

  Result<bool> renew_lease(const std::string& manifest, TimePoint until) override {
    auto renewed = ForwardingIngestDb::renew_lease(manifest, until);
    if (renewed && !*renewed) {
      const std::lock_guard lock(m_mutex);
      m_refused.push_back(manifest);
      m_changed.notify_all();
    }
    return renewed;
  }
  using ForwardingIngestDb::complete_batch;
  Result<bool> complete_batch(const std::string& manifest, TimePoint now,
                              std::int64_t rows) override {
    auto done = ForwardingIngestDb::complete_batch(manifest, now, rows);
    if (wait_in_complete) {
      EXPECT_TRUE(wait_for_refusal(manifest));
    }
    return done;
  }

  // Whether a renewal of `manifest` was refused within 5 s.
  bool wait_for_refusal(const std::string& manifest) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, std::chrono::seconds(5), [&] {
      return std::find(m_refused.begin(), m_refused.end(), manifest) != m_refused.end();
    });
  }

private:
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::vector<std::string> m_refused;
};

// The lease keeper, renewing every 250 ms, runs beside one work step.
class LeaseKeeperTest : public LoaderTest {
protected:
  void SetUp() override {
    LoaderTest::SetUp();
    m_config.policy.lease = 1s; // The keeper renews every lease / 4: every 250 ms.
    m_watching = std::make_unique<RenewalWatchingStore>(*m_store);
    m_keeper_loader = std::make_unique<Loader>(
        *m_watching,
        [this] {
          return std::make_shared<const ingestdb::VersionMap>(
              m_real_warehouse->table_versions().value_or(warehouse::TableVersions{}));
        },
        m_clock, m_metrics, m_config);
  }

  // One work step with the keeper running; what the process wrote to stderr meanwhile.
  std::string work_with_keeper() {
    std::jthread keeper([this](std::stop_token stop) { m_keeper_loader->run_lease_keeper(stop); });
    testing::internal::CaptureStderr();
    EXPECT_TRUE(m_keeper_loader->work_once(*m_warehouse, {}));
    keeper.request_stop();
    keeper.join();
    return testing::internal::GetCapturedStderr();
  }

  std::unique_ptr<RenewalWatchingStore> m_watching;
  std::unique_ptr<Loader> m_keeper_loader;
};

TEST_F(LeaseKeeperTest, ARenewalJustAfterTheBatchWasMarkedDoneIsNoAlarm) {
  for (int file = 0; file < 6; ++file) {
    add_file("events", fmt::format("f{}", file), 2);
  }
  m_watching->wait_in_complete = true;
  const std::string log = work_with_keeper();
  EXPECT_EQ(rows("events"), 12);
  EXPECT_EQ(log.find("no longer in flight"), std::string::npos) << log;
}

TEST_F(LeaseKeeperTest, ABatchTakenAwayWhileItLoadsIsStillReported) {
  for (int file = 0; file < 6; ++file) {
    add_file("events", fmt::format("f{}", file), 2);
  }
  // While the load runs, the batch leaves the flight behind the loader's back (as when its lease
  // ran out and another process resolved it), and the keeper's next renewal finds it gone.
  m_warehouse->during_load = [this](const warehouse::LoadRequest& request) {
    m_warehouse->during_load = nullptr;
    ASSERT_TRUE(m_store->release_batch(request.manifest, m_clock.now()).value());
    EXPECT_TRUE(m_watching->wait_for_refusal(request.manifest));
  };
  const std::string log = work_with_keeper();
  EXPECT_NE(log.find("no longer in flight while loading"), std::string::npos) << log;
}

} // namespace
} // namespace rsi::loader
