// Every response recorded from a real Blueprint server (../shared/spec/blueprint/*.http) goes
// through the codec that reads it in production, and the encoders reproduce its bytes.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "core/event_metadata.hpp"
#include "core/json_fields.hpp"
#include "core/operation.hpp"
#include "core/schema.hpp"
#include "support/testdata.hpp"

namespace rsi::core {
namespace {

struct HttpRecording {
  int status = 0;
  std::string content_type;
  std::string body;
};

// Split a raw HTTP/1.1 response into status, Content-Type and body (after the blank line).
HttpRecording read_recording(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  const std::string raw = contents.str();
  const auto blank_line = raw.find("\r\n\r\n");
  EXPECT_NE(blank_line, std::string::npos) << path;
  HttpRecording recording;
  recording.body = raw.substr(blank_line + 4);
  const std::string_view head(raw.data(), blank_line);
  const auto status_at = head.find(' ') + 1;
  std::from_chars(head.data() + status_at, head.data() + status_at + 3, recording.status);
  for (std::size_t line_start = head.find("\r\n") + 2; line_start < head.size();) {
    const auto line_end = std::min(head.find("\r\n", line_start), head.size());
    const auto line = head.substr(line_start, line_end - line_start);
    if (line.starts_with("Content-Type: ")) {
      recording.content_type = line.substr(14);
    }
    if (line.starts_with("Content-Length: ")) {
      EXPECT_EQ(line.substr(16), std::to_string(recording.body.size())) << path;
    }
    line_start = line_end + 2;
  }
  return recording;
}

enum class Codec {
  migration,             // 200 → parse_migration
  schema,                // 200 → parse_schema
  schema_list,           // 200 → parse_schema_list
  blueprint_error,       // 400 → parse_blueprint_error
  event_metadata,        // 200 → parse_event_metadata
  single_event_metadata, // 200 → parse_single_event_metadata
  not_found,             // 404 text/plain: no codec accepts it
  plain_json,            // A route rs_ingester does not call; only checked to be JSON.
};

struct Recording {
  std::string file;
  Codec codec = Codec::plain_json;
  int status = 200;
};

void PrintTo(const Recording& recording, std::ostream* out) { *out << recording.file; }

const std::vector<Recording>& recordings() {
  static const std::vector<Recording> all{
      {"allmetadata.http", Codec::event_metadata},
      {"droppable_schema_video_play.http", Codec::plain_json},
      {"metadata_minute_watched.http", Codec::single_event_metadata},
      {"migration_minute_watched.http", Codec::blueprint_error, 400},
      {"migration_minute_watched_to_version_-1.http", Codec::blueprint_error, 400},
      {"migration_minute_watched_to_version_0.http", Codec::migration},
      {"migration_minute_watched_to_version_1.http", Codec::migration},
      {"migration_minute_watched_to_version_1_from_version_-1.http", Codec::migration},
      {"migration_minute_watched_to_version_2.http", Codec::blueprint_error, 400},
      {"migration_nosuch_to_version_0.http", Codec::blueprint_error, 400},
      {"migration_video_play_to_version_0.http", Codec::migration},
      {"migration_video_play_to_version_1.http", Codec::migration},
      {"schema_minute_watched.http", Codec::schema},
      {"schema_minute_watched_version_0.http", Codec::schema},
      {"schema_minute_watched_version_1.http", Codec::schema},
      {"schema_minute_watched_version_abc.http", Codec::blueprint_error, 400},
      {"schema_nosuch_version_0.http", Codec::not_found, 404},
      {"schema_video_play.http", Codec::not_found, 404},
      {"schema_video_play_version_0.http", Codec::schema},
      {"schema_video_play_version_1.http", Codec::not_found, 404},
      {"schemas.http", Codec::schema_list},
  };
  return all;
}

// The recording's body, or a skip (a failure in CI) when ../shared/spec is absent.
#define RSI_READ_RECORDING(var, file)                                                              \
  RSI_REQUIRE_TESTDATA(var##_path, ::rsi::test::spec_file("blueprint/" + std::string(file)));      \
  const HttpRecording var = read_recording(var##_path)

TEST(BlueprintRecordingTest, EveryRecordingHasAnExpectation) {
  RSI_REQUIRE_TESTDATA(directory, ::rsi::test::spec_file("blueprint"));
  std::set<std::string> known;
  for (const Recording& recording : recordings()) {
    known.insert(recording.file);
  }

  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.path().extension() == ".http") {
      EXPECT_TRUE(known.contains(entry.path().filename().string()))
          << entry.path().filename() << " has no entry in recordings()";
    }
  }
}

class BlueprintRecordingCodecTest : public ::testing::TestWithParam<Recording> {};

TEST_P(BlueprintRecordingCodecTest, DecodesAndReencodesByteForByte) {
  const Recording& expected = GetParam();
  RSI_READ_RECORDING(recording, expected.file);
  ASSERT_EQ(recording.status, expected.status);

  switch (expected.codec) {
  case Codec::migration: {
    const auto operations = parse_migration(recording.body);
    ASSERT_TRUE(operations) << operations.error().message;
    EXPECT_FALSE(operations->empty());
    EXPECT_EQ(encode_migration(*operations), recording.body);
    break;
  }
  case Codec::schema: {
    const auto schema = parse_schema(recording.body);
    ASSERT_TRUE(schema) << schema.error().message;
    EXPECT_EQ(encode_schema(*schema), recording.body);
    break;
  }
  case Codec::schema_list: {
    const auto schemas = parse_schema_list(recording.body);
    ASSERT_TRUE(schemas) << schemas.error().message;
    EXPECT_EQ(encode_schema_list(*schemas), recording.body);
    break;
  }
  case Codec::blueprint_error: {
    const auto message = parse_blueprint_error(recording.body);
    ASSERT_TRUE(message) << message.error().message;
    EXPECT_FALSE(message->empty());
    EXPECT_EQ(encode_blueprint_error(*message), recording.body);
    // The success codecs must not mistake an error body for an answer.
    EXPECT_FALSE(parse_migration(recording.body));
    EXPECT_FALSE(parse_schema(recording.body));
    break;
  }
  case Codec::event_metadata: {
    const auto metadata = parse_event_metadata(recording.body);
    ASSERT_TRUE(metadata) << metadata.error().message;
    EXPECT_EQ(encode_event_metadata(*metadata), recording.body);
    break;
  }
  case Codec::single_event_metadata: {
    const auto metadata = parse_single_event_metadata(recording.body);
    ASSERT_TRUE(metadata) << metadata.error().message;
    EXPECT_EQ(metadata->events.size(), 1U);
    break;
  }
  case Codec::not_found: {
    EXPECT_TRUE(recording.content_type.starts_with("text/plain"));
    const auto schema = parse_schema(recording.body);
    ASSERT_FALSE(schema);
    EXPECT_EQ(schema.error().kind, ErrorKind::permanent);
    EXPECT_FALSE(parse_blueprint_error(recording.body));
    break;
  }
  case Codec::plain_json:
    EXPECT_TRUE(parse_json(recording.body));
    break;
  }
}

// "migration_minute_watched_to_version_-1.http" → "migration_minute_watched_to_version__1".
std::string recording_name(const ::testing::TestParamInfo<Recording>& info) {
  std::string name = info.param.file.substr(0, info.param.file.find('.'));
  std::ranges::replace_if(
      name, [](char character) { return std::isalnum(static_cast<unsigned char>(character)) == 0; },
      '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Recordings, BlueprintRecordingCodecTest, ::testing::ValuesIn(recordings()),
                         recording_name);

TEST(BlueprintRecordingContentTest, MigrationToVersion1DeletesAddsThenRenames) {
  RSI_READ_RECORDING(recording, "migration_minute_watched_to_version_1.http");

  const auto operations = parse_migration(recording.body);

  ASSERT_TRUE(operations) << operations.error().message;
  ASSERT_EQ(operations->size(), 4U);
  EXPECT_EQ(
      operations->at(0),
      (Operation{
          .action = Action::delete_column, .name = "device_id", .version = 1, .ordering = 0}));
  EXPECT_EQ(operations->at(1), (Operation{.action = Action::add,
                                          .name = "platform",
                                          .version = 1,
                                          .ordering = 1,
                                          .inbound = "platform",
                                          .column_type = "varchar",
                                          .column_options = "(16)"}));
  EXPECT_EQ(operations->at(2).column_type, "bigint");
  EXPECT_EQ(operations->at(3), (Operation{.action = Action::rename,
                                          .name = "channel",
                                          .version = 1,
                                          .ordering = 3,
                                          .new_outbound = "channel_name"}));
}

TEST(BlueprintRecordingContentTest, MigrationFromScratchSpansBothVersions) {
  RSI_READ_RECORDING(recording, "migration_minute_watched_to_version_1_from_version_-1.http");

  const auto operations = parse_migration(recording.body);

  ASSERT_TRUE(operations) << operations.error().message;
  ASSERT_EQ(operations->size(), 9U);
  EXPECT_EQ(operations->front().name, "time");
  EXPECT_EQ(operations->front().column_type, "f@timestamp@unix");
  EXPECT_EQ(operations->front().column_options, " sortkey");
  EXPECT_EQ(operations->at(4).column_type, "ipCountry");
  EXPECT_EQ(operations->at(4).inbound, "ip");
  EXPECT_EQ(operations->back().version, 1);
}

TEST(BlueprintRecordingContentTest, DropEventHasAReasonAndNoName) {
  RSI_READ_RECORDING(recording, "migration_video_play_to_version_1.http");

  const auto operations = parse_migration(recording.body);

  ASSERT_TRUE(operations) << operations.error().message;
  ASSERT_EQ(operations->size(), 1U);
  EXPECT_EQ(operations->at(0).action, Action::drop_event);
  EXPECT_EQ(operations->at(0).name, "");
  EXPECT_EQ(operations->at(0).reason, "testing drop");
}

TEST(BlueprintRecordingContentTest, SchemaCarriesRenamedColumns) {
  RSI_READ_RECORDING(recording, "schema_minute_watched_version_1.http");

  const auto schema = parse_schema(recording.body);

  ASSERT_TRUE(schema) << schema.error().message;
  EXPECT_EQ(schema->event_name, "minute_watched");
  EXPECT_EQ(schema->version, 1);
  ASSERT_EQ(schema->columns.size(), 6U);
  EXPECT_EQ(schema->columns[1],
            (ColumnDefinition{"channel", "channel_name", "varchar", "(25)", ""}));
  EXPECT_FALSE(schema->dropped);
}

TEST(BlueprintRecordingContentTest, ErrorMessagesAreBlueprints) {
  RSI_READ_RECORDING(recording, "migration_nosuch_to_version_0.http");

  const auto message = parse_blueprint_error(recording.body);

  ASSERT_TRUE(message) << message.error().message;
  EXPECT_EQ(*message, "No migration for table 'nosuch' to v0.");
}

TEST(BlueprintRecordingContentTest, AllMetadataPutsBothEventsInAce) {
  RSI_READ_RECORDING(recording, "allmetadata.http");

  const auto metadata = parse_event_metadata(recording.body);

  ASSERT_TRUE(metadata) << metadata.error().message;
  EXPECT_EQ(ace_membership(*metadata, "minute_watched"), AceMembership::in_ace);
  EXPECT_EQ(ace_membership(*metadata, "video_play"), AceMembership::in_ace);
  EXPECT_EQ(ace_membership(*metadata, "nosuch"), AceMembership::unknown_table);
  EXPECT_EQ(metadata->events.at("video_play").at("datastores").value, "ace,other");
  EXPECT_EQ(metadata->events.at("minute_watched").at("edge_type").value, "internal");
}

TEST(BlueprintRecordingContentTest, SchemasListsEveryLiveEvent) {
  RSI_READ_RECORDING(recording, "schemas.http");

  const auto schemas = parse_schema_list(recording.body);

  ASSERT_TRUE(schemas) << schemas.error().message;
  ASSERT_EQ(schemas->size(), 2U);
  EXPECT_EQ(schemas->at(0).event_name, "minute_watched");
  EXPECT_EQ(schemas->at(1).event_name, "video_play");
}

} // namespace
} // namespace rsi::core
