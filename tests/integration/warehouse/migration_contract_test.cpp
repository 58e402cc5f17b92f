// Versions, migrations and views: behaviour every Warehouse backend shares (PostgreSQL and
// SQLite here; the Redshift backend's SQL is golden text in the unit tests and runs against
// PostgreSQL with Redshift's functions stood in for in redshift_on_postgres_test.cpp).

#include <chrono>

#include "warehouse_fixture.hpp"

namespace rsi::warehouse::testing {
namespace {

using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

const std::vector<core::Operation> k_v0 = {
    add_column("time", "f@timestamp@unix", " sortkey", 0),
    add_column("ip", "varchar", "(15)", 0),
    add_column("country", "ipCountry", "", 0),
    add_column("channel", "varchar", "(25) distkey", 0),
    add_column("minutes", "int", " encode az64", 0),
};

class MigrationContract : public WarehouseTest {};

TEST_P(MigrationContract, AnEmptyWarehouseHasNoVersions) {
  const auto versions = m_warehouse->table_versions();

  ASSERT_TRUE(versions) << versions.error().message;
  EXPECT_TRUE(versions->empty());
  EXPECT_FALSE(m_warehouse->table_exists("minute_watched").value());
  EXPECT_FALSE(m_warehouse->table_locked("minute_watched").value());
  EXPECT_TRUE(m_warehouse->ping());
}

TEST_P(MigrationContract, TableVersionsAreIndexedByName) {
  // A table's version is read by every load and migration step: from an index, so that creating
  // N tables stays linear in N (issue 20).
  const auto indexes = is_postgres()
                           ? query("SELECT indexdef FROM pg_indexes WHERE schemaname = 'infra' AND "
                                   "tablename = 'table_version'",
                                   1)
                           : query("SELECT sql FROM sqlite_master WHERE type = 'index' AND "
                                   "tbl_name = 'infra.table_version'",
                                   1);
  ASSERT_EQ(indexes.size(), 1U);
  EXPECT_NE(indexes[0][0].value_or("").find("(name, version)"), std::string::npos)
      << indexes[0][0].value_or("");
}

TEST_P(MigrationContract, CreateMakesTableViewsAndVersion) {
  create("minute_watched", k_v0);

  EXPECT_EQ(m_warehouse->table_versions().value(), (TableVersions{{"minute_watched", 0}}));
  EXPECT_TRUE(m_warehouse->table_exists("minute_watched").value());
  EXPECT_EQ(columns_of("minute_watched"), (Strings{"time", "ip", "country", "channel", "minutes"}));
  EXPECT_TRUE(relation_exists(view_ref("minute_watched")));
  EXPECT_TRUE(relation_exists(full_view_ref("minute_watched")));
}

TEST_P(MigrationContract, EveryOperationKindAltersTheTableAndItsViews) {
  create("minute_watched", k_v0);
  const auto loaded = m_warehouse->load_batch(
      {.manifest = "00000000-0000-4000-8000-000000000001",
       .table = "minute_watched",
       .version = 0,
       .files = {put_file("v0.gz", "2016-07-29 22:00:00\t10.0.0.1\tUS\tsomeone\t7\n")}});
  ASSERT_TRUE(loaded) << loaded.error().message;
  const std::vector<core::Operation> v1 = {
      delete_column("country", 1),
      add_column("platform", "varchar", "(16)", 1),
      add_column("city", "ipCity", "", 1),
      rename_column("channel", "channel_name", 1),
      event_step(core::Action::request_drop_event, 1),
  };

  const auto altered = m_warehouse->apply_migration("minute_watched", 1, v1, 60s);

  ASSERT_TRUE(altered) << altered.error().message;
  EXPECT_EQ(m_warehouse->table_versions().value(), (TableVersions{{"minute_watched", 1}}));
  EXPECT_EQ(columns_of("minute_watched"),
            (Strings{"time", "ip", "channel_name", "minutes", "platform", "city"}));
  // The views were dropped and made again, so they show the new columns.
  EXPECT_EQ(query("SELECT channel_name, platform, city FROM " + view_ref("minute_watched"), 3),
            (std::vector<Row>{{Value("someone"), Value(), Value()}}));
  EXPECT_EQ(query("SELECT ip, minutes FROM " + full_view_ref("minute_watched"), 2),
            (std::vector<Row>{{Value(), Value("7")}}));
}

TEST_P(MigrationContract, TheExpectedVersionMustStillHold) {
  create("t", k_v0);

  const auto skipped =
      m_warehouse->apply_migration("t", 2, std::vector{add_column("x", "bigint", "", 2)}, 60s);
  const auto again = m_warehouse->apply_migration("t", 0, k_v0, 60s);

  ASSERT_FALSE(skipped);
  EXPECT_EQ(skipped.error().kind, ErrorKind::conflict);
  EXPECT_NE(skipped.error().message.find("holds version 0 (expected 1)"), std::string::npos)
      << skipped.error().message;
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::conflict);
  EXPECT_EQ(columns_of("t").size(), k_v0.size());
}

TEST_P(MigrationContract, CreateWithDropEventCreatesNothingButRecordsTheVersion) {
  const auto applied = m_warehouse->apply_migration(
      "video_play", 0, std::vector{event_step(core::Action::drop_event, 0)}, 60s);

  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_FALSE(m_warehouse->table_exists("video_play").value());
  EXPECT_EQ(m_warehouse->table_versions().value(), (TableVersions{{"video_play", 0}}));
}

TEST_P(MigrationContract, DropEventOnATableKeepsItAndBumpsTheVersion) {
  create("video_play", k_v0);

  for (const auto& [version, action] :
       {std::pair{1, core::Action::request_drop_event},
        std::pair{2, core::Action::cancel_drop_event}, std::pair{3, core::Action::drop_event}}) {
    const auto applied = m_warehouse->apply_migration(
        "video_play", version, std::vector{event_step(action, version)}, 60s);
    ASSERT_TRUE(applied) << applied.error().message;
  }

  EXPECT_TRUE(m_warehouse->table_exists("video_play").value());
  EXPECT_EQ(m_warehouse->table_versions().value(), (TableVersions{{"video_play", 3}}));
  EXPECT_TRUE(relation_exists(view_ref("video_play")));
}

TEST_P(MigrationContract, IncrementVersionOnlyForATableThatDoesNotExist) {
  EXPECT_EQ(m_warehouse->increment_version("retired").value(), 0);
  EXPECT_EQ(m_warehouse->increment_version("retired").value(), 1);
  // Blueprint then records drop_event at the next version.
  EXPECT_TRUE(m_warehouse->apply_migration(
      "retired", 2, std::vector{event_step(core::Action::drop_event, 2)}, 60s));
  create("live", k_v0);

  const auto refused = m_warehouse->increment_version("live");

  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::conflict);
  EXPECT_EQ(m_warehouse->table_versions().value(), (TableVersions{{"live", 0}, {"retired", 2}}));
}

TEST_P(MigrationContract, ATableWithVersionsButNoTableIsCreatedAtItsNextVersion) {
  ASSERT_EQ(m_warehouse->increment_version("reborn").value(), 0);

  const auto created = m_warehouse->apply_migration(
      "reborn", 1, std::vector{add_column("time", "f@timestamp@unix", "", 1)}, 60s);

  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(columns_of("reborn"), (Strings{"time"}));
}

TEST_P(MigrationContract, AFailedMigrationLeavesNoTrace) {
  create("t", k_v0);
  Layout broken = default_layout();
  broken.view_filter = "WHERE (";
  reopen(broken);

  const auto failed =
      m_warehouse->apply_migration("t", 1, std::vector{add_column("extra", "bigint", "", 1)}, 60s);

  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().kind, ErrorKind::permanent);
  EXPECT_NE(failed.error().message.find("migration t v1"), std::string::npos)
      << failed.error().message;
  EXPECT_EQ(m_warehouse->table_versions().value(), (TableVersions{{"t", 0}}));
  EXPECT_EQ(columns_of("t").size(), k_v0.size());
  EXPECT_TRUE(relation_exists(view_ref("t"))); // The dropped view came back with the rollback.
}

TEST_P(MigrationContract, InvalidOperationsFailBeforeAnyDdl) {
  create("t", k_v0);

  const auto bad_type =
      m_warehouse->apply_migration("t", 1,
                                   std::vector{add_column("ok", "bigint", "", 1),
                                               add_column("x", "varchar", "(8); DROP TABLE t", 1)},
                                   60s);
  const auto missing =
      m_warehouse->apply_migration("t", 1, std::vector{delete_column("nope", 1)}, 60s);

  ASSERT_FALSE(bad_type);
  EXPECT_EQ(bad_type.error().kind, ErrorKind::permanent);
  EXPECT_NE(bad_type.error().message.find("migration t v1: column \"x\""), std::string::npos)
      << bad_type.error().message;
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("delete \"nope\": no such column"), std::string::npos)
      << missing.error().message;
  EXPECT_EQ(columns_of("t").size(), k_v0.size());
  EXPECT_TRUE(m_warehouse->table_exists("t").value());
}

TEST_P(MigrationContract, ViewFilterApplies) {
  Layout layout = default_layout();
  layout.view_filter = "WHERE \"minutes\" > 5";
  reopen(layout);
  create("t", k_v0);
  ASSERT_TRUE(
      m_warehouse->load_batch({.manifest = "00000000-0000-4000-8000-000000000002",
                               .table = "t",
                               .version = 0,
                               .files = {put_file("f.gz", "2016-07-29 22:00:00\t\t\t\t3\n"
                                                          "2016-07-29 22:00:01\t\t\t\t9\n")}}));

  EXPECT_EQ(count(table_ref("t")), 2);
  EXPECT_EQ(count(view_ref("t")), 1);
}

TEST_P(MigrationContract, ATableWithoutTheViewColumnHasAnUnfilteredViewAndNoFullView) {
  Layout layout = default_layout();
  layout.view_filter = "WHERE \"time\" > '2020-01-01'";
  reopen(layout);
  create("no_time", std::vector{add_column("login", "varchar", "(8)", 0),
                                add_column("ip", "varchar", "(15)", 0)});
  ASSERT_TRUE(m_warehouse->load_batch({.manifest = "00000000-0000-4000-8000-000000000003",
                                       .table = "no_time",
                                       .version = 0,
                                       .files = {put_file("n.gz", "a\t1.2.3.4\nb\t5.6.7.8\n")}}));

  EXPECT_TRUE(m_warehouse->table_exists("no_time").value());
  EXPECT_EQ(count(view_ref("no_time")), 2)
      << "every table has its view; the filter needs the view column";
  EXPECT_FALSE(relation_exists(full_view_ref("no_time")));
}

TEST_P(MigrationContract, RenamingTheViewColumnAwayAndBackMovesTheFilterAndTheFullView) {
  Layout layout = default_layout();
  layout.view_filter = "WHERE \"time\" > '2020-01-01'";
  reopen(layout);
  create("t", std::vector{add_column("time", "f@timestamp@unix", "", 0),
                          add_column("ip", "varchar", "(15)", 0)});
  ASSERT_TRUE(
      m_warehouse->load_batch({.manifest = "00000000-0000-4000-8000-000000000004",
                               .table = "t",
                               .version = 0,
                               .files = {put_file("t.gz", "2016-07-29 22:00:00\t1.2.3.4\n"
                                                          "2024-07-29 22:00:00\t5.6.7.8\n")}}));
  ASSERT_EQ(count(view_ref("t")), 1);
  ASSERT_EQ(query("SELECT ip FROM " + full_view_ref("t"), 1),
            (std::vector<Row>{{Value()}, {Value()}}));

  ASSERT_TRUE(m_warehouse->apply_migration(
      "t", 1, std::vector{rename_column("time", "event_time", 1)}, 60s));
  EXPECT_EQ(count(view_ref("t")), 2) << "without the view column the view is not filtered";
  EXPECT_FALSE(relation_exists(full_view_ref("t")));

  ASSERT_TRUE(m_warehouse->apply_migration(
      "t", 2, std::vector{rename_column("event_time", "time", 2)}, 60s));
  EXPECT_EQ(count(view_ref("t")), 1);
  EXPECT_EQ(count(full_view_ref("t")), 2);
}

TEST_P(MigrationContract, RepairCreatesThePlainViewsAnEarlierReleaseLeftOut) {
  create("no_time", std::vector{add_column("login", "varchar", "(8)", 0)});
  create("timed", std::vector{add_column("time", "f@timestamp@unix", "", 0)});
  ASSERT_TRUE(m_warehouse->increment_version("retired")); // A version without a table.
  query("DROP VIEW " + view_ref("no_time"), 0);           // As the earlier rule left it.
  ASSERT_FALSE(relation_exists(view_ref("no_time")));

  const auto repaired = m_warehouse->repair_views();
  const auto again = m_warehouse->repair_views();

  ASSERT_TRUE(repaired) << repaired.error().message;
  ASSERT_EQ(repaired->size(), 1U);
  EXPECT_NE((*repaired)[0].find("no_time"), std::string::npos) << (*repaired)[0];
  EXPECT_TRUE(relation_exists(view_ref("no_time")));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->empty());
}

TEST_P(MigrationContract, HostileColumnNamesNeverBreakAStatement) {
  const Strings hostile = {"it's",      "a;b",         "Robert'); DROP TABLE students;--",
                           "naïve ☃ ü", "back\\slash", "a b",
                           "$1",        "--comment",   "x/*y*/"};
  std::vector<core::Operation> ops = {add_column("time", "f@timestamp@unix", "", 0)};
  for (const auto& name : hostile) {
    ops.push_back(add_column(name, "varchar", "(16)", 0));
  }
  create("hostile", ops);
  std::string line = "2016-07-29 22:00:00";
  for (std::size_t index = 0; index < hostile.size(); ++index) {
    line += "\tv" + std::to_string(index);
  }
  ASSERT_TRUE(m_warehouse->load_batch({.manifest = "00000000-0000-4000-8000-000000000003",
                                       .table = "hostile",
                                       .version = 0,
                                       .files = {put_file("h.gz", line + "\n")}}));
  const std::vector<core::Operation> v1 = {rename_column("it's", "it''s \"renamed\"", 1),
                                           delete_column("a;b", 1),
                                           add_column("new ☃;", "bigint", "", 1)};

  const auto altered = m_warehouse->apply_migration("hostile", 1, v1, 60s);

  // A double quote is not allowed in a column name: the whole migration is refused.
  ASSERT_FALSE(altered);
  EXPECT_EQ(altered.error().kind, ErrorKind::permanent);
  const std::vector<core::Operation> v1_ok = {rename_column("it's", "it''s renamed", 1),
                                              delete_column("a;b", 1),
                                              add_column("new ☃;", "bigint", "", 1)};
  const auto altered_ok = m_warehouse->apply_migration("hostile", 1, v1_ok, 60s);
  ASSERT_TRUE(altered_ok) << altered_ok.error().message;
  Strings expected = {"time", "it''s renamed"};
  expected.insert(expected.end(), hostile.begin() + 2, hostile.end());
  expected.push_back("new ☃;");
  EXPECT_EQ(columns_of("hostile"), expected);
  const auto rows =
      query("SELECT \"it''s renamed\", \"Robert'); DROP TABLE students;--\", \"naïve ☃ ü\" FROM " +
                view_ref("hostile"),
            3);
  EXPECT_EQ(rows, (std::vector<Row>{{Value("v0"), Value("v2"), Value("v3")}}));
}

TEST_P(MigrationContract, HostileTableNamesAreRefusedEverywhere) {
  for (const std::string& table :
       {std::string("t\"; DROP TABLE x; --"), std::string("a;b"), std::string("t'x"),
        std::string("naïve"), std::string(128, 't'), std::string("t\0x", 3)}) {
    EXPECT_EQ(m_warehouse->table_exists(table).error().kind, ErrorKind::permanent);
    EXPECT_EQ(m_warehouse->table_locked(table).error().kind, ErrorKind::permanent);
    EXPECT_EQ(m_warehouse->increment_version(table).error().kind, ErrorKind::permanent);
    EXPECT_EQ(m_warehouse->apply_migration(table, 0, k_v0, 60s).error().kind, ErrorKind::permanent);
    EXPECT_EQ(m_warehouse
                  ->load_batch({.manifest = "00000000-0000-4000-8000-000000000004",
                                .table = table,
                                .files = {core::ObjectLocation{"b", "k.gz"}}})
                  .error()
                  .kind,
              ErrorKind::permanent);
  }
  EXPECT_TRUE(m_warehouse->table_versions().value().empty());
}

TEST_P(MigrationContract, LongNamesFollowTheWarehousesLimit) {
  const std::string name_64(64, 'c');
  const std::string name_127(127, 'c');

  const auto long_column =
      m_warehouse->apply_migration("t", 0, std::vector{add_column(name_64, "bigint", "", 0)}, 60s);
  const auto too_long = m_warehouse->apply_migration(
      "u", 0, std::vector{add_column(std::string(128, 'c'), "bigint", "", 0)}, 60s);
  const auto long_table = m_warehouse->apply_migration(name_127, 0, k_v0, 60s);

  EXPECT_FALSE(too_long);
  if (is_postgres()) {
    // PostgreSQL would cut these to 63 bytes: refused instead, with the reason.
    ASSERT_FALSE(long_column);
    EXPECT_NE(long_column.error().message.find("at most 63"), std::string::npos)
        << long_column.error().message;
    ASSERT_FALSE(long_table);
    EXPECT_EQ(long_table.error().kind, ErrorKind::permanent);
  } else {
    EXPECT_TRUE(long_column) << long_column.error().message;
    EXPECT_TRUE(long_table) << long_table.error().message;
  }
}

TEST_P(MigrationContract, ASecondWorkerSeesTheSameVersions) {
  create("t", k_v0);
  auto other = make(default_layout());
  ASSERT_TRUE(other) << other.error().message;

  EXPECT_EQ((*other)->table_versions().value(), (TableVersions{{"t", 0}}));
  const auto racing = (*other)->apply_migration("t", 0, k_v0, 60s);
  ASSERT_FALSE(racing);
  EXPECT_EQ(racing.error().kind, ErrorKind::conflict);
}

TEST_P(MigrationContract, MigrationStatementsListTheDdlWithoutRunningIt) {
  create("t", k_v0);
  const std::vector<core::Operation> v1 = {add_column("extra", "bigint", "", 1)};

  const auto listed = m_warehouse->migration_statements("t", 1, v1);
  const auto stale = m_warehouse->migration_statements("t", 3, v1);

  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 5U); // Both views dropped, the ALTER, both views made again.
  EXPECT_NE(listed->at(2).find("ADD COLUMN \"extra\" bigint"), std::string::npos) << listed->at(2);
  EXPECT_EQ(columns_of("t").size(), k_v0.size());
  EXPECT_EQ(m_warehouse->table_versions().value(), (TableVersions{{"t", 0}}));
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().kind, ErrorKind::conflict);
}

INSTANTIATE_TEST_SUITE_P(Backends, MigrationContract, ::testing::Values(k_sqlite, k_postgres),
                         backend_name);

} // namespace
} // namespace rsi::warehouse::testing
