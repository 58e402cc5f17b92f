#include "core/file_pointer.hpp"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/json_fields.hpp"
#include "param_name.hpp"

namespace rsi::core {
namespace {

constexpr std::string_view k_spec_message =
    R"({"KeyName":"spade-compacter-prod/20160729/oauth_authorize/v0/processor-data-ami-94f837f4/)"
    R"(ip-10-192-9-216.us-west-2.compute.internal.1469832764.log.gz","TableName":"oauth_authorize",)"
    R"("TableVersion":0})";

// The envelope SNS delivers to SQS without raw message delivery, around `message`.
std::string sns_envelope(std::string_view message, std::string_view type = "Notification") {
  return nlohmann::json{{"Type", type},
                        {"MessageId", "c0f2b8a4-7f3e-5f5e-9a8e-6f3a4b1c2d3e"},
                        {"TopicArn", "arn:aws:sns:us-west-2:123456789012:spade-compacter"},
                        {"Message", message},
                        {"Timestamp", "2016-07-29T22:52:44.123Z"},
                        {"SignatureVersion", "1"}}
      .dump();
}

TEST(FilePointerParseTest, ParsesTheRecordedPipelineMessage) {
  const auto pointer = parse_file_pointer(k_spec_message);

  ASSERT_TRUE(pointer) << pointer.error().message;
  EXPECT_EQ(pointer->key_name,
            "spade-compacter-prod/20160729/oauth_authorize/v0/processor-data-ami-94f837f4/"
            "ip-10-192-9-216.us-west-2.compute.internal.1469832764.log.gz");
  EXPECT_EQ(pointer->table, "oauth_authorize");
  EXPECT_EQ(pointer->version, 0);
}

TEST(FilePointerParseTest, UnwrapsAnSnsNotification) {
  const auto pointer = parse_file_pointer(sns_envelope(k_spec_message));

  ASSERT_TRUE(pointer) << pointer.error().message;
  EXPECT_EQ(pointer->table, "oauth_authorize");
  EXPECT_EQ(*pointer, *parse_file_pointer(k_spec_message));
}

struct MessageCase {
  std::string test_name;
  std::string body;
  FilePointer expected;
};

class FilePointerAcceptTest : public ::testing::TestWithParam<MessageCase> {};

TEST_P(FilePointerAcceptTest, Accepts) {
  const auto pointer = parse_file_pointer(GetParam().body);

  ASSERT_TRUE(pointer) << pointer.error().message;
  EXPECT_EQ(*pointer, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Messages, FilePointerAcceptTest,
    ::testing::Values(
        MessageCase{
            "UnknownFieldsIgnored",
            R"({"KeyName":"b/k","TableName":"t","TableVersion":3,"Extra":{"x":[1]},"Type":5})",
            {"b/k", "t", 3}},
        MessageCase{"FieldOrderFree",
                    R"({"TableVersion":7,"TableName":"t","KeyName":"b/k"})",
                    {"b/k", "t", 7}},
        MessageCase{"Whitespace",
                    " \n{ \"KeyName\" : \"b/k\" , \"TableName\":\"t\",\"TableVersion\":1 }\n",
                    {"b/k", "t", 1}},
        MessageCase{"MaxVersion",
                    R"({"KeyName":"b/k","TableName":"t","TableVersion":100000})",
                    {"b/k", "t", 100000}},
        MessageCase{"NegativeZero",
                    R"({"KeyName":"b/k","TableName":"t","TableVersion":-0})",
                    {"b/k", "t", 0}},
        MessageCase{"DuplicateKeyLastWins",
                    R"({"KeyName":"b/x","KeyName":"b/k","TableName":"t","TableVersion":0})",
                    {"b/k", "t", 0}},
        MessageCase{"HyphenTable",
                    R"({"KeyName":"b/k","TableName":"minute-watched","TableVersion":0})",
                    {"b/k", "minute-watched", 0}},
        MessageCase{"KeyWithSchemeLikeText",
                    R"({"KeyName":"b/a:/c","TableName":"t","TableVersion":0})",
                    {"b/a:/c", "t", 0}},
        MessageCase{"SchemeAsTheOriginalTookIt",
                    R"({"KeyName":"s3://b/dir/k.gz","TableName":"t","TableVersion":0})",
                    {"b/dir/k.gz", "t", 0}},
        MessageCase{"DotsInsideANameAreFine",
                    R"({"KeyName":"b/v1.2/..hidden/k..gz","TableName":"t","TableVersion":0})",
                    {"b/v1.2/..hidden/k..gz", "t", 0}},
        MessageCase{"UnicodeKey",
                    R"({"KeyName":"b/caf\u00e9.gz","TableName":"t","TableVersion":0})",
                    {"b/caf\xc3\xa9.gz", "t", 0}}),
    param_name<MessageCase>);

struct PointerReject {
  std::string test_name;
  std::string body;
  std::string expected_error; // The whole message.
};

class FilePointerRejectTest : public ::testing::TestWithParam<PointerReject> {};

TEST_P(FilePointerRejectTest, RejectsAsPermanentNamingTheField) {
  const auto pointer = parse_file_pointer(GetParam().body);

  ASSERT_FALSE(pointer);
  EXPECT_EQ(pointer.error().kind, ErrorKind::permanent);
  EXPECT_EQ(pointer.error().message, GetParam().expected_error);
}

// One valid message with `field` set to the raw JSON `value` ("" removes the field).
std::string with_field(std::string_view field, std::string_view value) {
  auto message = nlohmann::json::parse(R"({"KeyName":"b/k","TableName":"t","TableVersion":0})");
  if (value.empty()) {
    message.erase(std::string(field));
  } else {
    message[std::string(field)] = nlohmann::json::parse(value);
  }
  return message.dump();
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, FilePointerRejectTest,
    ::testing::Values(
        PointerReject{
            "Empty", "",
            "parse queue message: malformed JSON: parse error at line 1, column 1: syntax "
            "error while parsing value - unexpected end of input; expected '[', '{', or a "
            "literal"},
        PointerReject{
            "Truncated", R"({"KeyName":"b/k")",
            "parse queue message: malformed JSON: parse error at line 1, column 17: syntax "
            "error while parsing object - unexpected end of input; expected '}'"},
        PointerReject{
            "TrailingGarbage", R"({"KeyName":"b/k","TableName":"t","TableVersion":0} x)",
            "parse queue message: malformed JSON: parse error at line 1, column 52: syntax "
            "error while parsing value - invalid literal; last read: '0} x'; expected end "
            "of input"},
        PointerReject{
            "InvalidUtf8InString", "{\"KeyName\":\"b/\xff\"}",
            "parse queue message: malformed JSON: parse error at line 1, column 15: syntax "
            "error while parsing value - invalid string: ill-formed UTF-8 byte; last read: "
            "'\\\"b/\\xFF'"},
        PointerReject{"Array", R"([{"KeyName":"b/k"}])",
                      "parse queue message: expected a JSON object, got an array"},
        PointerReject{"String", R"("b/k")",
                      "parse queue message: expected a JSON object, got \"b/k\""},
        PointerReject{"Null", "null", "parse queue message: expected a JSON object, got null"},
        PointerReject{"EmptyObject", "{}", "parse queue message: field \"KeyName\": missing"}),
    param_name<PointerReject>);

INSTANTIATE_TEST_SUITE_P(
    Fields, FilePointerRejectTest,
    ::testing::Values(
        PointerReject{"KeyNameMissing", with_field("KeyName", ""),
                      "parse queue message: field \"KeyName\": missing"},
        PointerReject{"KeyNameNull", with_field("KeyName", "null"),
                      "parse queue message: field \"KeyName\": expected a string, got null"},
        PointerReject{"KeyNameNumber", with_field("KeyName", "42"),
                      "parse queue message: field \"KeyName\": expected a string, got 42"},
        PointerReject{"KeyNameEmpty", with_field("KeyName", R"("")"),
                      "parse queue message: field \"KeyName\": empty; expected \"bucket/key\""},
        PointerReject{"KeyNameWithoutBucket", with_field("KeyName", R"("file.gz")"),
                      "parse queue message: field \"KeyName\": expected \"bucket/key\", got "
                      "\"file.gz\""},
        PointerReject{"KeyNameEmptyBucket", with_field("KeyName", R"("/file.gz")"),
                      "parse queue message: field \"KeyName\": empty bucket in \"/file.gz\""},
        PointerReject{"KeyNameEmptyKey", with_field("KeyName", R"("bucket/")"),
                      "parse queue message: field \"KeyName\": empty key in \"bucket/\""},
        PointerReject{"KeyNameWithAnotherScheme", with_field("KeyName", R"("https://bucket/key")"),
                      "parse queue message: field \"KeyName\": expected \"bucket/key\" without a "
                      "scheme, got \"https://bucket/key\""},
        PointerReject{"KeyNameTwoSchemes", with_field("KeyName", R"("s3://s3://bucket/key")"),
                      "parse queue message: field \"KeyName\": expected \"bucket/key\" without a "
                      "scheme, got \"s3://bucket/key\""},
        PointerReject{
            "KeyNameClimbs", with_field("KeyName", R"("local/../../../../etc/passwd")"),
            "parse queue message: field \"KeyName\": key has a \"..\" path segment at byte 0"},
        PointerReject{
            "KeyNameClimbsLater", with_field("KeyName", R"("local/a/./b/../../etc/passwd")"),
            "parse queue message: field \"KeyName\": key has a \".\" path segment at byte 2"},
        PointerReject{"KeyNameBucketClimbs", with_field("KeyName", R"("../etc/passwd")"),
                      "parse queue message: field \"KeyName\": bucket \"..\" is not a bucket name"},
        PointerReject{
            "KeyNameLeadingSlash", with_field("KeyName", R"("local//etc/passwd")"),
            "parse queue message: field \"KeyName\": key has an empty path segment at byte 0 "
            "(a leading or doubled '/')"},
        PointerReject{
            "KeyNameDoubledSlash", with_field("KeyName", R"("local/a//b")"),
            "parse queue message: field \"KeyName\": key has an empty path segment at byte 2 "
            "(a leading or doubled '/')"},
        PointerReject{"KeyNameBadBucket", with_field("KeyName", R"("my bucket/key")"),
                      "parse queue message: field \"KeyName\": bucket \"my bucket\" has \" \" at "
                      "byte 2; bucket names are ASCII letters, digits, '.', '_' and '-'"},
        PointerReject{"KeyNameControlCharacter", with_field("KeyName", R"("b/a\nb")"),
                      "parse queue message: field \"KeyName\": key has control character U+000A "
                      "at byte 1"},
        PointerReject{"KeyNameNul", with_field("KeyName", R"("b/a\u0000")"),
                      "parse queue message: field \"KeyName\": key has control character U+0000 "
                      "at byte 1"},
        PointerReject{"KeyTooLong", with_field("KeyName", "\"b/" + std::string(1025, 'k') + "\""),
                      "parse queue message: field \"KeyName\": key is 1025 bytes long; the limit "
                      "is 1024 bytes"},
        PointerReject{"TableNameMissing", with_field("TableName", ""),
                      "parse queue message: field \"TableName\": missing"},
        PointerReject{"TableNameArray", with_field("TableName", R"(["t"])"),
                      "parse queue message: field \"TableName\": expected a string, got an array"},
        PointerReject{"TableNameEmpty", with_field("TableName", R"("")"),
                      "parse queue message: field \"TableName\": invalid table name: empty"},
        PointerReject{"TableNameHostile", with_field("TableName", R"("t\"; DROP TABLE x; --")"),
                      "parse queue message: field \"TableName\": invalid table name \"t\\\"; DROP "
                      "TABLE x; --\": '\"' at byte 1; only ASCII letters, digits, '_' and '-' are "
                      "allowed"},
        PointerReject{"TableVersionMissing", with_field("TableVersion", ""),
                      "parse queue message: field \"TableVersion\": missing"},
        PointerReject{"TableVersionString", with_field("TableVersion", R"("abc")"),
                      "parse queue message: field \"TableVersion\": expected a non-negative "
                      "integer, got \"abc\""},
        PointerReject{"TableVersionNumericString", with_field("TableVersion", R"("1")"),
                      "parse queue message: field \"TableVersion\": expected a non-negative "
                      "integer, got \"1\""},
        PointerReject{"TableVersionFraction", with_field("TableVersion", "1.5"),
                      "parse queue message: field \"TableVersion\": expected a non-negative "
                      "integer, got 1.5"},
        PointerReject{"TableVersionWholeFloat", with_field("TableVersion", "1.0"),
                      "parse queue message: field \"TableVersion\": expected a non-negative "
                      "integer, got 1.0"},
        PointerReject{"TableVersionExponent", with_field("TableVersion", "1e0"),
                      "parse queue message: field \"TableVersion\": expected a non-negative "
                      "integer, got 1.0"},
        PointerReject{"TableVersionNull", with_field("TableVersion", "null"),
                      "parse queue message: field \"TableVersion\": expected a non-negative "
                      "integer, got null"},
        PointerReject{"TableVersionBool", with_field("TableVersion", "true"),
                      "parse queue message: field \"TableVersion\": expected a non-negative "
                      "integer, got true"},
        PointerReject{"TableVersionNegative", with_field("TableVersion", "-1"),
                      "parse queue message: field \"TableVersion\": expected a non-negative "
                      "integer, got -1"},
        PointerReject{"TableVersionAbsurd", with_field("TableVersion", "100001"),
                      "parse queue message: field \"TableVersion\": 100001 is above the limit of "
                      "100000"},
        PointerReject{"TableVersionIntMax", with_field("TableVersion", "2147483647"),
                      "parse queue message: field \"TableVersion\": 2147483647 is above the limit "
                      "of 100000"},
        PointerReject{"TableVersionHuge", with_field("TableVersion", "18446744073709551615"),
                      "parse queue message: field \"TableVersion\": 18446744073709551615 is above "
                      "the limit of 100000"},
        PointerReject{"TableVersionBeyondUint64",
                      R"({"KeyName":"b/k","TableName":"t","TableVersion":18446744073709551616})",
                      "parse queue message: field \"TableVersion\": expected a non-negative "
                      "integer, got 1.8446744073709552e+19"},
        PointerReject{"FieldNameCaseMatters",
                      R"({"keyname":"b/k","TableName":"t","TableVersion":0})",
                      "parse queue message: field \"KeyName\": missing"}),
    param_name<PointerReject>);

INSTANTIATE_TEST_SUITE_P(
    SnsEnvelope, FilePointerRejectTest,
    ::testing::Values(
        PointerReject{
            "SubscriptionConfirmation", sns_envelope(k_spec_message, "SubscriptionConfirmation"),
            "parse queue message: SNS envelope: field \"Type\": expected \"Notification\", "
            "got \"SubscriptionConfirmation\""},
        PointerReject{
            "TypeNotString", R"({"Type":1,"Message":"{}"})",
            "parse queue message: SNS envelope: field \"Type\": expected a string, got 1"},
        PointerReject{"TypeMissing", R"({"Message":"{}"})",
                      "parse queue message: SNS envelope: field \"Type\": missing"},
        PointerReject{"MessageMissing", R"({"Type":"Notification"})",
                      "parse queue message: SNS envelope: field \"Message\": missing"},
        PointerReject{
            "MessageObject",
            R"({"Type":"Notification","Message":{"KeyName":"b/k","TableName":"t","TableVersion":0}})",
            "parse queue message: SNS envelope: field \"Message\": expected a string, got "
            "an object"},
        PointerReject{"MessageNotJson", sns_envelope("not json"),
                      "parse queue message: SNS envelope: malformed JSON: parse error at line 1, "
                      "column 2: syntax error while parsing value - invalid literal; last read: "
                      "'no'"},
        PointerReject{"MessageBadField", sns_envelope(with_field("TableVersion", R"("abc")")),
                      "parse queue message: SNS envelope: field \"TableVersion\": expected a "
                      "non-negative integer, got \"abc\""},
        PointerReject{"MessageArray", sns_envelope("[]"),
                      "parse queue message: SNS envelope: expected a JSON object, got an array"},
        PointerReject{"NestedEnvelope", sns_envelope(sns_envelope(k_spec_message)),
                      "parse queue message: SNS envelope: an SNS envelope inside an SNS envelope"}),
    param_name<PointerReject>);

TEST(FilePointerParseTest, NestingBeyondTheLimitIsRefusedBeforeItIsBuilt) {
  // 256 KiB of brackets (an SQS message's size) would be a quarter of a million containers.
  const std::string deep = std::string(128 * 1024, '[') + std::string(128 * 1024, ']');
  const std::string at_limit =
      std::string(k_max_json_depth, '[') + std::string(k_max_json_depth, ']');

  const auto refused = parse_file_pointer(deep);
  const auto parsed = parse_json(at_limit);

  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::permanent);
  EXPECT_NE(refused.error().message.find("nested deeper than 64 levels"), std::string::npos)
      << refused.error().message;
  EXPECT_TRUE(parsed) << "64 levels are fine";
  EXPECT_FALSE(parse_json("[" + at_limit + "]")) << "65 are not";
}

TEST(FilePointerEncodeTest, WritesThePipelineMessageByteForByte) {
  const FilePointer pointer{
      .key_name = "bucket/dir/file.gz", .table = "minute-watched", .version = 4};

  EXPECT_EQ(encode_file_pointer(pointer),
            R"({"KeyName":"bucket/dir/file.gz","TableName":"minute-watched","TableVersion":4})");
}

TEST(FilePointerEncodeTest, RoundTripsThroughParse) {
  const auto parsed = parse_file_pointer(k_spec_message);
  ASSERT_TRUE(parsed);

  const auto encoded = encode_file_pointer(*parsed);

  EXPECT_EQ(encoded, k_spec_message);
  EXPECT_EQ(parse_file_pointer(encoded).value(), *parsed);
  EXPECT_EQ(parse_file_pointer(sns_envelope(encoded)).value(), *parsed);
}

TEST(FilePointerEncodeTest, EscapesWhatJsonRequires) {
  const FilePointer pointer{.key_name = "b/a\"b\\c\n", .table = "t", .version = 0};

  EXPECT_EQ(encode_file_pointer(pointer),
            R"({"KeyName":"b/a\"b\\c\n","TableName":"t","TableVersion":0})");
}

TEST(FilePointerEncodeTest, NeverThrowsOnInvalidUtf8) {
  const FilePointer pointer{.key_name = "b/\xff", .table = "t", .version = 0};

  EXPECT_EQ(encode_file_pointer(pointer),
            "{\"KeyName\":\"b/\xef\xbf\xbd\",\"TableName\":\"t\",\"TableVersion\":0}");
}

TEST(KeyNameTest, SplitsAtTheFirstSlash) {
  const auto location = split_key_name("spade-compacter-prod/20160729/oauth_authorize/v0/f.gz");

  ASSERT_TRUE(location) << location.error().message;
  EXPECT_EQ(location->bucket, "spade-compacter-prod");
  EXPECT_EQ(location->key, "20160729/oauth_authorize/v0/f.gz");
}

TEST(KeyNameTest, KeepsSlashesInsideTheKey) {
  const auto location = split_key_name("b/deep/prefix/file.gz");

  ASSERT_TRUE(location);
  EXPECT_EQ(location->bucket, "b");
  EXPECT_EQ(location->key, "deep/prefix/file.gz");
}

TEST(KeyNameTest, NormalisesToAnS3Url) {
  const FilePointer pointer{.key_name = "bucket/prefix/file.gz", .table = "t", .version = 0};

  EXPECT_EQ(s3_url(pointer), "s3://bucket/prefix/file.gz");
  EXPECT_EQ(s3_url(ObjectLocation{"bucket", "prefix/file.gz"}), "s3://bucket/prefix/file.gz");
  // A row the original recorded with the scheme is used as it is (its NormalizeS3URL).
  EXPECT_EQ(s3_url(FilePointer{.key_name = "s3://bucket/prefix/file.gz"}),
            "s3://bucket/prefix/file.gz");
}

TEST(KeyNameTest, ParsesAnS3UrlBack) {
  const auto location = parse_s3_url("s3://manifests/6ba7b810-9dad-11d1-80b4-00c04fd430c8.json");

  ASSERT_TRUE(location) << location.error().message;
  EXPECT_EQ(*location, (ObjectLocation{"manifests", "6ba7b810-9dad-11d1-80b4-00c04fd430c8.json"}));
  EXPECT_EQ(s3_url(*location), "s3://manifests/6ba7b810-9dad-11d1-80b4-00c04fd430c8.json");
}

TEST(KeyNameTest, RejectsUrlsThatAreNotS3) {
  const auto https = parse_s3_url("https://bucket/key");
  const auto bare = parse_s3_url("s3://bucket");

  ASSERT_FALSE(https);
  EXPECT_EQ(https.error().message, "parse S3 URL \"https://bucket/key\": expected s3://bucket/key");
  ASSERT_FALSE(bare);
  EXPECT_EQ(bare.error().message,
            "parse S3 URL \"s3://bucket\": expected \"bucket/key\", got \"bucket\"");
}

TEST(KeyNameTest, AcceptsLegacyBucketNamesUpTo255Bytes) {
  EXPECT_TRUE(split_key_name("Legacy_Bucket.Name-1/key"));
  EXPECT_TRUE(split_key_name(std::string(255, 'b') + "/key"));

  const auto too_long = split_key_name(std::string(256, 'b') + "/key");

  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().message, "bucket is 256 bytes long; the limit is 255 bytes");
}

} // namespace
} // namespace rsi::core
