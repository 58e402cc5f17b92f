// The DDL of every Blueprint operation kind, per dialect. The Redshift plans are golden text:
// the statements the original sent (../shared/spec/README.md), with the two deliberate changes
// docs/warehouse.md lists (DROP VIEW IF EXISTS for the view too; SET LOCAL).

#include "warehouse/migration_plan.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sqlite/database.hpp"
#include "warehouse_test_util.hpp"

namespace rsi::warehouse {
namespace {

using Statements = std::vector<std::string>;

core::Operation add(std::string name, std::string type, std::string options = "", int version = 0) {
  return {.action = core::Action::add,
          .name = std::move(name),
          .version = version,
          .inbound = "x",
          .column_type = std::move(type),
          .column_options = std::move(options)};
}

core::Operation remove(std::string name, int version) {
  return {.action = core::Action::delete_column, .name = std::move(name), .version = version};
}

core::Operation rename(std::string from, std::string to, int version) {
  return {.action = core::Action::rename,
          .name = std::move(from),
          .version = version,
          .new_outbound = std::move(to)};
}

core::Operation event(core::Action action, int version) {
  return {.action = action, .version = version, .reason = "testing"};
}

// The recorded deployment's layout: its tables lack the view column, so (by the original's
// rule) their plain views have no filter and there are no full views.
Layout spec_layout() {
  return {.physical_schema = "logs",
          .view_schema = "views",
          .view_column = "server_time",
          .view_filter = "WHERE server_time > GETDATE() - interval '90 days'",
          .full_view_schema = "fullviews"};
}

// A layout as deployments of the original wrote it, for tables that have the view column: the
// replacements carry their own aliases.
Layout filtered_layout() {
  return {.physical_schema = "logs",
          .view_schema = "views",
          .view_column = "time",
          .view_filter = "WHERE \"time\" > GETDATE() - interval '90 days'",
          .full_view_schema = "fullviews",
          .full_view_replacements = {{"ip", "NULL::varchar(15) AS ip"}, {"not_here", "1 AS x"}}};
}

SqlNames redshift_names(Layout layout = spec_layout()) {
  return SqlNames(Dialect::redshift, test::libpq_quoter(), std::move(layout));
}

SqlNames postgres_names(Layout layout = spec_layout()) {
  return SqlNames(Dialect::postgres, test::libpq_quoter(), std::move(layout));
}

SqlNames sqlite_names(Layout layout = spec_layout()) {
  return SqlNames(
      Dialect::sqlite,
      [](std::string_view name) -> Result<std::string> {
        return sqlite::Database::quote_identifier(name);
      },
      std::move(layout));
}

const std::vector<core::Operation> k_create_pg_event = {
    add("time", "f@timestamp@unix"), add("country", "ipCountry"), add("n", "bigint"),
    add("s", "varchar", "(10)")};

TEST(RedshiftPlanTest, CreateIsTheOriginalsStatement) {
  const auto plan =
      plan_migration(redshift_names(), "pg_event", 0, k_create_pg_event, std::nullopt);

  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_TRUE(plan->creates_table);
  EXPECT_EQ(
      plan->statements,
      (Statements{
          R"(CREATE TABLE "logs"."pg_event"("time" datetime,"country" varchar(2),"n" bigint,"s" varchar(10));)",
          R"(CREATE VIEW "views"."pg_event" AS SELECT * FROM "logs"."pg_event" ;)"}));
  EXPECT_EQ(plan->columns, (Statements{"time", "country", "n", "s"}));
}

TEST(RedshiftPlanTest, EveryIdentifierIsFoldedAsRedshiftFoldsIt) {
  Layout layout = spec_layout();
  layout.physical_schema = "Logs";
  layout.view_schema = "Views";
  const std::vector<core::Operation> create = {add("Time", "f@timestamp@unix"),
                                               add("userÉtat", "int")};

  const auto created = plan_migration(redshift_names(layout), "MyEvent", 0, create, std::nullopt);
  const auto altered =
      plan_migration(redshift_names(layout), "MyEvent", 1,
                     {{add("NewCol", "int", "", 1), rename("Time", "WhenSeen", 1)}},
                     std::vector<std::string>{"time", "userÉtat"});
  const auto kept = plan_migration(postgres_names(layout), "MyEvent", 0, create, std::nullopt);

  ASSERT_TRUE(created && altered && kept);
  // ASCII letters only: "É" is not an ASCII letter, and Redshift keeps it.
  EXPECT_EQ(created->statements.front(),
            R"(CREATE TABLE "logs"."myevent"("time" datetime,"userÉtat" int);)");
  EXPECT_EQ(altered->statements.at(0), R"(DROP VIEW IF EXISTS "views"."myevent" CASCADE)");
  EXPECT_EQ(altered->statements.at(2), R"(ALTER TABLE "logs"."myevent" ADD COLUMN "newcol" int)");
  EXPECT_EQ(altered->statements.at(3),
            R"(ALTER TABLE "logs"."myevent" RENAME COLUMN "time" TO "whenseen")");
  EXPECT_EQ(kept->statements.front(),
            R"(CREATE TABLE "Logs"."MyEvent"("Time" timestamp,"userÉtat" integer);)");
  EXPECT_EQ(catalog_name("MyEvent", Dialect::redshift), "myevent");
  EXPECT_EQ(catalog_name("MyEvent", Dialect::postgres), "MyEvent");
}

TEST(RedshiftPlanTest, KeyColumnRulesAreCheckedBeforeAnyDdlNamingColumnAndRule) {
  const auto two_distkeys = plan_migration(
      redshift_names(), "pg_event", 0,
      {{add("a", "int", " distkey"), add("b", "int", " sortkey"), add("c", "int", " distkey")}},
      std::nullopt);
  const auto add_sortkey =
      plan_migration(redshift_names(), "pg_event", 1, {{add("d", "int", " sortkey", 1)}},
                     std::vector<std::string>{"a", "b"});
  const auto add_distkey =
      plan_migration(redshift_names(), "pg_event", 1, {{add("d", "varchar", "(10) DISTKEY", 1)}},
                     std::vector<std::string>{"a", "b"});
  const TableKeys keys{.distkey = {"a"}, .sortkey = {"b"}};
  const auto drop_distkey = plan_migration(redshift_names(), "pg_event", 1, {{remove("A", 1)}},
                                           std::vector<std::string>{"a", "b"}, keys);
  const auto drop_renamed_sortkey =
      plan_migration(redshift_names(), "pg_event", 1, {{rename("b", "when", 1), remove("when", 1)}},
                     std::vector<std::string>{"a", "b"}, keys);

  ASSERT_FALSE(two_distkeys || add_sortkey || add_distkey || drop_distkey || drop_renamed_sortkey);
  EXPECT_EQ(two_distkeys.error().message,
            "migration pg_event v0: add \"c\": distkey: only one column of a table can be the "
            "distribution key (Redshift, CREATE TABLE), and \"a\" is already");
  EXPECT_EQ(add_sortkey.error().message,
            "migration pg_event v1: add \"d\": sortkey: ADD COLUMN cannot add a sort key column "
            "to an existing table (Redshift, ALTER TABLE); a key is declared when the table is "
            "created");
  EXPECT_NE(add_distkey.error().message.find(
                "add \"d\": distkey: ADD COLUMN cannot add a distribution key column"),
            std::string::npos)
      << add_distkey.error().message;
  EXPECT_EQ(drop_distkey.error().message,
            "migration pg_event v1: delete \"A\": the column is the table's distribution key "
            "(distkey): DROP COLUMN cannot drop it (Redshift, ALTER TABLE)");
  EXPECT_EQ(drop_renamed_sortkey.error().message,
            "migration pg_event v1: delete \"when\": the column is one of the table's sort key "
            "columns (sortkey): DROP COLUMN cannot drop it (Redshift, ALTER TABLE)");
  for (const auto* error : {&two_distkeys.error(), &add_sortkey.error(), &drop_distkey.error()}) {
    EXPECT_EQ(error->kind, ErrorKind::permanent);
  }
  // The rules are Redshift's: PostgreSQL makes a sortkey a BRIN index, and has no distkey.
  EXPECT_TRUE(plan_migration(postgres_names(), "pg_event", 1, {{add("d", "int", " sortkey", 1)}},
                             std::vector<std::string>{"a", "b"}));
  // One distkey and other columns' sortkeys are fine in a CREATE TABLE.
  EXPECT_TRUE(plan_migration(
      redshift_names(), "pg_event", 0,
      {{add("a", "int", " distkey"), add("b", "int", " sortkey"), add("c", "int", " sortkey")}},
      std::nullopt));
}

TEST(RedshiftPlanTest, AddDropsAndRecreatesTheViews) {
  const std::vector<core::Operation> ops = {add("city", "ipCity", "", 1)};

  const auto plan =
      plan_migration(redshift_names(), "pg_event", 1, ops, Statements{"time", "country", "n", "s"});

  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_FALSE(plan->creates_table);
  EXPECT_EQ(plan->statements,
            (Statements{
                R"(DROP VIEW IF EXISTS "views"."pg_event" CASCADE)",
                R"(DROP VIEW IF EXISTS "fullviews"."pg_event" CASCADE)",
                R"(ALTER TABLE "logs"."pg_event" ADD COLUMN "city" varchar(64))",
                R"(CREATE VIEW "views"."pg_event" AS SELECT * FROM "logs"."pg_event" ;)",
            }));
}

TEST(RedshiftPlanTest, EveryOperationKindInOneVersion) {
  // Blueprint's order within a version: deletes, adds, renames.
  const std::vector<core::Operation> ops = {
      remove("device_id", 1),
      add("platform", "varchar", "(16) encode zstd", 1),
      add("bytes", "bigint", "", 1),
      rename("channel", "channel_name", 1),
      event(core::Action::request_drop_event, 1),
      event(core::Action::cancel_drop_event, 1),
  };

  const auto plan =
      plan_migration(redshift_names(), "minute_watched", 1, ops,
                     Statements{"time", "channel", "device_id", "minutes_logged", "country"});

  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(
      plan->statements,
      (Statements{
          R"(DROP VIEW IF EXISTS "views"."minute_watched" CASCADE)",
          R"(DROP VIEW IF EXISTS "fullviews"."minute_watched" CASCADE)",
          R"(ALTER TABLE "logs"."minute_watched" DROP COLUMN "device_id" CASCADE)",
          R"(ALTER TABLE "logs"."minute_watched" ADD COLUMN "platform" varchar(16) encode zstd)",
          R"(ALTER TABLE "logs"."minute_watched" ADD COLUMN "bytes" bigint)",
          R"(ALTER TABLE "logs"."minute_watched" RENAME COLUMN "channel" TO "channel_name")",
          R"(CREATE VIEW "views"."minute_watched" AS SELECT * FROM "logs"."minute_watched" ;)",
      }));
  EXPECT_EQ(plan->columns,
            (Statements{"time", "channel_name", "minutes_logged", "country", "platform", "bytes"}));
}

TEST(RedshiftPlanTest, CreateWithDropEventCreatesNothing) {
  const std::vector<core::Operation> ops = {add("time", "f@timestamp@unix", " sortkey", 3),
                                            event(core::Action::drop_event, 3)};

  const auto plan = plan_migration(redshift_names(), "video_play", 3, ops, std::nullopt);

  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_FALSE(plan->creates_table);
  EXPECT_TRUE(plan->statements.empty());
}

TEST(RedshiftPlanTest, EventStepsOnAnExistingTableRecreateTheViewsAsTheOriginal) {
  // Every version step drops and creates the views again, as the original did. request and
  // cancel keep the views as they were; a drop_event builds them from no columns (the
  // original got none from Blueprint for a dropped event): no filter, no full view.
  const Statements drops{R"(DROP VIEW IF EXISTS "views"."video_play" CASCADE)",
                         R"(DROP VIEW IF EXISTS "fullviews"."video_play" CASCADE)"};
  const std::string filtered =
      R"(CREATE VIEW "views"."video_play" AS SELECT * FROM "logs"."video_play" WHERE "time" > GETDATE() - interval '90 days';)";
  const std::string full =
      R"(CREATE VIEW "fullviews"."video_play" AS SELECT "time", "login", NULL::varchar(15) AS ip FROM "logs"."video_play")";
  const std::string unfiltered =
      R"(CREATE VIEW "views"."video_play" AS SELECT * FROM "logs"."video_play" ;)";
  for (const auto& [action, views] : std::vector<std::pair<core::Action, Statements>>{
           {core::Action::request_drop_event, {filtered, full}},
           {core::Action::cancel_drop_event, {filtered, full}},
           {core::Action::drop_event, {unfiltered}}}) {
    const std::vector<core::Operation> ops = {event(action, 1)};

    const auto plan = plan_migration(redshift_names(filtered_layout()), "video_play", 1, ops,
                                     Statements{"time", "login", "ip"});

    ASSERT_TRUE(plan) << plan.error().message;
    Statements expected = drops;
    expected.insert(expected.end(), views.begin(), views.end());
    EXPECT_EQ(plan->statements, expected) << core::to_string(action);
    EXPECT_EQ(plan->columns, (Statements{"time", "login", "ip"}));
  }
}

TEST(RedshiftPlanTest, WithTheViewColumnTheFilterAndTheFullViewWithReplacementsVerbatim) {
  const auto plan = plan_migration(redshift_names(filtered_layout()), "t", 0,
                                   std::vector{add("time", "f@timestamp@unix", " sortkey"),
                                               add("ip", "varchar", "(15)"), add("n", "bigint")},
                                   std::nullopt);

  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(
      plan->statements,
      (Statements{
          R"(CREATE TABLE "logs"."t"("time" datetime sortkey,"ip" varchar(15),"n" bigint);)",
          R"(CREATE VIEW "views"."t" AS SELECT * FROM "logs"."t" WHERE "time" > GETDATE() - interval '90 days';)",
          R"(CREATE VIEW "fullviews"."t" AS SELECT "time", NULL::varchar(15) AS ip, "n" FROM "logs"."t")",
      }));
}

TEST(RedshiftPlanTest, TheFullViewNeedsTheViewColumnNotAReplacement) {
  Layout layout = filtered_layout();
  layout.full_view_replacements.clear();

  const auto plan = plan_migration(redshift_names(layout), "t", 0,
                                   std::vector{add("time", "f@timestamp@unix"), add("n", "bigint")},
                                   std::nullopt);

  ASSERT_TRUE(plan) << plan.error().message;
  ASSERT_EQ(plan->statements.size(), 3U);
  EXPECT_EQ(plan->statements[2],
            R"(CREATE VIEW "fullviews"."t" AS SELECT "time", "n" FROM "logs"."t")");
}

TEST(RedshiftPlanTest, WithoutTheViewColumnEveryTableStillGetsItsPlainViewUnfiltered) {
  const auto plan = plan_migration(
      redshift_names(filtered_layout()), "t", 0,
      std::vector{add("login", "varchar", "(8)"), add("ip", "varchar", "(15)")}, std::nullopt);

  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->statements,
            (Statements{R"(CREATE TABLE "logs"."t"("login" varchar(8),"ip" varchar(15));)",
                        R"(CREATE VIEW "views"."t" AS SELECT * FROM "logs"."t" ;)"}))
      << "no filter and no full view, even though a replaced column is there";
}

TEST(RedshiftPlanTest, RenamingTheViewColumnAwayAndBackMovesTheFilterAndTheFullView) {
  const auto away =
      plan_migration(redshift_names(filtered_layout()), "t", 1,
                     std::vector{rename("time", "event_time", 1)}, Statements{"time", "ip"});
  ASSERT_TRUE(away) << away.error().message;
  EXPECT_EQ(away->statements,
            (Statements{R"(DROP VIEW IF EXISTS "views"."t" CASCADE)",
                        R"(DROP VIEW IF EXISTS "fullviews"."t" CASCADE)",
                        R"(ALTER TABLE "logs"."t" RENAME COLUMN "time" TO "event_time")",
                        R"(CREATE VIEW "views"."t" AS SELECT * FROM "logs"."t" ;)"}));

  const auto back = plan_migration(redshift_names(filtered_layout()), "t", 2,
                                   std::vector{rename("event_time", "time", 2)}, away->columns);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(
      back->statements,
      (Statements{
          R"(DROP VIEW IF EXISTS "views"."t" CASCADE)",
          R"(DROP VIEW IF EXISTS "fullviews"."t" CASCADE)",
          R"(ALTER TABLE "logs"."t" RENAME COLUMN "event_time" TO "time")",
          R"(CREATE VIEW "views"."t" AS SELECT * FROM "logs"."t" WHERE "time" > GETDATE() - interval '90 days';)",
          R"(CREATE VIEW "fullviews"."t" AS SELECT "time", NULL::varchar(15) AS ip FROM "logs"."t")"}));
}

TEST(PlanTest, ViewsOfATableAreTheSameWhicheverWayTheyArePlanned) {
  const Statements columns{"time", "ip"};

  const auto views = plan_views(redshift_names(filtered_layout()), "t", columns);

  ASSERT_TRUE(views) << views.error().message;
  ASSERT_TRUE(views->plain && views->full);
  EXPECT_EQ(
      *views->plain,
      R"(CREATE VIEW "views"."t" AS SELECT * FROM "logs"."t" WHERE "time" > GETDATE() - interval '90 days';)");
  EXPECT_EQ(
      *views->full,
      R"(CREATE VIEW "fullviews"."t" AS SELECT "time", NULL::varchar(15) AS ip FROM "logs"."t")");
  Layout no_views = filtered_layout();
  no_views.view_schema.clear();
  no_views.full_view_schema.clear();
  const auto none = plan_views(redshift_names(no_views), "t", columns);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_FALSE(none->plain || none->full);
}

TEST(PostgresPlanTest, TranslatesTypesAndTurnsSortkeyIntoBrin) {
  const std::vector<core::Operation> ops = {add("time", "f@timestamp@unix", " sortkey"),
                                            add("device", "varchar", "(32) distkey encode zstd"),
                                            add("n", "int", " not null default 0")};

  const auto plan = plan_migration(postgres_names(), "t", 0, ops, std::nullopt);

  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(
      plan->statements,
      (Statements{
          R"(CREATE TABLE "logs"."t"("time" timestamp,"device" varchar(32),"n" integer NOT NULL DEFAULT 0);)",
          R"(CREATE INDEX ON "logs"."t" USING brin ("time"))",
          R"(CREATE VIEW "views"."t" AS SELECT * FROM "logs"."t" ;)",
      }));
}

TEST(SqlitePlanTest, NamesViewsBySchemaAndDropsWithoutCascade) {
  const std::vector<core::Operation> ops = {remove("n", 1), rename("s", "S2", 1)};

  const auto plan = plan_migration(sqlite_names(), "t", 1, ops, Statements{"time", "n", "s"});

  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->statements, (Statements{
                                  R"(DROP VIEW IF EXISTS "views.t")",
                                  R"(DROP VIEW IF EXISTS "fullviews.t")",
                                  R"(ALTER TABLE "t" DROP COLUMN "n")",
                                  R"(ALTER TABLE "t" RENAME COLUMN "s" TO "S2")",
                                  R"(CREATE VIEW "views.t" AS SELECT * FROM "t" ;)",
                              }));
}

TEST(PlanTest, HostileColumnNamesAreQuotedByTheLibrary) {
  const std::vector<core::Operation> ops = {add("it's", "bigint"), add("a;b", "bigint"),
                                            add("drop table x; --", "bigint"),
                                            add("naïve ☃", "bigint"), add("back\\slash", "bigint")};

  const auto redshift = plan_migration(redshift_names({}), "t", 0, ops, std::nullopt);
  const auto sqlite = plan_migration(sqlite_names({}), "t", 0, ops, std::nullopt);

  ASSERT_TRUE(redshift) << redshift.error().message;
  EXPECT_EQ(
      redshift->statements.at(0),
      R"(CREATE TABLE "logs"."t"("it's" bigint,"a;b" bigint,"drop table x; --" bigint,"naïve ☃" bigint,"back\slash" bigint);)");
  ASSERT_TRUE(sqlite) << sqlite.error().message;
  EXPECT_EQ(
      sqlite->statements.at(0),
      R"(CREATE TABLE "t"("it's" bigint,"a;b" bigint,"drop table x; --" bigint,"naïve ☃" bigint,"back\slash" bigint);)");
}

struct BadPlan {
  std::string name;
  std::vector<core::Operation> operations;
  std::optional<Statements> columns;
  std::string message_part;
};

TEST(PlanTest, RejectsBadMigrationsNamingTableVersionAndColumn) {
  const std::vector<BadPlan> cases = {
      {"add existing",
       {add("n", "bigint", "", 2)},
       Statements{"n"},
       "migration t v2: add \"n\": the column exists already"},
      {"add existing other case",
       {add("N", "bigint", "", 2)},
       Statements{"n"},
       "the column exists already"},
      {"delete missing",
       {remove("gone", 2)},
       Statements{"n"},
       "migration t v2: delete \"gone\": no such column"},
      {"rename missing", {rename("gone", "x", 2)}, Statements{"n"}, "no such column"},
      {"rename onto existing",
       {rename("a", "b", 2)},
       Statements{"a", "b"},
       "column \"b\" exists already"},
      {"delete in create",
       {add("a", "bigint", "", 2), remove("a", 2)},
       std::nullopt,
       "can only be created from add steps"},
      {"create without columns",
       {event(core::Action::request_drop_event, 2)},
       std::nullopt,
       "no columns"},
      {"add twice",
       {add("a", "bigint", "", 2), add("a", "int", "", 2)},
       std::nullopt,
       "added twice"},
      {"step of another version",
       {add("a", "bigint", "", 1)},
       Statements{"n"},
       "belongs to version 1"},
      {"bad options",
       {add("a", "varchar", "(8); drop table t", 2)},
       Statements{"n"},
       "migration t v2: column \"a\": unexpected"},
      {"quote in name", {add("a\"b", "bigint", "", 2)}, Statements{"n"}, "migration t v2: add"},
      {"128-byte name",
       {add(std::string(128, 'c'), "bigint", "", 2)},
       Statements{"n"},
       "migration t v2: add"},
      {"bad rename target",
       {rename("n", std::string("x\ny"), 2)},
       Statements{"n"},
       "control character"},
  };
  for (const auto& bad : cases) {
    SCOPED_TRACE(bad.name);

    const auto plan = plan_migration(redshift_names(), "t", 2, bad.operations, bad.columns);

    ASSERT_FALSE(plan);
    EXPECT_EQ(plan.error().kind, ErrorKind::permanent);
    EXPECT_NE(plan.error().message.find(bad.message_part), std::string::npos)
        << plan.error().message;
  }
}

TEST(PlanTest, PostgresRejectsColumnsItWouldTruncate) {
  const std::vector<core::Operation> ops = {add(std::string(64, 'c'), "bigint")};

  const auto postgres = plan_migration(postgres_names(), "t", 0, ops, std::nullopt);
  const auto redshift = plan_migration(redshift_names(), "t", 0, ops, std::nullopt);

  ASSERT_FALSE(postgres);
  EXPECT_NE(postgres.error().message.find("at most 63"), std::string::npos)
      << postgres.error().message;
  EXPECT_TRUE(redshift);
}

TEST(PlanTest, RejectsBadTableNamesAndLayouts) {
  EXPECT_FALSE(plan_migration(redshift_names(), "t\"; drop", 0, k_create_pg_event, std::nullopt));
  EXPECT_FALSE(
      plan_migration(redshift_names(), std::string(128, 't'), 0, k_create_pg_event, std::nullopt));
  Layout layout = spec_layout();
  layout.view_schema = std::string("v\0w", 3);
  EXPECT_FALSE(plan_migration(redshift_names(layout), "t", 0, k_create_pg_event, std::nullopt));
  layout = spec_layout();
  layout.view_filter = "WHERE true; DROP TABLE logs.t";
  EXPECT_FALSE(plan_migration(redshift_names(layout), "t", 0, k_create_pg_event, std::nullopt));
  layout = spec_layout();
  layout.full_view_replacements = {{"s", "NULL; DROP TABLE logs.t"}};
  EXPECT_FALSE(plan_migration(redshift_names(layout), "t", 0, k_create_pg_event, std::nullopt));
}

} // namespace
} // namespace rsi::warehouse
