#include "core/intake_message.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/s3_notifications.hpp"

namespace rsi::core {
namespace {

namespace n = test::notifications;

IntakeMessage parsed_message(const std::string& body) {
  auto message = parse_intake_message(body);
  EXPECT_TRUE(message) << message.error().message;
  return message ? *message : IntakeMessage{};
}

std::string message_error(const std::string& body) {
  auto message = parse_intake_message(body);
  EXPECT_FALSE(message) << body;
  return message ? "" : message.error().message;
}

TEST(IntakeMessageTest, ASpadeMessageKeepsItsPointer) {
  const auto message =
      parsed_message(R"({"KeyName":"spade/clicks/v2/f.gz","TableName":"clicks","TableVersion":2})");

  EXPECT_EQ(message.form, MessageForm::spade);
  ASSERT_TRUE(message.pointer);
  EXPECT_EQ(*message.pointer, (FilePointer{"spade/clicks/v2/f.gz", "clicks", 2}));
  EXPECT_TRUE(message.created.empty());
}

TEST(IntakeMessageTest, AnS3NotificationAnnouncesItsObjectWithTheKeyDecoded) {
  const auto message = parsed_message(n::s3_event({{.bucket = "events",
                                                    .encoded_key = "logs/clicks/v1/"
                                                                   "red+flower%2B1.gz"}}));

  EXPECT_EQ(message.form, MessageForm::s3);
  EXPECT_FALSE(message.sns);
  EXPECT_FALSE(message.pointer);
  ASSERT_EQ(message.created.size(), 1U);
  EXPECT_EQ(message.created[0], (ObjectLocation{"events", "logs/clicks/v1/red flower+1.gz"}));
}

TEST(IntakeMessageTest, NonAsciiKeysArriveAsEncodedUtf8) {
  // "été/naïve file.gz" as S3 encodes it.
  const auto message = parsed_message(
      n::s3_event({{.bucket = "events", .encoded_key = "%C3%A9t%C3%A9/na%C3%AFve+file.gz"}}));

  ASSERT_EQ(message.created.size(), 1U);
  EXPECT_EQ(message.created[0].key, "\xc3\xa9t\xc3\xa9/na\xc3\xafve file.gz");
}

TEST(IntakeMessageTest, EveryRecordOfAMessageCountsInOrder) {
  const auto message = parsed_message(n::s3_event(
      {{.bucket = "a", .encoded_key = "one.gz"},
       {.event_name = "ObjectRemoved:Delete", .bucket = "a", .encoded_key = "gone.gz"},
       {.event_name = "ObjectCreated:CompleteMultipartUpload",
        .bucket = "b",
        .encoded_key = "two.gz"},
       {.event_name = "ObjectTagging:Put", .bucket = "a", .encoded_key = "tagged.gz"}}));

  ASSERT_EQ(message.created.size(), 2U);
  EXPECT_EQ(message.created[0], (ObjectLocation{"a", "one.gz"}));
  EXPECT_EQ(message.created[1], (ObjectLocation{"b", "two.gz"}));
  EXPECT_EQ(message.removed, 1U);
  EXPECT_EQ(message.other, 1U);
}

TEST(IntakeMessageTest, SnsWrapsEveryFormAlike) {
  const auto s3 =
      parsed_message(n::sns_envelope(n::s3_event({{.bucket = "a", .encoded_key = "k+1.gz"}})));
  EXPECT_EQ(s3.form, MessageForm::s3);
  EXPECT_TRUE(s3.sns);
  ASSERT_EQ(s3.created.size(), 1U);
  EXPECT_EQ(s3.created[0].key, "k 1.gz");

  const auto bridge = parsed_message(n::sns_envelope(n::eventbridge_event("a", "k 1.gz")));
  EXPECT_EQ(bridge.form, MessageForm::eventbridge);
  EXPECT_TRUE(bridge.sns);

  const auto spade =
      parsed_message(n::sns_envelope(R"({"KeyName":"b/k.gz","TableName":"t","TableVersion":0})"));
  EXPECT_EQ(spade.form, MessageForm::spade);
  EXPECT_TRUE(spade.sns);
  EXPECT_TRUE(spade.pointer);
}

TEST(IntakeMessageTest, EventBridgeKeysAreTakenAsTheyAre) {
  // EventBridge does not URL-encode: a '+' is a plus sign.
  const auto message = parsed_message(n::eventbridge_event("events", "logs/a+b c:d.gz"));

  EXPECT_EQ(message.form, MessageForm::eventbridge);
  ASSERT_EQ(message.created.size(), 1U);
  EXPECT_EQ(message.created[0], (ObjectLocation{"events", "logs/a+b c:d.gz"}));
}

TEST(IntakeMessageTest, RemovalsAndOtherEventsAnnounceNothing) {
  const auto deleted = parsed_message(n::eventbridge_event("events", "k.gz", "Object Deleted"));
  EXPECT_TRUE(deleted.created.empty());
  EXPECT_EQ(deleted.removed, 1U);

  const auto restored =
      parsed_message(n::eventbridge_event("events", "k.gz", "Object Restore Completed"));
  EXPECT_TRUE(restored.created.empty());
  EXPECT_EQ(restored.other, 1U);
}

TEST(IntakeMessageTest, TheTestEventIsRecognised) {
  const auto message = parsed_message(n::s3_test_event("events"));

  EXPECT_EQ(message.form, MessageForm::s3_test);
  EXPECT_TRUE(message.created.empty());
  EXPECT_FALSE(message.pointer);
  EXPECT_EQ(parsed_message(n::sns_envelope(n::s3_test_event("events"))).form, MessageForm::s3_test);
}

TEST(IntakeMessageTest, OneBadRecordFailsTheWholeMessage) {
  const std::string good = R"({"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"a"},)"
                           R"("object":{"key":"ok.gz"}}})";
  EXPECT_NE(message_error(R"({"Records":[)" + good +
                          R"(,{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"a"}}}]})")
                .find("record 1: field \"s3.object\": missing"),
            std::string::npos);
  EXPECT_NE(message_error(n::s3_event({{.bucket = "a", .encoded_key = "ok.gz"},
                                       {.bucket = "a", .encoded_key = "bad%zz.gz"}}))
                .find("record 1: key \"bad%zz.gz\" has a broken %-escape"),
            std::string::npos);
  // Decoded keys pass the KeyName rules: no control characters, no empty segments, no "..".
  EXPECT_NE(message_error(n::s3_event({{.bucket = "a", .encoded_key = "x%0Ay.gz"}}))
                .find("control character"),
            std::string::npos);
  EXPECT_NE(
      message_error(n::s3_event({{.bucket = "a", .encoded_key = "a/../b.gz"}})).find("\"..\""),
      std::string::npos);
  EXPECT_NE(message_error(n::s3_event({{.bucket = "a", .encoded_key = "%FF.gz"}})).find("UTF-8"),
            std::string::npos);
}

TEST(IntakeMessageTest, MalformedNotificationsSayWhatIsWrong) {
  EXPECT_EQ(message_error(R"({"Records":[]})"),
            "parse queue message: field \"Records\": no records");
  EXPECT_NE(message_error(R"({"Records":{}})").find("field \"Records\""), std::string::npos);
  EXPECT_NE(message_error(R"({"Records":[{"s3":{}}]})").find("record 0: field \"eventName\""),
            std::string::npos);
  EXPECT_NE(message_error(R"({"detail-type":"Object Created","source":"aws.ec2"})")
                .find("only aws.s3 events announce objects"),
            std::string::npos);
  EXPECT_NE(message_error(R"({"detail-type":"Object Created","source":"aws.s3","detail":{}})")
                .find("field \"detail.bucket\": missing"),
            std::string::npos);
  EXPECT_NE(message_error(n::sns_envelope(n::sns_envelope(n::s3_test_event("a"))))
                .find("an SNS envelope inside an SNS envelope"),
            std::string::npos);
  // Neither form: Spade's rules name what is missing, as before S3's forms were accepted.
  EXPECT_NE(message_error(R"({"Hello":1})").find("KeyName"), std::string::npos);
}

TEST(IntakeMessageTest, ParseFilePointerStillTakesOnlySpadesMessage) {
  const auto pointer = parse_file_pointer(n::s3_test_event("a"));

  ASSERT_FALSE(pointer);
  EXPECT_EQ(pointer.error().message, "parse queue message: an s3_test message, not the pipeline's");
}

} // namespace
} // namespace rsi::core
