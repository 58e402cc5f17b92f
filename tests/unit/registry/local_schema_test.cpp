// Schema files of the local registry and the migrations derived from them. The recorded
// Blueprint schemas (../shared/spec/blueprint) must derive exactly the migrations Blueprint
// recorded for the same versions.

#include "registry/local_schema.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "core/operation.hpp"
#include "support/testdata.hpp"

namespace rsi::registry {
namespace {

using Steps = std::vector<core::Operation>;

// The body of a raw HTTP response file.
std::string recorded_body(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  const std::string raw = contents.str();
  return raw.substr(raw.find("\r\n\r\n") + 4);
}

LocalSchema parse(const std::string& body, int version, const std::string& table = "t") {
  auto parsed = parse_local_schema(body, table, version);
  EXPECT_TRUE(parsed) << parsed.error().message;
  return parsed.value_or(LocalSchema{});
}

std::string error_of(const std::string& body, int version = 0, const std::string& table = "t") {
  auto parsed = parse_local_schema(body, table, version);
  EXPECT_FALSE(parsed);
  if (parsed) {
    return {};
  }
  EXPECT_EQ(parsed.error().kind, ErrorKind::permanent);
  return parsed.error().message;
}

Steps derive(const std::optional<LocalSchema>& previous, const LocalSchema& next) {
  auto steps = derive_migration(previous, next);
  EXPECT_TRUE(steps) << steps.error().message;
  return steps.value_or(Steps{});
}

std::string derive_error(const std::optional<LocalSchema>& previous, const LocalSchema& next) {
  auto steps = derive_migration(previous, next);
  EXPECT_FALSE(steps);
  return steps ? std::string() : steps.error().message;
}

constexpr auto k_v0 = R"js({"Columns":[
  {"OutboundName":"time","Transformer":"f@timestamp@unix","ColumnCreationOptions":" sortkey"},
  {"OutboundName":"channel","Transformer":"varchar","ColumnCreationOptions":"(25)"},
  {"InboundName":"ip","OutboundName":"country","Transformer":"ipCountry"}]})js";

TEST(LocalSchemaTest, RecordedBlueprintSchemasDeriveTheRecordedMigrations) {
  RSI_REQUIRE_TESTDATA(schema_v0,
                       test::spec_file("blueprint/schema_minute_watched_version_0.http"));
  RSI_REQUIRE_TESTDATA(schema_v1,
                       test::spec_file("blueprint/schema_minute_watched_version_1.http"));
  RSI_REQUIRE_TESTDATA(migration_v0,
                       test::spec_file("blueprint/migration_minute_watched_to_version_0.http"));
  RSI_REQUIRE_TESTDATA(migration_v1,
                       test::spec_file("blueprint/migration_minute_watched_to_version_1.http"));
  const LocalSchema v0 = parse(recorded_body(schema_v0), 0, "minute_watched");
  // Blueprint's schema answer saved as a file, plus the one thing a schema cannot say.
  std::string v1_body = recorded_body(schema_v1);
  v1_body.insert(v1_body.rfind('}'), R"js(,"Renames":{"channel":"channel_name"})js");
  const LocalSchema v1 = parse(v1_body, 1, "minute_watched");

  const Steps create = derive(std::nullopt, v0);
  const Steps alter = derive(v0, v1);

  EXPECT_EQ(core::encode_migration(create), recorded_body(migration_v0));
  EXPECT_EQ(core::encode_migration(alter), recorded_body(migration_v1));
}

TEST(LocalSchemaTest, DefaultsFillTheOptionalColumnFields) {
  const LocalSchema schema = parse(k_v0, 0);

  ASSERT_EQ(schema.schema.columns.size(), 3U);
  EXPECT_EQ(schema.schema.event_name, "t");
  EXPECT_EQ(schema.schema.columns[0].inbound_name, "time");
  EXPECT_EQ(schema.schema.columns[1].column_creation_options, "(25)");
  EXPECT_EQ(schema.schema.columns[2].inbound_name, "ip");
  EXPECT_EQ(schema.schema.columns[2].column_creation_options, "");
  EXPECT_EQ(schema.schema.columns[2].supporting_columns, "");
}

TEST(LocalSchemaTest, InvalidFilesNameTheField) {
  EXPECT_EQ(error_of(R"js({"Columns":[{"OutboundName":"a"}]})js"),
            "column 0: field \"Transformer\": missing");
  EXPECT_EQ(error_of(R"js({"Colums":[]})js"), "field \"Colums\": unknown field (expected one of "
                                              "EventName, Version, Columns, Renames, Dropped, "
                                              "DropRequested, Reason, CreatedTS, TS, UserName)");
  EXPECT_NE(error_of(R"js({"Columns":[{"OutboundName":"a","Transformer":"int","Size":4}]})js")
                .find("column 0: field \"Size\": unknown field"),
            std::string::npos);
  EXPECT_EQ(
      error_of(
          R"js({"Columns":[{"OutboundName":"a","Transformer":"int"},{"OutboundName":"a","Transformer":"int"}]})js"),
      "column 1: field \"OutboundName\": duplicate column \"a\"");
  EXPECT_EQ(error_of(R"js({"Columns":[]})js"),
            "field \"Columns\": a schema that is not dropped needs at least one column");
  EXPECT_EQ(error_of(R"js({})js"), "field \"Columns\": missing");
  EXPECT_EQ(error_of(R"js({"Columns":[{"OutboundName":"a","Transformer":""}]})js"),
            "column 0: field \"Transformer\": empty (the column type, e.g. \"varchar\")");
  EXPECT_NE(error_of(R"js({"Columns":[{"OutboundName":"a\"b","Transformer":"int"}]})js")
                .find("column 0: field \"OutboundName\""),
            std::string::npos);
  EXPECT_NE(error_of(R"js({"Columns":{}})js").find("field \"Columns\": expected a JSON array"),
            std::string::npos);
  EXPECT_NE(
      error_of(R"js({"Columns":[{"OutboundName":"a","Transformer":"int"}],"Dropped":"yes"})js")
          .find("field \"Dropped\""),
      std::string::npos);
  EXPECT_NE(
      error_of(R"js({"Columns":[{"OutboundName":"a","Transformer":"int"}],"Renames":{"a":1}})js")
          .find("field \"Renames\""),
      std::string::npos);
  EXPECT_NE(error_of("{\"Columns\":[").find("JSON"), std::string::npos);
  EXPECT_EQ(error_of("[]"),
            "expected one schema object (or an array holding one), got an array of 0");
}

TEST(LocalSchemaTest, EventNameAndVersionMustMatchThePath) {
  EXPECT_EQ(
      error_of(R"js({"EventName":"other","Columns":[{"OutboundName":"a","Transformer":"int"}]})js"),
      "field \"EventName\": \"other\" does not match the folder name \"t\"");
  EXPECT_EQ(
      error_of(R"js({"Version":3,"Columns":[{"OutboundName":"a","Transformer":"int"}]})js", 2),
      "field \"Version\": 3 does not match the file name v2.json");
}

TEST(LocalSchemaTest, DeletesAddsAndRenamesComeInBlueprintsOrder) {
  const LocalSchema v0 = parse(k_v0, 0);
  const LocalSchema v1 = parse(R"js({"Columns":[
    {"OutboundName":"time","Transformer":"f@timestamp@unix","ColumnCreationOptions":" sortkey"},
    {"OutboundName":"login","Transformer":"varchar","ColumnCreationOptions":"(64)"},
    {"OutboundName":"channel_name","InboundName":"channel","Transformer":"varchar","ColumnCreationOptions":"(25)"},
    {"OutboundName":"city","InboundName":"ip","Transformer":"ipCity"}],
    "Renames":{"channel":"channel_name"}})js",
                               1);

  const Steps steps = derive(v0, v1);

  ASSERT_EQ(steps.size(), 4U);
  EXPECT_EQ(steps[0].action, core::Action::delete_column);
  EXPECT_EQ(steps[0].name, "country");
  EXPECT_EQ(steps[1].action, core::Action::add);
  EXPECT_EQ(steps[1].name, "login");
  EXPECT_EQ(steps[1].column_options, "(64)");
  EXPECT_EQ(steps[2].name, "city");
  EXPECT_EQ(steps[2].inbound, "ip");
  EXPECT_EQ(steps[3].action, core::Action::rename);
  EXPECT_EQ(steps[3].name, "channel");
  EXPECT_EQ(steps[3].new_outbound, "channel_name");
  for (int index = 0; index < 4; ++index) {
    EXPECT_EQ(steps[static_cast<std::size_t>(index)].version, 1);
    EXPECT_EQ(steps[static_cast<std::size_t>(index)].ordering, index);
  }
}

TEST(LocalSchemaTest, DropThenRecreate) {
  const LocalSchema v0 = parse(k_v0, 0);
  const LocalSchema v1 = parse(R"js({"Dropped":true,"Reason":"retired"})js", 1);
  const LocalSchema v2 =
      parse(R"js({"Columns":[{"OutboundName":"time","Transformer":"f@timestamp@unix"},
                                             {"OutboundName":"viewers","Transformer":"int"}]})js",
            2);

  const Steps drop = derive(v0, v1);
  const Steps recreate = derive(v1, v2);

  ASSERT_EQ(drop.size(), 1U);
  EXPECT_EQ(drop[0].action, core::Action::drop_event);
  EXPECT_EQ(drop[0].reason, "retired");
  EXPECT_EQ(drop[0].version, 1);
  ASSERT_EQ(recreate.size(), 2U);
  EXPECT_EQ(recreate[0].action, core::Action::add);
  EXPECT_EQ(recreate[0].name, "time");
  EXPECT_EQ(recreate[1].name, "viewers");
  EXPECT_EQ(derive_error(v1, parse(R"js({"Dropped":true})js", 2)),
            "field \"Dropped\": the event was dropped in v1 already");
}

TEST(LocalSchemaTest, DropRequestsAndCancellations) {
  const LocalSchema v0 = parse(k_v0, 0);
  LocalSchema v1 = v0;
  v1.schema.version = 1;
  v1.schema.drop_requested = true;
  v1.schema.reason = "unused";
  LocalSchema v2 = v0;
  v2.schema.version = 2;

  const Steps request = derive(v0, v1);
  const Steps cancel = derive(v1, v2);

  ASSERT_EQ(request.size(), 1U);
  EXPECT_EQ(request[0].action, core::Action::request_drop_event);
  EXPECT_EQ(request[0].reason, "unused");
  ASSERT_EQ(cancel.size(), 1U);
  EXPECT_EQ(cancel[0].action, core::Action::cancel_drop_event);
  EXPECT_TRUE(
      derive(v0,
             LocalSchema{.schema = {.event_name = "t", .columns = v0.schema.columns, .version = 1}})
          .empty());
}

TEST(LocalSchemaTest, RenamesMustFitBothVersions) {
  const LocalSchema v0 = parse(k_v0, 0);
  const auto with_renames = [&](const std::string& renames, const std::string& extra_column = "") {
    return parse(
        std::string(
            R"js({"Columns":[{"OutboundName":"time","Transformer":"f@timestamp@unix","ColumnCreationOptions":" sortkey"},
      {"OutboundName":"channel_name","Transformer":"varchar","ColumnCreationOptions":"(25)"},
      {"OutboundName":"country","Transformer":"ipCountry"})js") +
            extra_column + "],\"Renames\":" + renames + "}",
        1);
  };

  EXPECT_EQ(derive_error(v0, with_renames(R"js({"chanel":"channel_name"})js")),
            "field \"Renames\": \"chanel\" to \"channel_name\": v0 has no column \"chanel\"");
  EXPECT_EQ(derive_error(v0, with_renames(R"js({"channel":"channel_nam"})js")),
            "field \"Renames\": \"channel\" to \"channel_nam\": \"Columns\" has no column "
            "\"channel_nam\"");
  EXPECT_EQ(derive_error(v0, with_renames(R"js({"country":"channel_name"})js")),
            "field \"Renames\": \"country\" to \"channel_name\": this version still has a column "
            "\"country\"");
  EXPECT_EQ(derive_error(v0, with_renames(R"js({"channel":"time"})js")),
            "field \"Renames\": \"channel\" to \"time\": v0 has a column \"time\" already");
  EXPECT_EQ(derive_error(std::nullopt, with_renames(R"js({"channel":"channel_name"})js")),
            "field \"Renames\": nothing to rename: this version creates the table");
  EXPECT_EQ(derive(v0, with_renames(R"js({"channel":"channel_name"})js")).size(), 1U);
}

TEST(LocalSchemaTest, AColumnCannotChangeItsType) {
  const LocalSchema v0 = parse(k_v0, 0);
  const LocalSchema wider = parse(R"js({"Columns":[
    {"OutboundName":"time","Transformer":"f@timestamp@unix","ColumnCreationOptions":" sortkey"},
    {"OutboundName":"channel","Transformer":"varchar","ColumnCreationOptions":"(64)"},
    {"InboundName":"ip","OutboundName":"country","Transformer":"ipCountry"}]})js",
                                  1);
  const LocalSchema retyped = parse(R"js({"Columns":[
    {"OutboundName":"time","Transformer":"f@timestamp@unix","ColumnCreationOptions":" sortkey"},
    {"OutboundName":"channel_id","Transformer":"bigint"},
    {"InboundName":"ip","OutboundName":"country","Transformer":"ipCountry"}],"Renames":{"channel":"channel_id"}})js",
                                    1);

  EXPECT_EQ(derive_error(v0, wider), "column \"channel\": field \"ColumnCreationOptions\": changes "
                                     "from \"(25)\" to \"(64)\"; the warehouse "
                                     "cannot change a column's type (add a column under a new "
                                     "name, and delete the old one if needed)");
  EXPECT_NE(derive_error(v0, retyped)
                .find("column \"channel_id\": field \"Transformer\": changes from \"varchar\" to "
                      "\"bigint\""),
            std::string::npos);
}

} // namespace
} // namespace rsi::registry
