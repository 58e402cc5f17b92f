#include "core/operation.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "param_name.hpp"

namespace rsi::core {
namespace {

// A migration that uses every action, in Blueprint's byte format.
constexpr std::string_view k_every_action =
    R"([{"Action":"delete","Name":"device_id","ActionMetadata":{},"Version":1,"Ordering":0},)"
    R"json({"Action":"add","Name":"platform","ActionMetadata":{"column_options":"(16)","column_type":"varchar","inbound":"platform","supporting_columns":""},"Version":1,"Ordering":1},)json"
    R"({"Action":"rename","Name":"channel","ActionMetadata":{"new_outbound":"channel_name"},"Version":1,"Ordering":2},)"
    R"({"Action":"request_drop_event","Name":"","ActionMetadata":{"reason":"unused"},"Version":2,"Ordering":0},)"
    R"({"Action":"cancel_drop_event","Name":"","ActionMetadata":{},"Version":3,"Ordering":0},)"
    R"({"Action":"drop_event","Name":"","ActionMetadata":{"reason":"testing drop"},"Version":4,"Ordering":0}])";

TEST(MigrationParseTest, DecodesEveryAction) {
  const auto operations = parse_migration(k_every_action);

  ASSERT_TRUE(operations) << operations.error().message;
  const std::vector<Operation> expected{
      {.action = Action::delete_column, .name = "device_id", .version = 1, .ordering = 0},
      {.action = Action::add,
       .name = "platform",
       .version = 1,
       .ordering = 1,
       .inbound = "platform",
       .column_type = "varchar",
       .column_options = "(16)"},
      {.action = Action::rename,
       .name = "channel",
       .version = 1,
       .ordering = 2,
       .new_outbound = "channel_name"},
      {.action = Action::request_drop_event, .version = 2, .reason = "unused"},
      {.action = Action::cancel_drop_event, .version = 3},
      {.action = Action::drop_event, .version = 4, .reason = "testing drop"},
  };
  EXPECT_EQ(*operations, expected);
}

TEST(MigrationParseTest, AnEmptyArrayIsAnEmptyMigration) {
  const auto operations = parse_migration("[]");

  ASSERT_TRUE(operations);
  EXPECT_TRUE(operations->empty());
}

TEST(MigrationParseTest, IgnoresUnknownFieldsAndMetadataKeys) {
  const auto operations = parse_migration(
      R"([{"Action":"delete","Name":"x","ActionMetadata":{"comment":"old"},"Version":0,"Ordering":0,"Extra":1}])");

  ASSERT_TRUE(operations) << operations.error().message;
  EXPECT_EQ(operations->at(0).action, Action::delete_column);
}

TEST(MigrationEncodeTest, ReproducesBlueprintsBytes) {
  const auto operations = parse_migration(k_every_action);
  ASSERT_TRUE(operations);

  EXPECT_EQ(encode_migration(*operations), k_every_action);
}

TEST(MigrationEncodeTest, RoundTripsOperationsBuiltInCode) {
  const std::vector<Operation> operations{
      {.action = Action::add,
       .name = "time",
       .version = 0,
       .ordering = 0,
       .inbound = "time",
       .column_type = "f@timestamp@unix",
       .column_options = " sortkey"},
      {.action = Action::add,
       .name = "user",
       .version = 0,
       .ordering = 1,
       .inbound = "user_id",
       .column_type = "userIDWithMapping",
       .supporting_columns = "login,channel"},
  };

  const auto parsed = parse_migration(encode_migration(operations));

  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, operations);
}

TEST(ActionTest, WireNamesRoundTrip) {
  for (const Action action :
       {Action::add, Action::delete_column, Action::rename, Action::drop_event,
        Action::request_drop_event, Action::cancel_drop_event}) {
    EXPECT_EQ(parse_action(to_string(action)), action);
  }
  EXPECT_EQ(to_string(Action::delete_column), "delete");
  EXPECT_EQ(parse_action("delete_column"), std::nullopt);
  EXPECT_EQ(parse_action("ADD"), std::nullopt);
}

struct OperationReject {
  std::string test_name;
  std::string body;
  std::string expected_error;
};

class MigrationRejectTest : public ::testing::TestWithParam<OperationReject> {};

TEST_P(MigrationRejectTest, RejectsAsPermanentNamingIndexAndField) {
  const auto operations = parse_migration(GetParam().body);

  ASSERT_FALSE(operations);
  EXPECT_EQ(operations.error().kind, ErrorKind::permanent);
  EXPECT_EQ(operations.error().message, GetParam().expected_error);
}

// A valid `add` at Version 0, Ordering 0 ahead of `item`, so errors name index 1.
std::string after_valid(std::string_view item) {
  return std::string(
             R"([{"Action":"add","Name":"time","ActionMetadata":{"column_options":" sortkey","column_type":"f@timestamp@unix","inbound":"time","supporting_columns":""},"Version":0,"Ordering":0},)") +
         std::string(item) + "]";
}

INSTANTIATE_TEST_SUITE_P(
    Documents, MigrationRejectTest,
    ::testing::Values(
        OperationReject{"ErrorBody", R"({"Error":"No migration for table 'x' to v2."})",
                        "parse migration: expected a JSON array, got an object"},
        OperationReject{"NotJson", "Not Found\n",
                        "parse migration: malformed JSON: parse error at line 1, column 1: syntax "
                        "error while parsing value - invalid literal; last read: 'N'"},
        OperationReject{"Null", "null", "parse migration: expected a JSON array, got null"},
        OperationReject{"ItemNotObject", after_valid(R"("add")"),
                        "parse migration: operation 1: expected a JSON object, got \"add\""}),
    param_name<OperationReject>);

INSTANTIATE_TEST_SUITE_P(
    Fields, MigrationRejectTest,
    ::testing::Values(
        OperationReject{
            "UnknownAction",
            after_valid(
                R"({"Action":"frobnicate","Name":"x","ActionMetadata":{},"Version":0,"Ordering":1})"),
            "parse migration: operation 1: field \"Action\": unknown action \"frobnicate\""},
        OperationReject{
            "ActionCaseMatters",
            after_valid(
                R"({"Action":"Delete","Name":"x","ActionMetadata":{},"Version":0,"Ordering":1})"),
            "parse migration: operation 1: field \"Action\": unknown action \"Delete\""},
        OperationReject{"ActionMissing",
                        after_valid(R"({"Name":"x","ActionMetadata":{},"Version":0,"Ordering":1})"),
                        "parse migration: operation 1: field \"Action\": missing"},
        OperationReject{
            "NameMissing",
            after_valid(R"({"Action":"delete","ActionMetadata":{},"Version":0,"Ordering":1})"),
            "parse migration: operation 1: field \"Name\": missing"},
        OperationReject{
            "NameNotString",
            after_valid(
                R"({"Action":"delete","Name":7,"ActionMetadata":{},"Version":0,"Ordering":1})"),
            "parse migration: operation 1: field \"Name\": expected a string, got 7"},
        OperationReject{
            "DeleteEmptyName",
            after_valid(
                R"({"Action":"delete","Name":"","ActionMetadata":{},"Version":0,"Ordering":1})"),
            "parse migration: operation 1: field \"Name\": invalid column name: empty"},
        OperationReject{
            "AddHostileName",
            after_valid(
                R"({"Action":"add","Name":"x\" text); DROP TABLE t; --","ActionMetadata":{"column_options":"","column_type":"int","inbound":"x","supporting_columns":""},"Version":0,"Ordering":1})"),
            "parse migration: operation 1: field \"Name\": invalid column name \"x\\\" "
            "text); DROP TABLE t; --\": '\"' at byte 1"},
        OperationReject{
            "VersionMissing",
            after_valid(R"({"Action":"delete","Name":"x","ActionMetadata":{},"Ordering":1})"),
            "parse migration: operation 1: field \"Version\": missing"},
        OperationReject{
            "VersionFloat",
            after_valid(
                R"({"Action":"delete","Name":"x","ActionMetadata":{},"Version":1.5,"Ordering":1})"),
            "parse migration: operation 1: field \"Version\": expected a non-negative "
            "integer, got 1.5"},
        OperationReject{
            "VersionAbsurd",
            after_valid(
                R"({"Action":"delete","Name":"x","ActionMetadata":{},"Version":100001,"Ordering":1})"),
            "parse migration: operation 1: field \"Version\": 100001 is above the limit "
            "of 100000"},
        OperationReject{
            "OrderingNegative",
            after_valid(
                R"({"Action":"delete","Name":"x","ActionMetadata":{},"Version":1,"Ordering":-1})"),
            "parse migration: operation 1: field \"Ordering\": expected a non-negative "
            "integer, got -1"},
        OperationReject{
            "OrderingString",
            after_valid(
                R"({"Action":"delete","Name":"x","ActionMetadata":{},"Version":1,"Ordering":"1"})"),
            "parse migration: operation 1: field \"Ordering\": expected a non-negative "
            "integer, got \"1\""},
        OperationReject{"MetadataMissing",
                        after_valid(R"({"Action":"delete","Name":"x","Version":0,"Ordering":1})"),
                        "parse migration: operation 1: field \"ActionMetadata\": missing"},
        OperationReject{
            "MetadataNull",
            after_valid(
                R"({"Action":"delete","Name":"x","ActionMetadata":null,"Version":0,"Ordering":1})"),
            "parse migration: operation 1: field \"ActionMetadata\": expected a JSON "
            "object, got null"},
        OperationReject{
            "MetadataValueNotString",
            after_valid(
                R"({"Action":"delete","Name":"x","ActionMetadata":{"n":1},"Version":0,"Ordering":1})"),
            "parse migration: operation 1: field \"ActionMetadata\": key \"n\": expected "
            "a string, got 1"},
        OperationReject{
            "AddWithoutInbound",
            after_valid(
                R"({"Action":"add","Name":"x","ActionMetadata":{"column_options":"","column_type":"int","supporting_columns":""},"Version":0,"Ordering":1})"),
            "parse migration: operation 1: field \"ActionMetadata\": field \"inbound\": "
            "missing"},
        OperationReject{
            "AddWithoutColumnType",
            after_valid(
                R"({"Action":"add","Name":"x","ActionMetadata":{"column_options":"","inbound":"x","supporting_columns":""},"Version":0,"Ordering":1})"),
            "parse migration: operation 1: field \"ActionMetadata\": field "
            "\"column_type\": missing"},
        OperationReject{
            "AddWithoutColumnOptions",
            after_valid(
                R"({"Action":"add","Name":"x","ActionMetadata":{"column_type":"int","inbound":"x","supporting_columns":""},"Version":0,"Ordering":1})"),
            "parse migration: operation 1: field \"ActionMetadata\": field "
            "\"column_options\": missing"},
        OperationReject{
            "AddWithoutSupportingColumns",
            after_valid(
                R"({"Action":"add","Name":"x","ActionMetadata":{"column_options":"","column_type":"int","inbound":"x"},"Version":0,"Ordering":1})"),
            "parse migration: operation 1: field \"ActionMetadata\": field "
            "\"supporting_columns\": missing"},
        OperationReject{
            "RenameWithoutNewOutbound",
            after_valid(
                R"({"Action":"rename","Name":"x","ActionMetadata":{},"Version":0,"Ordering":1})"),
            "parse migration: operation 1: field \"ActionMetadata\": field "
            "\"new_outbound\": missing"},
        OperationReject{
            "RenameToEmpty",
            after_valid(
                R"({"Action":"rename","Name":"x","ActionMetadata":{"new_outbound":""},"Version":0,"Ordering":1})"),
            "parse migration: operation 1: field \"ActionMetadata\": field "
            "\"new_outbound\": invalid column name: empty"},
        OperationReject{
            "DropEventWithoutReason",
            after_valid(
                R"({"Action":"drop_event","Name":"","ActionMetadata":{},"Version":1,"Ordering":0})"),
            "parse migration: operation 1: field \"ActionMetadata\": field \"reason\": "
            "missing"},
        OperationReject{
            "RequestDropWithoutReason",
            after_valid(
                R"({"Action":"request_drop_event","Name":"","ActionMetadata":{},"Version":1,"Ordering":0})"),
            "parse migration: operation 1: field \"ActionMetadata\": field \"reason\": "
            "missing"}),
    param_name<OperationReject>);

INSTANTIATE_TEST_SUITE_P(
    Order, MigrationRejectTest,
    ::testing::Values(
        OperationReject{
            "RepeatedStep",
            after_valid(
                R"({"Action":"delete","Name":"x","ActionMetadata":{},"Version":0,"Ordering":0})"),
            "parse migration: operation 1: (Version 0, Ordering 0) does not follow "
            "(Version 0, Ordering 0)"},
        OperationReject{
            "VersionGoesBack",
            R"([{"Action":"delete","Name":"x","ActionMetadata":{},"Version":2,"Ordering":0},)"
            R"({"Action":"delete","Name":"y","ActionMetadata":{},"Version":1,"Ordering":5}])",
            "parse migration: operation 1: (Version 1, Ordering 5) does not follow "
            "(Version 2, Ordering 0)"}),
    param_name<OperationReject>);

} // namespace
} // namespace rsi::core
