#include "core/event_metadata.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/load_status.hpp"
#include "param_name.hpp"

namespace rsi::core {
namespace {

constexpr std::string_view k_all_metadata =
    R"({"minute_watched":{"datastores":{"MetadataValue":"ace","TS":"2026-11-27T07:11:28.333321Z","UserName":"unknown","Version":1},)"
    R"("edge_type":{"MetadataValue":"internal","TS":"2026-11-27T07:11:28.37531Z","UserName":"unknown","Version":1}},)"
    R"("no_datastores":{"birth":{"MetadataValue":"2026-11-27T07:11:21+0000","TS":"2026-11-27T07:11:21.591851Z","UserName":"unknown","Version":1}},)"
    R"("other_only":{"datastores":{"MetadataValue":"other, aceish","TS":"","UserName":"","Version":2}},)"
    R"("video_play":{"datastores":{"MetadataValue":" other , ace ","TS":"","UserName":"","Version":1}}})";

class EventMetadataTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto parsed = parse_event_metadata(k_all_metadata);
    ASSERT_TRUE(parsed) << parsed.error().message;
    m_metadata = std::move(*parsed);
  }

  EventMetadata m_metadata;
};

TEST_F(EventMetadataTest, DecodesEveryRow) {
  ASSERT_EQ(m_metadata.events.size(), 4U);
  const auto& row = m_metadata.events.at("minute_watched").at("datastores");
  EXPECT_EQ(row, (EventMetadataRow{"ace", "2026-11-27T07:11:28.333321Z", "unknown", 1}));
}

TEST_F(EventMetadataTest, DistinguishesUnknownTablesFromTablesOutsideAce) {
  EXPECT_EQ(ace_membership(m_metadata, "minute_watched"), AceMembership::in_ace);
  EXPECT_EQ(ace_membership(m_metadata, "video_play"), AceMembership::in_ace);
  EXPECT_EQ(ace_membership(m_metadata, "other_only"), AceMembership::not_in_ace);
  EXPECT_EQ(ace_membership(m_metadata, "no_datastores"), AceMembership::not_in_ace);
  EXPECT_EQ(ace_membership(m_metadata, "nosuch"), AceMembership::unknown_table);
  EXPECT_EQ(ace_membership(m_metadata, "Minute_Watched"), AceMembership::unknown_table);
  EXPECT_TRUE(loads_into_ace(m_metadata, "video_play"));
  EXPECT_FALSE(loads_into_ace(m_metadata, "other_only"));
  EXPECT_FALSE(loads_into_ace(m_metadata, "nosuch"));
  EXPECT_EQ(to_string(AceMembership::not_in_ace), "not_in_ace");
}

TEST_F(EventMetadataTest, ReproducesTheDocumentBytes) {
  EXPECT_EQ(encode_event_metadata(m_metadata), k_all_metadata);
  EXPECT_EQ(parse_event_metadata(encode_event_metadata(m_metadata)).value(), m_metadata);
}

TEST(DatastoresTest, SplitsOnCommasAndTrimsBlanks) {
  EXPECT_EQ(split_datastores("ace"), (std::vector<std::string>{"ace"}));
  EXPECT_EQ(split_datastores("ace,other"), (std::vector<std::string>{"ace", "other"}));
  EXPECT_EQ(split_datastores(" ace ,\tother\t, ,"), (std::vector<std::string>{"ace", "other"}));
  EXPECT_EQ(split_datastores(""), std::vector<std::string>{});
  EXPECT_EQ(split_datastores(" , "), std::vector<std::string>{});
}

TEST(DatastoresTest, MatchesAceExactly) {
  EventMetadata metadata;
  metadata.events["upper"]["datastores"].value = "ACE";
  metadata.events["prefix"]["datastores"].value = "aces,race";
  metadata.events["empty"]["datastores"].value = "";

  EXPECT_EQ(ace_membership(metadata, "upper"), AceMembership::not_in_ace);
  EXPECT_EQ(ace_membership(metadata, "prefix"), AceMembership::not_in_ace);
  EXPECT_EQ(ace_membership(metadata, "empty"), AceMembership::not_in_ace);
}

TEST(EventMetadataParseTest, OptionalFieldsDefault) {
  const auto metadata = parse_event_metadata(R"({"e":{"datastores":{"MetadataValue":"ace"}}})");

  ASSERT_TRUE(metadata) << metadata.error().message;
  EXPECT_EQ(metadata->events.at("e").at("datastores"), (EventMetadataRow{"ace", "", "", 0}));
}

TEST(EventMetadataParseTest, AnEmptyObjectIsNoEvents) {
  const auto metadata = parse_event_metadata("{}");

  ASSERT_TRUE(metadata);
  EXPECT_TRUE(metadata->events.empty());
}

struct MetadataReject {
  std::string test_name;
  std::string body;
  std::string expected_error;
};

class EventMetadataRejectTest : public ::testing::TestWithParam<MetadataReject> {};

TEST_P(EventMetadataRejectTest, RejectsNamingEventAndType) {
  const auto metadata = parse_event_metadata(GetParam().body);

  ASSERT_FALSE(metadata);
  EXPECT_EQ(metadata.error().kind, ErrorKind::permanent);
  EXPECT_EQ(metadata.error().message, GetParam().expected_error);
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, EventMetadataRejectTest,
    ::testing::Values(
        MetadataReject{"Array", "[]", "parse event metadata: expected a JSON object, got an array"},
        MetadataReject{"EventNotObject", R"({"e":"ace"})",
                       "parse event metadata: event \"e\": expected a JSON object, got \"ace\""},
        MetadataReject{"RowNotObject", R"({"e":{"datastores":"ace"}})",
                       "parse event metadata: event \"e\": type \"datastores\": expected a JSON "
                       "object, got \"ace\""},
        MetadataReject{"ValueMissing", R"({"video_play":{"datastores":{"TS":""}}})",
                       "parse event metadata: event \"video_play\": type \"datastores\": field "
                       "\"MetadataValue\": missing"},
        MetadataReject{"ValueNotString", R"({"e":{"datastores":{"MetadataValue":["ace"]}}})",
                       "parse event metadata: event \"e\": type \"datastores\": field "
                       "\"MetadataValue\": expected a string, got an array"},
        MetadataReject{"VersionFloat",
                       R"({"e":{"datastores":{"MetadataValue":"ace","Version":1.5}}})",
                       "parse event metadata: event \"e\": type \"datastores\": field \"Version\": "
                       "expected a non-negative integer, got 1.5"}),
    param_name<MetadataReject>);

TEST(SingleEventMetadataTest, DecodesTheMetadataRoute) {
  const auto metadata = parse_single_event_metadata(
      R"({"EventName":"minute_watched","Metadata":{"datastores":{"MetadataValue":"ace","TS":"t","UserName":"u","Version":1}}})");

  ASSERT_TRUE(metadata) << metadata.error().message;
  EXPECT_EQ(ace_membership(*metadata, "minute_watched"), AceMembership::in_ace);
}

TEST(SingleEventMetadataTest, RequiresEventNameAndMetadata) {
  const auto no_name = parse_single_event_metadata(R"({"Metadata":{}})");
  const auto no_rows = parse_single_event_metadata(R"({"EventName":"e"})");

  ASSERT_FALSE(no_name);
  EXPECT_EQ(no_name.error().message, "parse event metadata: field \"EventName\": missing");
  ASSERT_FALSE(no_rows);
  EXPECT_EQ(no_rows.error().message, "parse event metadata: field \"Metadata\": missing");
}

TEST(LoadStatusTest, NamesRoundTrip) {
  for (const LoadStatus status :
       {LoadStatus::complete, LoadStatus::failed, LoadStatus::not_found, LoadStatus::in_progress}) {
    EXPECT_EQ(parse_load_status(to_string(status)), status);
  }
  EXPECT_EQ(to_string(LoadStatus::not_found), "not_found");
  EXPECT_EQ(to_string(LoadStatus::in_progress), "in_progress");
  EXPECT_EQ(parse_load_status("load-complete"), std::nullopt);
}

} // namespace
} // namespace rsi::core
