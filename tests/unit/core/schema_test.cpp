#include "core/schema.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "param_name.hpp"

namespace rsi::core {
namespace {

constexpr std::string_view k_video_play =
    R"([{"EventName":"video_play","Columns":[)"
    R"({"InboundName":"time","OutboundName":"time","Transformer":"f@timestamp@unix","ColumnCreationOptions":" sortkey","SupportingColumns":""},)"
    R"json({"InboundName":"login","OutboundName":"login","Transformer":"varchar","ColumnCreationOptions":"(64)","SupportingColumns":""}],)json"
    R"("Version":0,"CreatedTS":"2026-11-27T07:11:21.618934Z","TS":"2026-11-27T07:11:21.618934Z",)"
    R"("UserName":"unknown","Dropped":false,"DropRequested":false,"Reason":""}])";

TableSchema video_play() {
  return TableSchema{
      .event_name = "video_play",
      .columns = {{"time", "time", "f@timestamp@unix", " sortkey", ""},
                  {"login", "login", "varchar", "(64)", ""}},
      .version = 0,
      .created_ts = "2026-11-27T07:11:21.618934Z",
      .ts = "2026-11-27T07:11:21.618934Z",
      .user_name = "unknown",
  };
}

TEST(SchemaParseTest, DecodesAOneElementArray) {
  const auto schema = parse_schema(k_video_play);

  ASSERT_TRUE(schema) << schema.error().message;
  EXPECT_EQ(*schema, video_play());
}

TEST(SchemaParseTest, OptionalFieldsDefaultAndNullColumnsAreEmpty) {
  const auto schema = parse_schema(R"([{"EventName":"gone","Columns":null,"Version":3}])");

  ASSERT_TRUE(schema) << schema.error().message;
  EXPECT_EQ(schema->event_name, "gone");
  EXPECT_TRUE(schema->columns.empty());
  EXPECT_EQ(schema->version, 3);
  EXPECT_FALSE(schema->dropped);
  EXPECT_EQ(schema->reason, "");
}

TEST(SchemaParseTest, ReadsDropState) {
  const auto schema = parse_schema(
      R"([{"EventName":"e","Columns":[],"Version":2,"Dropped":true,"DropRequested":true,"Reason":"unused"}])");

  ASSERT_TRUE(schema) << schema.error().message;
  EXPECT_TRUE(schema->dropped);
  EXPECT_TRUE(schema->drop_requested);
  EXPECT_EQ(schema->reason, "unused");
}

TEST(SchemaEncodeTest, ReproducesBlueprintsBytes) {
  EXPECT_EQ(encode_schema(video_play()), k_video_play);
}

TEST(SchemaEncodeTest, ListRoundTrips) {
  TableSchema other = video_play();
  other.event_name = "minute-watched";
  other.version = 7;
  other.dropped = true;
  const std::vector<TableSchema> schemas{video_play(), other};

  const auto parsed = parse_schema_list(encode_schema_list(schemas));

  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, schemas);
  EXPECT_EQ(encode_schema_list({}), "[]");
}

TEST(BlueprintErrorTest, ReadsTheMessage) {
  const auto message =
      parse_blueprint_error(R"({"Error":"No migration for table 'nosuch' to v0."})");

  ASSERT_TRUE(message) << message.error().message;
  EXPECT_EQ(*message, "No migration for table 'nosuch' to v0.");
}

TEST(BlueprintErrorTest, RoundTrips) {
  const std::string text = "Error, 'version' argument must be non-negative integer.";

  EXPECT_EQ(encode_blueprint_error(text),
            R"({"Error":"Error, 'version' argument must be non-negative integer."})");
  EXPECT_EQ(parse_blueprint_error(encode_blueprint_error(text)).value(), text);
}

TEST(BlueprintErrorTest, RejectsOtherBodies) {
  const auto not_found = parse_blueprint_error("Not Found\n");
  const auto no_error = parse_blueprint_error(R"({"Message":"x"})");

  ASSERT_FALSE(not_found);
  EXPECT_EQ(not_found.error().kind, ErrorKind::permanent);
  ASSERT_FALSE(no_error);
  EXPECT_EQ(no_error.error().message, "parse Blueprint error: field \"Error\": missing");
}

struct SchemaReject {
  std::string test_name;
  std::string body;
  std::string expected_error;
};

class SchemaRejectTest : public ::testing::TestWithParam<SchemaReject> {};

TEST_P(SchemaRejectTest, RejectsAsPermanentNamingTheField) {
  const auto schema = parse_schema(GetParam().body);

  ASSERT_FALSE(schema);
  EXPECT_EQ(schema.error().kind, ErrorKind::permanent);
  EXPECT_EQ(schema.error().message, GetParam().expected_error);
}

constexpr std::string_view k_column =
    R"({"InboundName":"a","OutboundName":"a","Transformer":"int","ColumnCreationOptions":"","SupportingColumns":""})";

std::string schema_with(std::string_view columns, std::string_view event = "\"e\"",
                        std::string_view rest = R"("Version":0)") {
  return "[{\"EventName\":" + std::string(event) + ",\"Columns\":" + std::string(columns) + "," +
         std::string(rest) + "}]";
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, SchemaRejectTest,
    ::testing::Values(
        SchemaReject{"NotFoundText", "Not Found\n",
                     "parse schema: malformed JSON: parse error at line 1, column 1: syntax "
                     "error while parsing value - invalid literal; last read: 'N'"},
        SchemaReject{"EmptyArray", "[]",
                     "parse schema: expected an array of one schema, got 0 elements"},
        SchemaReject{"TwoSchemas",
                     "[" + schema_with("[]").substr(1, schema_with("[]").size() - 2) + "," +
                         schema_with("[]").substr(1),
                     "parse schema: expected an array of one schema, got 2 elements"},
        SchemaReject{"BareObject", R"({"EventName":"e","Columns":[],"Version":0})",
                     "parse schema: expected a JSON array, got an object"},
        SchemaReject{"EventNameMissing", R"([{"Columns":[],"Version":0}])",
                     "parse schema: field \"EventName\": missing"},
        SchemaReject{"EventNameInvalid", schema_with("[]", R"("a.b")"),
                     "parse schema: field \"EventName\": invalid table name \"a.b\": '.' at byte "
                     "1; only ASCII letters, digits, '_' and '-' are allowed"},
        SchemaReject{"ColumnsMissing", R"([{"EventName":"e","Version":0}])",
                     "parse schema: field \"Columns\": missing"},
        SchemaReject{"ColumnsObject", schema_with("{}"),
                     "parse schema: field \"Columns\": expected a JSON array, got an object"},
        SchemaReject{"VersionMissing", schema_with("[]", "\"e\"", R"("Dropped":false)"),
                     "parse schema: field \"Version\": missing"},
        SchemaReject{"VersionNegative", schema_with("[]", "\"e\"", R"("Version":-1)"),
                     "parse schema: field \"Version\": expected a non-negative integer, got -1"},
        SchemaReject{"DroppedString",
                     schema_with("[]", "\"e\"", R"("Version":0,"Dropped":"false")"),
                     "parse schema: field \"Dropped\": expected true or false, got \"false\""},
        SchemaReject{"ReasonNumber", schema_with("[]", "\"e\"", R"("Version":0,"Reason":1)"),
                     "parse schema: field \"Reason\": expected a string, got 1"}),
    param_name<SchemaReject>);

INSTANTIATE_TEST_SUITE_P(
    Columns, SchemaRejectTest,
    ::testing::Values(
        SchemaReject{"ColumnNotObject", schema_with(R"(["a"])"),
                     "parse schema: column 0: expected a JSON object, got \"a\""},
        SchemaReject{
            "InboundMissing",
            schema_with(
                "[" + std::string(k_column) +
                R"(,{"OutboundName":"b","Transformer":"int","ColumnCreationOptions":"","SupportingColumns":""}])"),
            "parse schema: column 1: field \"InboundName\": missing"},
        SchemaReject{
            "OutboundHostile",
            schema_with(
                R"([{"InboundName":"a","OutboundName":"a\"b","Transformer":"int","ColumnCreationOptions":"","SupportingColumns":""}])"),
            "parse schema: column 0: field \"OutboundName\": invalid column name "
            "\"a\\\"b\": '\"' at byte 1"},
        SchemaReject{
            "TransformerNull",
            schema_with(
                R"([{"InboundName":"a","OutboundName":"a","Transformer":null,"ColumnCreationOptions":"","SupportingColumns":""}])"),
            "parse schema: column 0: field \"Transformer\": expected a string, got null"},
        SchemaReject{
            "OptionsMissing",
            schema_with(
                R"([{"InboundName":"a","OutboundName":"a","Transformer":"int","SupportingColumns":""}])"),
            "parse schema: column 0: field \"ColumnCreationOptions\": missing"},
        SchemaReject{
            "SupportingMissing",
            schema_with(
                R"([{"InboundName":"a","OutboundName":"a","Transformer":"int","ColumnCreationOptions":""}])"),
            "parse schema: column 0: field \"SupportingColumns\": missing"},
        SchemaReject{"DuplicateOutbound",
                     schema_with("[" + std::string(k_column) + "," + std::string(k_column) + "]"),
                     "parse schema: column 1: field \"OutboundName\": duplicate column \"a\""}),
    param_name<SchemaReject>);

TEST(SchemaListTest, NamesTheFailingSchema) {
  const auto schemas =
      parse_schema_list("[" + std::string(k_video_play.substr(1, k_video_play.size() - 2)) +
                        R"(,{"EventName":"bad name","Columns":[],"Version":0}])");

  ASSERT_FALSE(schemas);
  EXPECT_EQ(schemas.error().message,
            "parse schema list: schema 1: field \"EventName\": invalid table name \"bad name\": "
            "a space at byte 3; only ASCII letters, digits, '_' and '-' are allowed");
}

} // namespace
} // namespace rsi::core
