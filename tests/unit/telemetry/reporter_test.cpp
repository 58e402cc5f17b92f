// The reporter's waiting-file gauges over a real (temp-file SQLite) ingester database: the
// original's statsd names and values per table and kind plus the totals, the same figures in
// the Prometheus text, and what happens when a table drains.
#include "telemetry/reporter.hpp"

#include <algorithm>
#include <mutex>
#include <stop_token>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ingestdb/sqlite_ingest_db.hpp"
#include "support/fake_clock.hpp"
#include "support/forwarding_ingest_db.hpp"
#include "support/net.hpp"
#include "support/process.hpp"
#include "support/recording_sink.hpp"
#include "support/temp_dir.hpp"
#include "telemetry/names.hpp"
#include "telemetry/statsd.hpp"

namespace rsi::telemetry {
namespace {

using namespace std::chrono_literals;

constexpr int k_max_load_retry = 1;

class ReporterTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto store = ingestdb::make_sqlite_ingest_db({.path = m_dir.path("ingester.db")});
    ASSERT_TRUE(store) << store.error().message;
    m_store = std::move(*store);
  }

  void record(const std::string& table, int version, int files) {
    for (int file = 0; file < files; ++file) {
      const std::string key = fmt::format("spade/{}/v{}/{}.gz", table, version, m_next_file++);
      ASSERT_TRUE(m_store->record_file({.key_name = key, .table = table, .version = version},
                                       m_clock.now()));
    }
  }

  // Claims the next eligible batch (the oldest group).
  ingestdb::Batch claim() {
    auto claimed =
        m_store->claim_batch(m_versions, {.count_trigger = 0, .lease = 2min}, m_clock.now());
    EXPECT_TRUE(claimed && claimed->batch);
    return claimed && claimed->batch ? *claimed->batch : ingestdb::Batch{};
  }

  // Records `files` files of `table` and fails their batch until it is stale.
  void make_stale(const std::string& table, int files) {
    record(table, 0, files);
    const ingestdb::Batch batch = claim();
    for (int attempt = 0; attempt <= k_max_load_retry; ++attempt) {
      if (attempt > 0) {
        m_clock.advance(2s);
        auto retried = m_store->claim_retryable_batch(k_max_load_retry, 2min, m_clock.now());
        ASSERT_TRUE(retried && *retried);
      }
      ASSERT_TRUE(m_store->fail_batch(batch.manifest, "bad value", m_clock.now() + 1s));
    }
  }

  std::vector<std::string> take_sent() {
    const std::lock_guard lock(m_sent_mutex);
    auto sent = std::move(m_sent);
    m_sent.clear();
    std::sort(sent.begin(), sent.end());
    return sent;
  }

  Reporter reporter(ingestdb::IngestDb& store) {
    return Reporter(
        store, [this] { return m_versions; }, m_metrics, m_clock, k_max_load_retry);
  }

  test::TempDir m_dir;
  test::FakeClock m_clock;
  std::mutex m_sent_mutex;
  std::vector<std::string> m_sent;
  Metrics m_metrics{"ingester", std::make_unique<test::RecordingSink>(m_sent_mutex, m_sent)};
  std::unique_ptr<ingestdb::IngestDb> m_store;
  ingestdb::VersionMap m_versions{{"a", 0}, {"b", 0}, {"c", 0}};
  int m_next_file = 0;
};

std::vector<std::string> sorted(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  return values;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(ReporterTest, SendsGaugesPerTableAndKindAndTotalsWithTheOriginalNames) {
  make_stale("c", 2);   // Recorded at T0; now T0+2s.
  m_clock.advance(8s);  // T0+10s
  record("a", 0, 3);    // Waiting in the queue.
  m_clock.advance(20s); // T0+30s
  record("b", 0, 2);    // Waiting in the queue,
  record("b", 1, 1);    // and one of a version the warehouse does not have yet.
  m_clock.advance(5s);  // T0+35s
  take_sent();

  ASSERT_TRUE(reporter(*m_store).report_once());

  EXPECT_EQ(take_sent(), sorted({
                             "ingester.tsv_files.a.in_queue_count:3|g",
                             "ingester.tsv_files.a.in_queue_age_in_ms:25000|g",
                             "ingester.tsv_files.b.in_queue_count:2|g",
                             "ingester.tsv_files.b.in_queue_age_in_ms:5000|g",
                             "ingester.tsv_files.b.pending_migration_count:1|g",
                             "ingester.tsv_files.b.pending_migration_age_in_ms:5000|g",
                             "ingester.tsv_files.c.stale_count:2|g",
                             "ingester.tsv_files.c.stale_age_in_ms:35000|g",
                             "ingester.tsv_files.in_queue_total_count:5|g",
                             "ingester.tsv_files.in_queue_max_age_in_ms:25000|g",
                             "ingester.tsv_files.stale_total_count:2|g",
                             "ingester.tsv_files.stale_max_age_in_ms:35000|g",
                             "ingester.tsv_files.pending_migration_total_count:1|g",
                             "ingester.tsv_files.quarantined_total_count:0|g",
                             "ingester.tsv_files.quarantined_max_age_in_ms:0|g",
                             "ingester.tsv_files.pending_migration_max_age_in_ms:5000|g",
                         }));
  const std::string text = m_metrics.prometheus_text();
  EXPECT_TRUE(contains(text, "# TYPE rsi_pending_files gauge\n")) << text;
  EXPECT_TRUE(contains(text, "rsi_pending_files{table=\"a\",kind=\"in_queue\"} 3\n")) << text;
  EXPECT_TRUE(contains(text, "rsi_pending_files{table=\"b\",kind=\"in_queue\"} 2\n"));
  EXPECT_TRUE(contains(text, "rsi_pending_files{table=\"b\",kind=\"pending_migration\"} 1\n"));
  EXPECT_TRUE(contains(text, "rsi_pending_files{table=\"c\",kind=\"stale\"} 2\n"));
  EXPECT_TRUE(contains(text, "# TYPE rsi_pending_oldest_age_seconds gauge\n"));
  EXPECT_TRUE(contains(text, "rsi_pending_oldest_age_seconds{table=\"a\",kind=\"in_queue\"} 25\n"))
      << text;
  EXPECT_TRUE(contains(text, "rsi_pending_oldest_age_seconds{table=\"c\",kind=\"stale\"} 35\n"));
  EXPECT_FALSE(contains(text, "total")) << "the totals are statsd-only: " << text;
}

TEST_F(ReporterTest, NothingWaitingSendsZeroTotalsOnly) {
  ASSERT_TRUE(reporter(*m_store).report_once());

  EXPECT_EQ(take_sent(), sorted({
                             "ingester.tsv_files.in_queue_total_count:0|g",
                             "ingester.tsv_files.in_queue_max_age_in_ms:0|g",
                             "ingester.tsv_files.stale_total_count:0|g",
                             "ingester.tsv_files.stale_max_age_in_ms:0|g",
                             "ingester.tsv_files.pending_migration_total_count:0|g",
                             "ingester.tsv_files.quarantined_total_count:0|g",
                             "ingester.tsv_files.quarantined_max_age_in_ms:0|g",
                             "ingester.tsv_files.pending_migration_max_age_in_ms:0|g",
                         }));
  EXPECT_EQ(m_metrics.prometheus_text(),
            "# HELP rsi_database_up " + std::string(help_text("database_up")) +
                "\n# TYPE rsi_database_up gauge\nrsi_database_up{database=\"ingester\"} 1\n");
}

TEST_F(ReporterTest, ATableThatDrainedLeavesThePrometheusTextAndIsZeroedOnceInStatsd) {
  record("a", 0, 2);
  m_clock.advance(1s);
  record("b", 0, 1);
  Reporter reporter = this->reporter(*m_store);
  ASSERT_TRUE(reporter.report_once());
  ASSERT_TRUE(contains(m_metrics.prometheus_text(),
                       "rsi_pending_files{table=\"a\",kind=\"in_queue\"} 2\n"));
  const ingestdb::Batch batch = claim();
  ASSERT_EQ(batch.table, "a");
  ASSERT_TRUE(m_store->complete_batch(batch.manifest, m_clock.now()));
  m_clock.advance(1s);
  take_sent();

  ASSERT_TRUE(reporter.report_once());

  const std::string text = m_metrics.prometheus_text();
  EXPECT_FALSE(contains(text, "table=\"a\"")) << text;
  EXPECT_TRUE(contains(text, "rsi_pending_files{table=\"b\",kind=\"in_queue\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "rsi_pending_oldest_age_seconds{table=\"b\",kind=\"in_queue\"} 1\n"))
      << text;
  EXPECT_EQ(take_sent(), sorted({
                             "ingester.tsv_files.a.in_queue_count:0|g",
                             "ingester.tsv_files.a.in_queue_age_in_ms:0|g",
                             "ingester.tsv_files.b.in_queue_count:1|g",
                             "ingester.tsv_files.b.in_queue_age_in_ms:1000|g",
                             "ingester.tsv_files.in_queue_total_count:1|g",
                             "ingester.tsv_files.in_queue_max_age_in_ms:1000|g",
                             "ingester.tsv_files.stale_total_count:0|g",
                             "ingester.tsv_files.stale_max_age_in_ms:0|g",
                             "ingester.tsv_files.pending_migration_total_count:0|g",
                             "ingester.tsv_files.quarantined_total_count:0|g",
                             "ingester.tsv_files.quarantined_max_age_in_ms:0|g",
                             "ingester.tsv_files.pending_migration_max_age_in_ms:0|g",
                         }));

  ASSERT_TRUE(reporter.report_once());

  for (const auto& datagram : take_sent()) {
    EXPECT_FALSE(datagram.starts_with("ingester.tsv_files.a.")) << "zeroed again: " << datagram;
  }
}

TEST_F(ReporterTest, AFileChangingKindMovesItsGauge) {
  record("b", 1, 2); // Waits for the migrator: version 1 is newer than the warehouse's 0.
  Reporter reporter = this->reporter(*m_store);
  ASSERT_TRUE(reporter.report_once());
  m_versions["b"] = 1; // Migrated: the files now wait in the queue.
  take_sent();

  ASSERT_TRUE(reporter.report_once());

  const auto sent = take_sent();
  EXPECT_NE(std::find(sent.begin(), sent.end(), "ingester.tsv_files.b.in_queue_count:2|g"),
            sent.end());
  EXPECT_NE(std::find(sent.begin(), sent.end(), "ingester.tsv_files.b.pending_migration_count:0|g"),
            sent.end());
  const std::string text = m_metrics.prometheus_text();
  EXPECT_TRUE(contains(text, "rsi_pending_files{table=\"b\",kind=\"in_queue\"} 2\n")) << text;
  EXPECT_FALSE(contains(text, "kind=\"pending_migration\"")) << text;
}

class FailingStatsStore final : public test::ForwardingIngestDb {
public:
  using ForwardingIngestDb::ForwardingIngestDb;
  Result<std::vector<ingestdb::PendingStat>> pending_stats(const ingestdb::VersionMap&,
                                                           int) override {
    return fail(ErrorKind::transient, "pending stats: database is locked");
  }
};

TEST_F(ReporterTest, AStoreFailureIsReturnedAndKeepsTheLastGauges) {
  record("a", 0, 1);
  ASSERT_TRUE(reporter(*m_store).report_once());
  FailingStatsStore failing(*m_store);
  take_sent();

  auto reported = reporter(failing).report_once();

  ASSERT_FALSE(reported);
  EXPECT_EQ(reported.error().kind, ErrorKind::transient);
  EXPECT_TRUE(take_sent().empty());
  EXPECT_TRUE(contains(m_metrics.prometheus_text(),
                       "rsi_pending_files{table=\"a\",kind=\"in_queue\"} 1\n"));
}

TEST_F(ReporterTest, TellsWhetherEachDatabaseAnsweredInPrometheusOnly) {
  Result<void> warehouse = {};
  Reporter reporter(
      *m_store, [this] { return m_versions; }, m_metrics, m_clock, k_max_load_retry,
      [&] { return warehouse; });
  ASSERT_TRUE(reporter.report_once());
  std::string text = m_metrics.prometheus_text();
  EXPECT_TRUE(contains(text, "rsi_database_up{database=\"ingester\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "rsi_database_up{database=\"warehouse\"} 1\n")) << text;
  warehouse = fail(ErrorKind::transient, "connect to postgres: Connection refused");
  take_sent();

  auto reported = reporter.report_once();

  ASSERT_FALSE(reported);
  EXPECT_EQ(reported.error().message,
            "ping the warehouse: connect to postgres: Connection refused");
  text = m_metrics.prometheus_text();
  EXPECT_TRUE(contains(text, "rsi_database_up{database=\"ingester\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "rsi_database_up{database=\"warehouse\"} 0\n")) << text;
  for (const auto& datagram : take_sent()) {
    EXPECT_FALSE(contains(datagram, "database")) << "statsd has no such name: " << datagram;
  }
}

TEST_F(ReporterTest, AnIngesterDatabaseFailureSetsItsGaugeToZero) {
  FailingStatsStore failing(*m_store);
  Reporter reporter(
      failing, [this] { return m_versions; }, m_metrics, m_clock, k_max_load_retry,
      [] { return Result<void>{}; });

  auto reported = reporter.report_once();

  ASSERT_FALSE(reported);
  EXPECT_EQ(reported.error().message, "read the waiting files: pending stats: database is locked");
  const std::string text = m_metrics.prometheus_text();
  EXPECT_TRUE(contains(text, "rsi_database_up{database=\"ingester\"} 0\n")) << text;
  EXPECT_TRUE(contains(text, "rsi_database_up{database=\"warehouse\"} 1\n")) << text;
}

TEST_F(ReporterTest, RunReportsBeforeItWaitsAndStopsWhenAsked) {
  record("a", 0, 1);
  std::stop_source stop;
  stop.request_stop();

  reporter(*m_store).run(stop.get_token(), 1h);

  const auto sent = take_sent();
  EXPECT_NE(std::find(sent.begin(), sent.end(), "ingester.tsv_files.a.in_queue_count:1|g"),
            sent.end());
}

TEST_F(ReporterTest, GaugesReachAStatsdListenerOverUdp) {
  test::UdpListener listener;
  auto sink = make_udp_statsd_sink(fmt::format("127.0.0.1:{}", listener.port()));
  ASSERT_TRUE(sink) << sink.error().message;
  Metrics metrics("ingester", std::move(*sink));
  record("minute-watched", 0, 4);
  m_versions["minute-watched"] = 0;
  m_clock.advance(1500ms);
  Reporter reporter(
      *m_store, [this] { return m_versions; }, metrics, m_clock, k_max_load_retry);

  ASSERT_TRUE(reporter.report_once());

  const std::vector<std::string> expected{
      "ingester.tsv_files.minute-watched.in_queue_count:4|g",
      "ingester.tsv_files.minute-watched.in_queue_age_in_ms:1500|g",
      "ingester.tsv_files.in_queue_total_count:4|g"};
  EXPECT_TRUE(test::eventually(5s, [&] {
    const auto received = listener.datagrams();
    return std::all_of(expected.begin(), expected.end(), [&](const std::string& datagram) {
      return std::find(received.begin(), received.end(), datagram) != received.end();
    });
  })) << ::testing::PrintToString(listener.datagrams());
}

} // namespace
} // namespace rsi::telemetry
