// `rs_ingester backfill`'s own rules: time flags, local sources, the summary, the exit status on
// a data directory (local objects, SQLite), and the registry standing in for event metadata.
#include "app/backfill_command.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "app/startup.hpp"
#include "ingestdb/sqlite_ingest_db.hpp"
#include "objectstore/local_object_store.hpp"
#include "sqlite/database.hpp"
#include "support/temp_dir.hpp"

namespace rsi::app {
namespace {

using namespace std::chrono_literals;

TimePoint utc(int year, unsigned month, unsigned day, std::chrono::seconds time = {}) {
  return TimePoint(std::chrono::sys_days{std::chrono::year{year} / month / day}) + time;
}

TEST(BackfillTimeTest, ADateIsMidnightUtc) {
  EXPECT_EQ(parse_backfill_time("2024-05-01").value(), utc(2024, 5, 1));
}

TEST(BackfillTimeTest, TimesCarryTheirZone) {
  EXPECT_EQ(parse_backfill_time("2024-05-01T12:00:00Z").value(), utc(2024, 5, 1, 12h));
  EXPECT_EQ(parse_backfill_time("2024-05-01T14:00:00+02:00").value(), utc(2024, 5, 1, 12h));
  EXPECT_EQ(parse_backfill_time("2024-05-01T12:00:00.750Z").value(), utc(2024, 5, 1, 12h));
}

TEST(BackfillTimeTest, TextWithoutADateOrAZoneIsRefused) {
  for (const auto* text : {"2024-05-01T12:00:00", "yesterday", "2024-5-1", "", "1714560000"}) {
    auto parsed = parse_backfill_time(text);

    ASSERT_FALSE(parsed) << text;
    EXPECT_NE(parsed.error().message.find("2024-05-01T12:00:00Z"), std::string::npos);
  }
}

class LocalSourceTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::filesystem::create_directories(m_root / "bkt/data/clicks");
    std::ofstream(m_root / "bkt/data/clicks/a.gz") << "x";
  }

  test::TempDir m_dir;
  std::filesystem::path m_root = m_dir.path("objects");
};

TEST_F(LocalSourceTest, AFolderNamesTheKeysBelowIt) {
  EXPECT_EQ(local_source_prefix(m_root, m_root).value(), "");
  EXPECT_EQ(local_source_prefix(m_root, m_root / "bkt").value(), "bkt/");
  EXPECT_EQ(local_source_prefix(m_root, m_root / "bkt/data/").value(), "bkt/data/");
  EXPECT_EQ(local_source_prefix(m_root / ".", m_root / "bkt/./data/../data").value(), "bkt/data/");
}

TEST_F(LocalSourceTest, AnythingElseIsTheStartOfKeys) {
  EXPECT_EQ(local_source_prefix(m_root, m_root / "bkt/data/cl").value(), "bkt/data/cl");
  EXPECT_EQ(local_source_prefix(m_root, m_root / "bkt/data/clicks/a.gz").value(),
            "bkt/data/clicks/a.gz");
}

TEST_F(LocalSourceTest, PathsOutsideTheRootAreRefused) {
  for (const auto& outside : {m_dir.path(), m_dir.path("elsewhere"), m_root / "../objects2",
                              std::filesystem::path("/")}) {
    auto prefix = local_source_prefix(m_root, outside);

    ASSERT_FALSE(prefix) << outside;
    EXPECT_NE(prefix.error().message.find("inside the objects root"), std::string::npos);
  }
}

TEST_F(LocalSourceTest, ALinkIntoTheRootCounts) {
  std::filesystem::create_directory_symlink(m_root / "bkt", m_dir.path("shortcut"));

  EXPECT_EQ(local_source_prefix(m_root, m_dir.path("shortcut") / "data").value(), "bkt/data/");
}

TEST(BackfillSummaryTest, NamesEveryOutcomeAndEachTable) {
  BackfillSummary summary{.pages = 2,
                          .listed = 9,
                          .outside_window = 1,
                          .unrouted = 2,
                          .unrouted_examples = {"s3://b/README", "s3://b/x"}};
  summary.tables["clicks"] = {.recorded = 3, .already_recorded = 1};
  summary.tables["audit"] = {.skipped = 1};
  summary.tables["ghost"] = {.unknown = 1};

  const auto text = format_backfill_summary(summary, "s3://b/", false);

  EXPECT_NE(text.find("backfill of s3://b/: 9 objects listed in 2 pages\n"), std::string::npos);
  EXPECT_NE(text.find("  recorded                     3\n"), std::string::npos);
  EXPECT_NE(text.find("  already recorded             1  "), std::string::npos);
  EXPECT_NE(text.find("  unknown tables               1  "), std::string::npos);
  EXPECT_NE(text.find("  skipped                      1  "), std::string::npos);
  EXPECT_NE(text.find("  outside the window           1  "), std::string::npos);
  EXPECT_NE(text.find("  unrouted                     2  (no --route matches), e.g.:\n"
                      "    s3://b/README\n    s3://b/x\n"),
            std::string::npos);
  EXPECT_NE(text.find("  clicks                                   3         1"), std::string::npos);
}

TEST(BackfillSummaryTest, ADryRunSaysWhatItWouldRecord) {
  BackfillSummary summary{.pages = 1, .listed = 1};
  summary.tables["clicks"] = {.recorded = 1};

  const auto text = format_backfill_summary(summary, "/d/objects/bkt", true);

  EXPECT_NE(text.find("backfill (dry run) of /d/objects/bkt: 1 objects listed in 1 page\n"),
            std::string::npos);
  EXPECT_NE(text.find("  would record                 1"), std::string::npos);
  EXPECT_EQ(text.find("already"), std::string::npos);
}

// The command on a data directory laid out as `rs_ingester load` leaves it.
class BackfillCommandTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::filesystem::create_directories(m_dir.path("data/schemas/clicks"));
    std::ofstream(m_dir.path("data/schemas/clicks/v0.json")) << "{}";
    auto objects = objectstore::make_local_object_store({.root = m_dir.path("data/objects")});
    ASSERT_TRUE(objects);
    for (const auto* key : {"local/clicks/v0/a.gz", "local/clicks/v0/b.gz"}) {
      ASSERT_TRUE((*objects)->put(key, "x"));
    }
    m_objects = std::move(*objects);
    m_flags.data_dir = m_dir.path("data").string();
    m_flags.source = m_dir.path("data/objects/local").string();
  }

  int run() { return run_backfill_command(m_flags, std::stop_token()); }

  std::int64_t pending() {
    auto db = sqlite::Database::open(m_dir.path("data/ingester.db"));
    EXPECT_TRUE(db) << db.error().message;
    auto statement = db->prepare("SELECT count(*) FROM tsv");
    EXPECT_TRUE(statement && statement->step().value_or(false));
    return statement->integer(0);
  }

  test::TempDir m_dir;
  std::unique_ptr<objectstore::ObjectStore> m_objects;
  BackfillFlags m_flags;
};

TEST_F(BackfillCommandTest, ExitsZeroWhenEveryObjectIsAccountedFor) {
  EXPECT_EQ(run(), 0);
  EXPECT_EQ(run(), 0); // Already recorded.
  EXPECT_TRUE(std::filesystem::exists(m_dir.path("data/ingester.db")));
}

TEST_F(BackfillCommandTest, UnroutedKeysAndUnknownTablesAreLeftBehind) {
  ASSERT_TRUE(m_objects->put("local/notes.txt", "x"));
  EXPECT_EQ(run(), k_exit_left_behind);

  ASSERT_TRUE(m_objects->remove("local/notes.txt"));
  ASSERT_TRUE(m_objects->put("local/ghost/v0/c.gz", "x")); // No schemas/ghost folder.
  EXPECT_EQ(run(), k_exit_left_behind);
}

TEST_F(BackfillCommandTest, KeysLoadedLongerAgoThanTheHistoryAreRecordedAgain) {
  ASSERT_EQ(run(), 0);
  {
    auto store = ingestdb::make_sqlite_ingest_db({.path = m_dir.path("data/ingester.db")});
    ASSERT_TRUE(store) << store.error().message;
    const TimePoint now = std::chrono::system_clock::now();
    auto claimed = (*store)->claim_batch({{"clicks", 0}}, {.count_trigger = 0}, now);
    ASSERT_TRUE(claimed && claimed->batch && claimed->batch->keys.size() == 2);
    ASSERT_TRUE((*store)->complete_batch(claimed->batch->manifest, now - std::chrono::days(30)));
  }

  m_flags.loaded_key_history_hours = 24 * 60;
  ASSERT_EQ(run(), 0);
  EXPECT_EQ(pending(), 0);

  m_flags.loaded_key_history_hours = 24 * 7;
  ASSERT_EQ(run(), 0);
  EXPECT_EQ(pending(), 2);
}

TEST_F(BackfillCommandTest, ADryRunOpensNoDatabase) {
  m_flags.dry_run = true;

  EXPECT_EQ(run(), 0);
  EXPECT_FALSE(std::filesystem::exists(m_dir.path("data/ingester.db")));
}

TEST_F(BackfillCommandTest, BadOptionsExitTwo) {
  const auto with = [this](auto change) {
    BackfillFlags flags = m_flags;
    change(flags);
    return run_backfill_command(flags, std::stop_token());
  };

  EXPECT_EQ(with([](BackfillFlags& flags) { flags.data_dir.clear(); }), k_exit_config_error);
  EXPECT_EQ(with([](BackfillFlags& flags) { flags.source = "s3://bucket/prefix"; }),
            k_exit_config_error);
  EXPECT_EQ(with([](BackfillFlags& flags) { flags.source = "/tmp"; }), k_exit_config_error);
  EXPECT_EQ(with([this](BackfillFlags& flags) {
              flags.data_dir = m_dir.path("nothing").string(); // No objects folder to list.
              flags.source = m_dir.path("nothing/objects/local").string();
            }),
            k_exit_config_error);
  EXPECT_EQ(with([](BackfillFlags& flags) { flags.routes = {"{tabel}/*"}; }), k_exit_config_error);
  EXPECT_EQ(with([](BackfillFlags& flags) {
              flags.since = "2024-05-02";
              flags.until = "2024-05-01";
            }),
            k_exit_config_error);
  const auto daemons = [](BackfillFlags& flags) {
    flags.data_dir.clear();
    flags.database_url = "sqlite:///tmp/never-opened.db";
    flags.source = "s3://bucket/prefix";
    flags.routes = {"{table}/v{version}/*"};
    flags.registry_url = "file:///tmp/schemas";
  };
  EXPECT_EQ(with([&](BackfillFlags& flags) {
              daemons(flags);
              flags.routes.clear();
            }),
            k_exit_config_error);
  EXPECT_EQ(with([&](BackfillFlags& flags) {
              daemons(flags);
              flags.registry_url.clear(); // Nothing says which tables load.
            }),
            k_exit_config_error);
  EXPECT_EQ(with([&](BackfillFlags& flags) {
              daemons(flags);
              flags.source = m_dir.path("data/objects/local").string(); // Needs --objects-url.
            }),
            k_exit_config_error);
}

TEST_F(BackfillCommandTest, AStopBeforeTheFirstPageIsAnInterruption) {
  std::stop_source stop;
  stop.request_stop();

  EXPECT_EQ(run_backfill_command(m_flags, stop.get_token()), k_exit_interrupted);
}

class CountingRegistry final : public registry::SchemaRegistry {
public:
  Result<std::vector<core::Operation>> migration(std::string_view, int) override { return {}; }
  Result<std::optional<core::TableSchema>> schema(std::string_view, int) override {
    return std::nullopt;
  }
  Result<std::optional<int>> current_version(std::string_view table) override {
    ++calls;
    if (table == "down") {
      return fail(ErrorKind::transient, "registry: connection refused");
    }
    return table == "known" ? std::optional<int>(3) : std::nullopt;
  }

  int calls = 0;
};

TEST(RegistryTableDirectoryTest, TablesTheRegistryKnowsLoadAndAnswersAreKept) {
  CountingRegistry registry;
  RegistryTableDirectory tables(registry);

  EXPECT_EQ(tables.membership("known").value(), core::AceMembership::in_ace);
  EXPECT_EQ(tables.membership("known").value(), core::AceMembership::in_ace);
  EXPECT_EQ(tables.membership("other").value(), core::AceMembership::unknown_table);
  EXPECT_EQ(registry.calls, 2);
  EXPECT_EQ(tables.membership("down").error().kind, ErrorKind::transient);
  EXPECT_FALSE(tables.membership("down"));
  EXPECT_EQ(registry.calls, 4); // Failures are asked again.
}

} // namespace
} // namespace rsi::app
