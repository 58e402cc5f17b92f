// backfill(): a listing becomes file pointers, against a local objects root with a SQLite
// ingester database and against the S3 emulator with PostgreSQL (RSI_TEST_S3_ENDPOINT,
// RSI_TEST_PG). The intake rules are the real MessageCheck's over scripted event metadata and
// current versions.
//
// s3rver lists a prefix in its own folder walk's order, not S3's byte order, and its pages skip
// keys where the two differ (a folder "x" beside a key "x-y" or "x.y"): the keys here avoid that.
#include "app/backfill.hpp"

#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/event_metadata.hpp"
#include "ingestdb/postgres_ingest_db.hpp"
#include "ingestdb/sqlite_ingest_db.hpp"
#include "objectstore/local_object_store.hpp"
#include "pg/connection.hpp"
#include "s3_test_support.hpp"
#include "sqlite/database.hpp"
#include "support/fake_clock.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"

namespace rsi::app {
namespace {

using namespace std::chrono_literals;

// Forwards to a real store; its listing can fail on a chosen call, report chosen modification
// times, and add objects that a store cannot hold (a folder marker).
class ScriptedListing final : public objectstore::ObjectStore {
public:
  explicit ScriptedListing(objectstore::ObjectStore& real) : m_real(real) {}

  Result<objectstore::ListPage> list(std::string_view prefix,
                                     const std::optional<std::string>& token,
                                     std::size_t max_keys) override {
    ++list_calls;
    if (failing_call == list_calls ||
        (failing_call > 0 && failing_kind == ErrorKind::permanent && list_calls > failing_call)) {
      return fail(failing_kind, "list: scripted failure");
    }
    RSI_TRY_ASSIGN(auto page, m_real.list(prefix, token, max_keys));
    for (auto& object : page.objects) {
      if (const auto time = times.find(object.key); time != times.end()) {
        object.last_modified = time->second;
      }
    }
    if (!token) {
      page.objects.insert(page.objects.begin(), extra_first.begin(), extra_first.end());
    }
    return page;
  }
  Result<std::optional<objectstore::ObjectInfo>> get(std::string_view key,
                                                     const objectstore::ChunkSink& sink,
                                                     objectstore::ByteRange range) override {
    return m_real.get(key, sink, range);
  }
  Result<void> put(std::string_view key, std::string_view data) override {
    return m_real.put(key, data);
  }
  Result<void> put_stream(std::string_view key, const objectstore::ChunkSource& source) override {
    return m_real.put_stream(key, source);
  }
  Result<void> put_file(std::string_view key, const std::filesystem::path& path) override {
    return m_real.put_file(key, path);
  }
  Result<std::optional<objectstore::ObjectInfo>> head(std::string_view key) override {
    return m_real.head(key);
  }
  Result<void> remove(std::string_view key) override { return m_real.remove(key); }
  std::string describe() const override { return m_real.describe(); }

  int list_calls = 0;
  int failing_call = 0; // 1-based; 0: none. A permanent failure repeats on every later call.
  ErrorKind failing_kind = ErrorKind::transient;
  std::map<std::string, TimePoint> times;
  std::vector<objectstore::ObjectInfo> extra_first; // Put in front of the first page.

private:
  objectstore::ObjectStore& m_real;
};

struct Backend {
  std::string name;
  bool services = false; // The S3 emulator and PostgreSQL; else a local root and SQLite.

  friend void PrintTo(const Backend& backend, std::ostream* out) { *out << backend.name; }
};

std::string event_metadata() {
  core::EventMetadata metadata;
  metadata.events["clicks"]["datastores"] = {.value = "ace"};
  metadata.events["views"]["datastores"] = {.value = "ace,other"};
  metadata.events["audit"]["datastores"] = {.value = "other"};
  return core::encode_event_metadata(metadata);
}

class BackfillTest : public ::testing::TestWithParam<Backend> {
protected:
  void SetUp() override {
    if (GetParam().services) {
      RSI_REQUIRE_SERVICE(test::s3_endpoint() && test::postgres_conninfo(),
                          "S3 emulator and PostgreSQL (RSI_TEST_S3_ENDPOINT, RSI_TEST_PG)");
      m_schema.emplace(*test::postgres_conninfo());
      auto config = test::s3_test_config(test::shared_test_bucket(), 5U << 20U);
      m_key_base = std::exchange(config.prefix, std::string()); // A fresh prefix per test.
      m_bucket = config.bucket;
      m_keyname_base = m_bucket + "/" + m_key_base;
      auto objects = objectstore::make_s3_object_store(config);
      ASSERT_TRUE(objects) << objects.error().message;
      m_objects = std::move(*objects);
      auto store = ingestdb::make_postgres_ingest_db(
          {.conninfo = m_schema->conninfo(), .max_connections = 2});
      ASSERT_TRUE(store) << store.error().message;
      m_store = std::move(*store);
    } else {
      auto objects = objectstore::make_local_object_store({.root = m_dir.path("objects")});
      ASSERT_TRUE(objects) << objects.error().message;
      m_objects = std::move(*objects);
      m_key_base = "bkt/data/"; // Bucket folder "bkt".
      m_keyname_base = m_key_base;
      auto store = ingestdb::make_sqlite_ingest_db({.path = m_dir.path("ingester.db")});
      ASSERT_TRUE(store) << store.error().message;
      m_store = std::move(*store);
    }
    m_listing = std::make_unique<ScriptedListing>(*m_objects);
  }

  void put(const std::vector<std::string>& relative_keys) {
    for (const auto& key : relative_keys) {
      ASSERT_TRUE(m_objects->put(m_key_base + key, "x")) << key;
    }
  }

  [[nodiscard]] std::string key_name(const std::string& relative_key) const {
    return m_keyname_base + relative_key;
  }

  BackfillSummary run(BackfillOptions options = {},
                      const std::function<void(const BackfillSummary&)>& on_page = {}) {
    options.retry = {.initial_delay = 1ms, .max_delay = 1ms, .max_attempts = 3};
    storer::MessageCheck check(m_tables, m_clock, m_metrics,
                               {.routes = routes(), .current_version = m_current_version});
    return backfill({.store = m_listing.get(), .prefix = m_key_base, .bucket = m_bucket}, check,
                    m_store.get(), m_clock, options, m_stop.get_token(), on_page);
  }

  static std::vector<core::Route> routes() {
    const std::vector<std::string> specs = {"**/{table}/v{version}/*", "**/exports/{table}/*"};
    auto parsed = core::parse_routes(specs);
    EXPECT_TRUE(parsed) << parsed.error().message;
    return parsed.value_or(std::vector<core::Route>{});
  }

  // Every pending pointer: "keyname table vN".
  std::set<std::string> recorded() {
    std::set<std::string> rows;
    const std::string sql = "SELECT keyname, tablename, tableversion FROM tsv";
    if (m_schema) {
      auto conn = pg::Connection::connect(m_schema->conninfo());
      EXPECT_TRUE(conn) << conn.error().message;
      auto result = conn->exec(sql);
      EXPECT_TRUE(result) << result.error().message;
      for (int row = 0; result && row < result->size(); ++row) {
        rows.insert(fmt::format("{} {} v{}", result->text(row, 0), result->text(row, 1),
                                result->integer(row, 2)));
      }
      return rows;
    }
    auto db = sqlite::Database::open(m_dir.path("ingester.db"));
    EXPECT_TRUE(db) << db.error().message;
    auto statement = db->prepare(sql);
    EXPECT_TRUE(statement) << statement.error().message;
    while (statement && statement->step().value_or(false)) {
      rows.insert(
          fmt::format("{} {} v{}", statement->text(0), statement->text(1), statement->integer(2)));
    }
    return rows;
  }

  test::TempDir m_dir;
  std::optional<test::PostgresSchema> m_schema;
  std::unique_ptr<objectstore::ObjectStore> m_objects;
  std::unique_ptr<ScriptedListing> m_listing;
  std::unique_ptr<ingestdb::IngestDb> m_store;
  std::string m_bucket;       // Empty for a local objects root.
  std::string m_key_base;     // Stored keys and the listing prefix start with it.
  std::string m_keyname_base; // KeyNames start with it.
  test::FakeClock m_clock;
  telemetry::Metrics m_metrics{"test"};
  registry::EventMetadataCache m_tables{
      [] { return Result<std::string>(event_metadata()); }, m_clock, {}};
  storer::CurrentVersion m_current_version = [](std::string_view table) {
    return Result<std::optional<int>>(table == "clicks" ? std::optional<int>(7) : std::nullopt);
  };
  std::stop_source m_stop;
};

TEST_P(BackfillTest, RecordsEveryRoutedObjectAndCountsEveryOutcome) {
  put({"clicks/v1/a.gz", "clicks/v1/b.gz", "views/v2/c.gz", "audit/v0/d.gz", "mystery/v0/e.gz",
       "README.txt", "notes/readme", "exports/clicks/f.gz", "exports/ghost/g.gz"});

  const auto summary = run({.page_size = 2});

  EXPECT_EQ(recorded(), (std::set<std::string>{
                            key_name("clicks/v1/a.gz") + " clicks v1",
                            key_name("clicks/v1/b.gz") + " clicks v1",
                            key_name("exports/clicks/f.gz") + " clicks v7",
                            key_name("views/v2/c.gz") + " views v2",
                        }));
  EXPECT_EQ(summary.listed, 9);
  EXPECT_EQ(summary.pages, 5);
  EXPECT_FALSE(summary.error) << summary.error->message;
  EXPECT_FALSE(summary.interrupted);
  EXPECT_EQ(summary.tables.at("clicks"), (BackfillTableCounts{.recorded = 3}));
  EXPECT_EQ(summary.tables.at("views"), (BackfillTableCounts{.recorded = 1}));
  EXPECT_EQ(summary.tables.at("audit"), (BackfillTableCounts{.skipped = 1}));
  EXPECT_EQ(summary.tables.at("mystery"), (BackfillTableCounts{.unknown = 1}));
  EXPECT_EQ(summary.tables.at("ghost"), (BackfillTableCounts{.unknown = 1}));
  EXPECT_EQ(summary.unrouted, 2);
  EXPECT_EQ(summary.unrouted_examples.size(), 2U);
  EXPECT_FALSE(summary.complete()); // Unrouted keys and unknown tables were left.
}

TEST_P(BackfillTest, RunningAgainRecordsNothingNewAndKnowsLoadedKeys) {
  put({"clicks/v1/a.gz", "clicks/v1/b.gz", "views/v2/c.gz"});
  const auto first = run({.page_size = 2});
  ASSERT_EQ(first.totals().recorded, 3);
  // The loader loads the clicks batch: its keys leave the pending files for the loaded keys.
  auto claimed = m_store->claim_batch({{"clicks", 1}}, {.count_trigger = 0}, m_clock.now());
  ASSERT_TRUE(claimed && claimed->batch);
  ASSERT_TRUE(m_store->complete_batch(claimed->batch->manifest, m_clock.now()).value_or(false));
  m_clock.advance(1h);

  const auto second = run({.page_size = 2});

  EXPECT_EQ(second.totals().recorded, 0);
  EXPECT_EQ(second.totals().already_recorded, 3);
  EXPECT_TRUE(second.complete());
  EXPECT_EQ(recorded(), std::set<std::string>{key_name("views/v2/c.gz") + " views v2"});
}

TEST_P(BackfillTest, DryRunCountsPerTableAndRecordsNothing) {
  put({"clicks/v1/a.gz", "clicks/v1/b.gz", "views/v2/c.gz", "audit/v0/d.gz"});

  const auto summary = run({.page_size = 3, .dry_run = true});

  EXPECT_EQ(summary.tables.at("clicks").recorded, 2);
  EXPECT_EQ(summary.tables.at("views").recorded, 1);
  EXPECT_EQ(summary.tables.at("audit").skipped, 1);
  EXPECT_TRUE(summary.complete());
  EXPECT_TRUE(recorded().empty());
}

TEST_P(BackfillTest, AStopBetweenPagesKeepsWholePagesAndARerunFinishes) {
  std::vector<std::string> keys;
  for (int index = 0; index < 10; ++index) {
    keys.push_back(fmt::format("clicks/v1/{:02}.gz", index));
  }
  put(keys);

  const auto stopped = run({.page_size = 3}, [this](const BackfillSummary& so_far) {
    if (so_far.pages == 2) {
      m_stop.request_stop(); // Ctrl-C during the second page.
    }
  });

  EXPECT_TRUE(stopped.interrupted);
  EXPECT_FALSE(stopped.complete());
  EXPECT_EQ(stopped.pages, 2);
  EXPECT_EQ(recorded().size(), 6U);

  m_stop = std::stop_source();
  const auto rerun = run({.page_size = 3});

  EXPECT_TRUE(rerun.complete());
  EXPECT_EQ(rerun.totals().recorded, 4);
  EXPECT_EQ(rerun.totals().already_recorded, 6);
  EXPECT_EQ(recorded().size(), 10U);
}

TEST_P(BackfillTest, SinceIsInclusiveAndUntilExclusiveOnTheListedTimes) {
  put({"clicks/v1/a.gz", "clicks/v1/b.gz", "clicks/v1/c.gz"});
  auto listed = objectstore::list_all(*m_objects, m_key_base);
  ASSERT_TRUE(listed) << listed.error().message;
  TimePoint newest{};
  TimePoint oldest = TimePoint::max();
  for (const auto& object : *listed) {
    ASSERT_TRUE(object.last_modified) << object.key;
    newest = std::max(newest, *object.last_modified);
    oldest = std::min(oldest, *object.last_modified);
  }
  const auto at_newest = std::count_if(listed->begin(), listed->end(), [&](const auto& object) {
    return *object.last_modified == newest;
  });

  const auto none_before = run({.until = oldest, .dry_run = true});
  const auto none_after = run({.since = newest + 1s, .dry_run = true});
  const auto from_newest = run({.since = newest, .dry_run = true});

  EXPECT_EQ(none_before.outside_window, 3);
  EXPECT_EQ(none_after.outside_window, 3);
  EXPECT_EQ(from_newest.tables.at("clicks").recorded, at_newest);
  EXPECT_EQ(from_newest.outside_window, 3 - at_newest);
}

TEST_P(BackfillTest, OnlyObjectsModifiedInTheWindowAreRecorded) {
  put({"clicks/v1/a.gz", "clicks/v1/b.gz", "clicks/v1/c.gz"});
  const TimePoint day = TimePoint(std::chrono::sys_days{std::chrono::year{2024} / 5 / 1});
  m_listing->times = {{m_key_base + "clicks/v1/a.gz", day - 1s},
                      {m_key_base + "clicks/v1/b.gz", day + 23h},
                      {m_key_base + "clicks/v1/c.gz", day + 24h}};

  const auto summary = run({.since = day, .until = day + 24h});

  EXPECT_EQ(summary.outside_window, 2);
  EXPECT_TRUE(summary.complete());
  EXPECT_EQ(recorded(), std::set<std::string>{key_name("clicks/v1/b.gz") + " clicks v1"});
}

TEST_P(BackfillTest, ATransientListingFailureIsRetried) {
  put({"clicks/v1/a.gz", "clicks/v1/b.gz", "clicks/v1/c.gz"});
  m_listing->failing_call = 2;

  const auto summary = run({.page_size = 2});

  EXPECT_TRUE(summary.complete());
  EXPECT_EQ(m_listing->list_calls, 3);
  EXPECT_EQ(recorded().size(), 3U);
}

TEST_P(BackfillTest, APermanentListingFailureEndsTheBackfillAfterTheCommittedPages) {
  put({"clicks/v1/a.gz", "clicks/v1/b.gz", "clicks/v1/c.gz"});
  m_listing->failing_call = 2;
  m_listing->failing_kind = ErrorKind::permanent;

  const auto summary = run({.page_size = 2});

  ASSERT_TRUE(summary.error);
  EXPECT_EQ(summary.error->message, "list: scripted failure");
  EXPECT_EQ(m_listing->list_calls, 2);
  EXPECT_EQ(summary.pages, 1);
  EXPECT_EQ(recorded().size(), 2U);
}

TEST_P(BackfillTest, FolderMarkersAreCountedNotRouted) {
  put({"clicks/v1/a.gz"});
  m_listing->extra_first = {{.key = m_key_base + "clicks/", .size_bytes = 0}};

  const auto summary = run();

  EXPECT_EQ(summary.folder_markers, 1);
  EXPECT_EQ(summary.unrouted, 0);
  EXPECT_TRUE(summary.complete());
}

INSTANTIATE_TEST_SUITE_P(Backends, BackfillTest,
                         ::testing::Values(Backend{"local_sqlite", false},
                                           Backend{"s3_postgres", true}),
                         [](const auto& param_info) { return param_info.param.name; });

// A local objects root holds one folder per bucket; a file beside the folders is in no bucket.
TEST(BackfillLocalRootTest, FilesOutsideBucketFoldersAreUnrouted) {
  test::TempDir dir;
  auto objects = objectstore::make_local_object_store({.root = dir.path("objects")});
  auto store = ingestdb::make_sqlite_ingest_db({.path = dir.path("ingester.db")});
  ASSERT_TRUE(objects && store);
  ASSERT_TRUE((*objects)->put("stray.gz", "x"));
  ASSERT_TRUE((*objects)->put("bkt/clicks/v1/a.gz", "x"));
  test::FakeClock clock;
  telemetry::Metrics metrics("test");
  registry::EventMetadataCache tables([] { return Result<std::string>(event_metadata()); }, clock,
                                      {});
  auto routes = core::parse_routes(std::vector<std::string>{"{table}/v{version}/*"});
  ASSERT_TRUE(routes);
  storer::MessageCheck check(tables, clock, metrics, {.routes = *routes});

  const auto summary = backfill({.store = objects->get()}, check, store->get(), clock, {}, {});

  EXPECT_EQ(summary.unrouted, 1);
  EXPECT_EQ(summary.unrouted_examples, std::vector<std::string>{"stray.gz"});
  EXPECT_EQ(summary.tables.at("clicks").recorded, 1);
}

} // namespace
} // namespace rsi::app
