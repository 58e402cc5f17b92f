#include "http/aws_errors.hpp"

#include <gtest/gtest.h>

namespace rsi::http {
namespace {

TEST(AwsErrorsTest, ReadsS3XmlErrors) {
  const auto error = parse_error_body(
      R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a</Key></Error>)");

  EXPECT_EQ(error.code, "NoSuchKey");
  EXPECT_EQ(error.message, "The specified key does not exist.");
}

TEST(AwsErrorsTest, ReadsXmlWhateverTheNamespace) {
  const auto error = parse_xml_error(
      R"(<ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><Error><Type>Sender</Type>)"
      R"(<Code>AWS.SimpleQueueService.NonExistentQueue</Code><Message>gone</Message></Error></ErrorResponse>)");
  const auto prefixed =
      parse_xml_error(R"(<s3:Error xmlns:s3="urn:x"><s3:Code>SlowDown</s3:Code></s3:Error>)");

  EXPECT_EQ(error.code, "AWS.SimpleQueueService.NonExistentQueue");
  EXPECT_EQ(error.message, "gone");
  EXPECT_EQ(prefixed.code, "SlowDown");
}

TEST(AwsErrorsTest, ReadsJsonProtocolErrorsDroppingTheTypePrefix) {
  const auto error = parse_error_body(
      R"({"__type":"com.amazon.coral.availability#ThrottlingException","message":"Rate exceeded"})");
  const auto plain = parse_json_error(R"({"code":"QueueDoesNotExist","Message":"no queue"})");

  EXPECT_EQ(error.code, "ThrottlingException");
  EXPECT_EQ(error.message, "Rate exceeded");
  EXPECT_EQ(plain.code, "QueueDoesNotExist");
  EXPECT_EQ(plain.message, "no queue");
}

TEST(AwsErrorsTest, GarbageGivesAnEmptyError) {
  EXPECT_TRUE(parse_error_body("").code.empty());
  EXPECT_TRUE(parse_error_body("Internal Server Error").code.empty());
  EXPECT_TRUE(parse_error_body("<unclosed").code.empty());
  EXPECT_TRUE(parse_error_body("{\"__type\": 5}").code.empty());
}

TEST(AwsErrorsTest, KnowsThrottlingCodes) {
  EXPECT_TRUE(is_retryable_error_code("SlowDown"));
  EXPECT_TRUE(is_retryable_error_code("ThrottlingException"));
  EXPECT_TRUE(is_retryable_error_code("RequestThrottled"));
  EXPECT_FALSE(is_retryable_error_code("NoSuchKey"));
  EXPECT_FALSE(is_retryable_error_code("InvalidAccessKeyId"));
}

} // namespace
} // namespace rsi::http
