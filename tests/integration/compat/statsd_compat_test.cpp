// Compatibility with the original rs_ingester: every statsd name it sent, sent by this project in
// the same situation and with the same meaning. The original's names and where it counted them
// (metadatastorer/main.go, main.go's load workers, loadclient/rsloader.go, control_handlers.go,
// reporter/reporter.go) are listed in docs/metrics.md beside ours; here each situation happens
// for real (storer, loader, reporter and control API on the embedded backends) and the datagrams
// are read back.
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include "common/gzip.hpp"
#include "control/control_api.hpp"
#include "core/event_metadata.hpp"
#include "core/file_pointer.hpp"
#include "ingestdb/sqlite_ingest_db.hpp"
#include "loader/loader.hpp"
#include "objectstore/local_object_store.hpp"
#include "queue/local_queue.hpp"
#include "registry/event_metadata.hpp"
#include "storer/storer.hpp"
#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"
#include "telemetry/reporter.hpp"
#include "warehouse/batch_files.hpp"
#include "warehouse/sqlite_warehouse.hpp"

namespace rsi {
namespace {

using namespace std::chrono_literals;

// Keeps every datagram, as a statsd server would receive them.
class RecordingSink final : public telemetry::StatsdSink {
public:
  explicit RecordingSink(std::shared_ptr<std::vector<std::string>> out) : m_out(std::move(out)) {}
  void send(std::string_view datagram) override {
    const std::lock_guard lock(m_mutex);
    m_out->emplace_back(datagram);
  }

private:
  std::mutex m_mutex;
  std::shared_ptr<std::vector<std::string>> m_out;
};

class StatsdCompat : public ::testing::Test {
protected:
  void SetUp() override {
    m_store = ingestdb::make_sqlite_ingest_db({.path = m_dir.path("ingester.db")}).value();
    m_objects = objectstore::make_local_object_store({.root = m_dir.path("objects")}).value();
    m_warehouse =
        warehouse::make_sqlite_warehouse({.path = m_dir.path("warehouse.db"),
                                          .files = warehouse::locate_in_bucket_folders(*m_objects)})
            .value();
    const core::Operation time{
        .action = core::Action::add, .name = "time", .column_type = "f@timestamp@unix"};
    const core::Operation n{.action = core::Action::add, .name = "n", .column_type = "bigint"};
    ASSERT_TRUE(m_warehouse->apply_migration("video_play", 0, std::vector{time, n}, 60s));
    ASSERT_TRUE(m_warehouse->apply_migration("stuck", 0, std::vector{time, n}, 60s));
  }

  telemetry::Metrics& metrics(const std::string& prefix) {
    auto& slot = m_metrics[prefix];
    if (!slot) {
      slot = std::make_unique<telemetry::Metrics>(prefix,
                                                  std::make_unique<RecordingSink>(m_datagrams));
    }
    return *slot;
  }

  [[nodiscard]] bool sent(const std::string& datagram) const {
    return std::find(m_datagrams->begin(), m_datagrams->end(), datagram) != m_datagrams->end();
  }
  [[nodiscard]] bool sent_prefix(const std::string& prefix) const {
    return std::any_of(m_datagrams->begin(), m_datagrams->end(),
                       [&](const std::string& datagram) { return datagram.starts_with(prefix); });
  }
  [[nodiscard]] std::string all() const { return fmt::format("{}", fmt::join(*m_datagrams, "\n")); }

  void put(const std::string& key, const std::string& bytes) {
    ASSERT_TRUE(m_objects->put(key, bytes));
  }

  test::TempDir m_dir;
  test::FakeClock m_clock;
  std::shared_ptr<std::vector<std::string>> m_datagrams =
      std::make_shared<std::vector<std::string>>();
  std::map<std::string, std::unique_ptr<telemetry::Metrics>> m_metrics;
  std::unique_ptr<ingestdb::IngestDb> m_store;
  std::unique_ptr<objectstore::ObjectStore> m_objects;
  std::unique_ptr<warehouse::Warehouse> m_warehouse;
};

TEST_F(StatsdCompat, MetadatastorerCountsWhatTheOriginalCountedWhereItCountedIt) {
  core::EventMetadata metadata;
  metadata.events["video_play"]["datastores"] = {.value = "ace"};
  metadata.events["chat_only"]["datastores"] = {.value = "redis"};
  registry::EventMetadataCache tables(
      [&] { return Result<std::string>(core::encode_event_metadata(metadata)); }, m_clock, {});
  ASSERT_TRUE(tables.reload());
  const auto inbox = m_dir.path("inbox");
  auto queue = queue::make_local_queue({.inbox = inbox}, m_clock).value();
  storer::Storer storer(*queue, *m_store, tables, m_clock, metrics("metadatastorer"), {});
  const auto pointer = [](std::string key, std::string table) {
    return core::encode_file_pointer(
        {.key_name = "spade/" + key, .table = std::move(table), .version = 0});
  };
  for (const std::string& body : {pointer("a.gz", "video_play"), pointer("b.gz", "chat_only"),
                                  pointer("c.gz", "not_published_yet"), std::string("not json")}) {
    ASSERT_TRUE(queue::publish_local_message(inbox, body));
  }

  ASSERT_TRUE(storer.poll_once(0s));

  for (const char* datagram : {"metadatastorer.tsv_files.video_play.received:1|c",
                               "metadatastorer.tsv_files.total.received:1|c",
                               "metadatastorer.tsv_files.video_play.queued:1|c",
                               "metadatastorer.tsv_files.total.queued:1|c",
                               "metadatastorer.tsv_files.chat_only.skipped.ace:1|c",
                               "metadatastorer.tsv_files.total.skipped.ace:1|c"}) {
    EXPECT_TRUE(sent(datagram)) << datagram << " among\n" << all();
  }
  // The original counted `received` after the metadata and "ace" checks: a skipped table, an
  // unknown table and a malformed message count nothing there.
  EXPECT_FALSE(sent_prefix("metadatastorer.tsv_files.chat_only.received")) << all();
  EXPECT_FALSE(sent_prefix("metadatastorer.tsv_files.not_published_yet.")) << all();
  EXPECT_EQ(std::count(m_datagrams->begin(), m_datagrams->end(),
                       "metadatastorer.tsv_files.total.received:1|c"),
            1)
      << all();
}

TEST_F(StatsdCompat, RsloadmanagerCountsLoadsFailuresForceLoadsAndReportsGauges) {
  telemetry::Metrics& ingester = metrics("ingester");
  const auto versions = [] { return ingestdb::VersionMap{{"video_play", 0}, {"stuck", 0}}; };
  loader::Loader loader(
      *m_store, [&] { return std::make_shared<const ingestdb::VersionMap>(versions()); }, m_clock,
      ingester,
      {.policy = {.count_trigger = 0, .age_trigger = 0s, .lease = 60s}, .max_load_retry = 0});
  put("spade/video_play/a.gz", gzip("2016-07-29 22:00:00\t1\n").value());
  put("spade/video_play/b.gz", gzip("2016-07-29 22:00:01\t2\n").value());
  put("spade/stuck/bad.gz", "not gzip at all");
  for (const auto& [key, table] :
       std::vector<std::pair<std::string, std::string>>{{"spade/video_play/a.gz", "video_play"},
                                                        {"spade/video_play/b.gz", "video_play"},
                                                        {"spade/stuck/bad.gz", "stuck"}}) {
    ASSERT_TRUE(m_store->record_file({.key_name = key, .table = table}, m_clock.now()));
  }
  m_clock.advance(1s);

  while (loader.work_once(*m_warehouse, {})) {
  }

  for (const char* datagram :
       {"ingester.manifest_load.count:1|c", "ingester.tsv_files.video_play.loaded:2|c",
        "ingester.tsv_files.total.loaded:2|c", "ingester.manifest_load.failures:1|c",
        "ingester.tsv_files.stuck.quarantined.corrupt_gzip:1|c"}) {
    EXPECT_TRUE(sent(datagram)) << datagram << " among\n" << all();
  }
  EXPECT_TRUE(sent_prefix("ingester.video_play:")) << "the load's timing, named by the bare table\n"
                                                   << all();
  EXPECT_TRUE(std::any_of(m_datagrams->begin(), m_datagrams->end(),
                          [](const std::string& datagram) {
                            return datagram.starts_with("ingester.video_play:") &&
                                   datagram.ends_with("|ms");
                          }))
      << all();

  // The bad file is quarantined: the reporter's gauges, per table and totals.
  telemetry::Reporter reporter(*m_store, versions, ingester, m_clock, 0);
  ASSERT_TRUE(m_store->record_file(
      {.key_name = "spade/video_play/later.gz", .table = "video_play", .version = 1},
      m_clock.now()));
  ASSERT_TRUE(reporter.report_once());
  for (const char* prefix :
       {"ingester.tsv_files.stuck.quarantined_count:1|g",
        "ingester.tsv_files.stuck.quarantined_age_in_ms:",
        "ingester.tsv_files.video_play.pending_migration_count:1|g",
        "ingester.tsv_files.video_play.pending_migration_age_in_ms:",
        "ingester.tsv_files.in_queue_total_count:0|g",
        "ingester.tsv_files.in_queue_max_age_in_ms:", "ingester.tsv_files.stale_total_count:0|g",
        "ingester.tsv_files.stale_max_age_in_ms:", "ingester.tsv_files.quarantined_total_count:1|g",
        "ingester.tsv_files.pending_migration_total_count:1|g",
        "ingester.tsv_files.pending_migration_max_age_in_ms:"}) {
    EXPECT_TRUE(sent_prefix(prefix)) << prefix << " among\n" << all();
  }

  // An operator's force load through the control API; not the migrator's own (not counted by
  // the original either).
  http::Server server;
  control::install(server, {.store = m_store.get(),
                            .metrics = &ingester,
                            .clock = &m_clock,
                            .increment_version = [](std::string_view) -> Result<int> { return 0; },
                            .versions = versions,
                            .warehouse_ping = []() -> Result<void> { return {}; },
                            .wake_loaders = [] {}});
  ASSERT_TRUE(server.start("127.0.0.1", 0));
  httplib::Client client("127.0.0.1", server.port());
  auto forced = client.Post("/control/force_load", R"({"Table":"video_play","Requester":"ops"})",
                            "application/json");
  ASSERT_TRUE(forced);
  EXPECT_EQ(forced->status, 204);
  server.stop();
  EXPECT_TRUE(sent("ingester.force_load.video_play:1|c")) << all();
}

} // namespace
} // namespace rsi
