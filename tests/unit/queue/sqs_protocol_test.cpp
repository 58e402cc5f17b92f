// Reading SQS's JSON answers and errors, and resolving where a configured queue lives.

#include "queue/sqs_protocol.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace rsi::queue::sqs {
namespace {

using nlohmann::json;

std::vector<Message> three_messages() {
  return {{.id = "m-a", .receipt = "r-a"},
          {.id = "m-b", .receipt = "r-b"},
          {.id = "m-c", .receipt = "r-c"}};
}

TEST(SqsParseReceive, ReadsBodiesReceiptsAndSystemAttributes) {
  const json response = json::parse(R"({"Messages":[{
      "MessageId":"id-1","ReceiptHandle":"rh-1","MD5OfBody":"x","Body":"{\"KeyName\":\"b/k\"}",
      "Attributes":{"ApproximateReceiveCount":"3","SentTimestamp":"1700000000123"}}]})");

  auto messages = parse_receive(response);

  ASSERT_TRUE(messages) << messages.error().message;
  ASSERT_EQ(messages->size(), 1U);
  const Message& message = (*messages)[0];
  EXPECT_EQ(message.id, "id-1");
  EXPECT_EQ(message.receipt, "rh-1");
  EXPECT_EQ(message.body, R"({"KeyName":"b/k"})");
  EXPECT_EQ(message.receive_count, 3);
  ASSERT_TRUE(message.sent_at.has_value());
  EXPECT_EQ(to_epoch_micros(*message.sent_at), 1'700'000'000'123'000);
}

TEST(SqsParseReceive, WithoutAttributesTheMessageIsAFirstDeliveryOfUnknownAge) {
  auto messages = parse_receive(json::parse(R"({"Messages":[{"MessageId":"i","ReceiptHandle":"r",
      "Body":"b"}]})"));

  ASSERT_TRUE(messages) << messages.error().message;
  ASSERT_EQ(messages->size(), 1U);
  EXPECT_EQ((*messages)[0].receive_count, 1);
  EXPECT_FALSE((*messages)[0].sent_at.has_value());
}

TEST(SqsParseReceive, NoMessagesIsAnEmptyList) {
  auto from_empty_object = parse_receive(json::object());
  auto from_empty_list = parse_receive(json::parse(R"({"Messages":[]})"));

  ASSERT_TRUE(from_empty_object && from_empty_list);
  EXPECT_TRUE(from_empty_object->empty());
  EXPECT_TRUE(from_empty_list->empty());
}

TEST(SqsParseReceive, MessageWithoutReceiptIsAMalformedResponse) {
  auto messages = parse_receive(json::parse(R"({"Messages":[{"MessageId":"i","Body":"b"}]})"));

  ASSERT_FALSE(messages);
  EXPECT_EQ(messages.error().kind, ErrorKind::transient);
}

TEST(SqsParseDepth, ReadsTheApproximateCountsSentAsStrings) {
  auto depth = parse_depth(json::parse(R"({"Attributes":{"ApproximateNumberOfMessages":"12",
      "ApproximateNumberOfMessagesNotVisible":"3","ApproximateNumberOfMessagesDelayed":"1"}})"));

  ASSERT_TRUE(depth) << depth.error().message;
  EXPECT_EQ(depth->waiting, 12);
  EXPECT_EQ(depth->in_flight, 3);
  EXPECT_EQ(depth->delayed, 1);
  EXPECT_TRUE(depth->approximate);
  EXPECT_EQ(depth->total(), 16);
}

TEST(SqsParseDepth, AMissingAttributeCountsZero) {
  auto depth = parse_depth(json::parse(R"({"Attributes":{"ApproximateNumberOfMessages":"2"}})"));

  ASSERT_TRUE(depth) << depth.error().message;
  EXPECT_EQ(depth->total(), 2);
}

TEST(SqsParseDepth, ANonNumberOrNoAttributesIsAMalformedResponse) {
  for (const char* body : {R"({})", R"({"Attributes":{"ApproximateNumberOfMessages":"many"}})",
                           R"({"Attributes":{"ApproximateNumberOfMessages":"-1"}})"}) {
    auto depth = parse_depth(json::parse(body));

    ASSERT_FALSE(depth) << body;
    EXPECT_EQ(depth.error().kind, ErrorKind::transient) << body;
  }
}

TEST(SqsParseBatch, ListsFailedEntriesWithTheirMessageIdsAndKinds) {
  const auto messages = three_messages();
  const json response = json::parse(R"({"Successful":[{"Id":"1"}],"Failed":[
      {"Id":"0","SenderFault":true,"Code":"ReceiptHandleIsInvalid","Message":"The input receipt handle is invalid."},
      {"Id":"2","SenderFault":false,"Code":"InternalError","Message":"try again"}]})");

  const BatchOutcome outcome = parse_batch(response, messages, "remove");

  ASSERT_EQ(outcome.failed.size(), 2U);
  EXPECT_EQ(outcome.failed[0].id, "m-a");
  EXPECT_EQ(outcome.failed[0].error.kind, ErrorKind::conflict);
  EXPECT_NE(outcome.failed[0].error.message.find("ReceiptHandleIsInvalid"), std::string::npos);
  EXPECT_NE(outcome.failed[0].error.message.find("remove message m-a"), std::string::npos);
  EXPECT_EQ(outcome.failed[1].id, "m-c");
  EXPECT_EQ(outcome.failed[1].error.kind, ErrorKind::transient);
}

TEST(SqsParseBatch, AllSuccessfulIsAnEmptyFailureList) {
  const auto messages = three_messages();

  const BatchOutcome outcome =
      parse_batch(json::parse(R"({"Successful":[{"Id":"0"},{"Id":"1"},{"Id":"2"}],"Failed":[]})"),
                  messages, "remove");

  EXPECT_TRUE(outcome.all_succeeded());
}

TEST(SqsParseBatch, EntryMissingFromTheResponseIsReportedFailed) {
  const auto messages = three_messages();

  const BatchOutcome outcome =
      parse_batch(json::parse(R"({"Successful":[{"Id":"0"},{"Id":"2"},{"Id":"7"}]})"), messages,
                  "change_visibility");

  ASSERT_EQ(outcome.failed.size(), 1U);
  EXPECT_EQ(outcome.failed[0].id, "m-b");
  EXPECT_EQ(outcome.failed[0].error.kind, ErrorKind::transient);
}

TEST(SqsClassifyEntryFailure, StaleOrInvalidReceiptsAreConflicts) {
  EXPECT_EQ(classify_entry_failure("ReceiptHandleIsInvalid", "", true), ErrorKind::conflict);
  EXPECT_EQ(classify_entry_failure("AWS.SimpleQueueService.MessageNotInflight", "", true),
            ErrorKind::conflict);
  EXPECT_EQ(classify_entry_failure("InvalidParameterValue",
                                   "Value x for parameter ReceiptHandle is invalid. Reason: The "
                                   "receipt handle has expired.",
                                   true),
            ErrorKind::conflict);
  EXPECT_EQ(classify_entry_failure("InvalidParameterValue", "VisibilityTimeout too big", true),
            ErrorKind::permanent);
  EXPECT_EQ(classify_entry_failure("InternalError", "", false), ErrorKind::transient);
}

TEST(SqsParseError, ReadsTheJsonBodyWithoutItsNamespace) {
  const http::Response response{
      .status = 400,
      .body =
          R"({"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."})"};

  const http::ServiceError error = parse_error(response);

  EXPECT_EQ(error.code, "QueueDoesNotExist");
  EXPECT_EQ(error.message, "The specified queue does not exist.");
  EXPECT_FALSE(error.kind.has_value());
}

TEST(SqsParseError, FallsBackToTheQueryErrorHeader) {
  const http::Response response{
      .status = 400,
      .headers = {{"x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender"}},
      .body = ""};

  EXPECT_EQ(parse_error(response).code, "NonExistentQueue");
}

TEST(SqsParseError, OverLimitIsTransient) {
  const http::Response response{
      .status = 403, .body = R"({"__type":"com.amazonaws.sqs#OverLimit","message":"too many"})"};

  const http::ServiceError error = parse_error(response);

  ASSERT_TRUE(error.kind.has_value());
  EXPECT_EQ(*error.kind, ErrorKind::transient);
}

TEST(SqsResolveTarget, NameUsesTheEnvironmentsRegionAndEndpoint) {
  const http::Environment env{{"AWS_REGION", "eu-west-1"},
                              {"AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9324"}};

  auto target = resolve_target({.queue = "spade-events"}, env);

  ASSERT_TRUE(target) << target.error().message;
  EXPECT_EQ(target->endpoint, "http://127.0.0.1:9324/");
  EXPECT_EQ(target->region, "eu-west-1");
  EXPECT_EQ(target->queue_name, "spade-events");
  EXPECT_TRUE(target->queue_url.empty());
}

TEST(SqsResolveTarget, AwsQueueUrlNamesItsRegion) {
  auto target = resolve_target(
      {.queue = "https://sqs.ap-southeast-2.amazonaws.com/123456789012/spade-events"}, {});

  ASSERT_TRUE(target) << target.error().message;
  EXPECT_EQ(target->region, "ap-southeast-2");
  EXPECT_EQ(target->endpoint, "https://sqs.ap-southeast-2.amazonaws.com/");
  EXPECT_EQ(target->queue_name, "spade-events");
  EXPECT_EQ(target->queue_url,
            "https://sqs.ap-southeast-2.amazonaws.com/123456789012/spade-events");
}

TEST(SqsResolveTarget, EmulatorQueueUrlIsItsOwnEndpoint) {
  auto target = resolve_target({.queue = "http://127.0.0.1:4566/000000000000/q1"}, {});

  ASSERT_TRUE(target) << target.error().message;
  EXPECT_EQ(target->endpoint, "http://127.0.0.1:4566/");
  EXPECT_EQ(target->region, "us-east-1");
}

TEST(SqsResolveTarget, CarriesTheCaBundle) {
  const test::TempDir dir;
  const std::string bundle = dir.path("ca.pem").string();
  std::ofstream(bundle) << "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  const http::Environment env{{"AWS_REGION", "eu-west-1"}, {"AWS_CA_BUNDLE", bundle}};

  auto target = resolve_target({.queue = "spade-events"}, env);
  auto missing =
      resolve_target({.queue = "spade-events"},
                     {{"AWS_REGION", "eu-west-1"}, {"AWS_CA_BUNDLE", "/nonexistent/ca.pem"}});

  ASSERT_TRUE(target) << target.error().message;
  EXPECT_EQ(target->ca_file, bundle);
  EXPECT_TRUE(
      resolve_target({.queue = "spade-events"}, {{"AWS_REGION", "eu-west-1"}})->ca_file.empty());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::permanent);
  EXPECT_NE(missing.error().message.find("AWS_CA_BUNDLE"), std::string::npos);
}

TEST(SqsResolveTarget, RejectsInvalidNamesAndAMissingRegion) {
  auto bad_name = resolve_target({.queue = "no spaces allowed"}, {{"AWS_REGION", "us-east-1"}});
  auto no_region = resolve_target({.queue = "fine"}, {});

  ASSERT_FALSE(bad_name);
  EXPECT_EQ(bad_name.error().kind, ErrorKind::permanent);
  ASSERT_FALSE(no_region);
  EXPECT_EQ(no_region.error().kind, ErrorKind::permanent);
}

} // namespace
} // namespace rsi::queue::sqs
