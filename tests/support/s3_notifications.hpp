#pragma once

// Queue message bodies in the forms S3 delivers its event notifications, field for field as
// Amazon S3's documentation shows them ("Event message structure", "EventBridge event message
// structure", the s3:TestEvent sent when a configuration is saved, and the envelope SNS adds
// without raw message delivery). Keys go in as S3 sends them: URL-encoded in the Records form
// ('+' for a space), as they are in the EventBridge form.

#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace rsi::test::notifications {

struct S3Record {
  std::string event_name = "ObjectCreated:Put";
  std::string bucket;
  std::string encoded_key; // As S3 writes it into the notification.
};

// One "Records" entry.
inline nlohmann::json s3_record(const S3Record& record) {
  return nlohmann::json::parse(fmt::format(R"({{
    "eventVersion": "2.1",
    "eventSource": "aws:s3",
    "awsRegion": "us-west-2",
    "eventTime": "2026-12-07T10:15:30.123Z",
    "eventName": {},
    "userIdentity": {{"principalId": "AWS:AIDAEXAMPLEEXAMPLE"}},
    "requestParameters": {{"sourceIPAddress": "203.0.113.7"}},
    "responseElements": {{
      "x-amz-request-id": "C3D13FE58DE4C810",
      "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"
    }},
    "s3": {{
      "s3SchemaVersion": "1.0",
      "configurationId": "rs-ingester-intake",
      "bucket": {{
        "name": {},
        "ownerIdentity": {{"principalId": "A3NL1KOZZKExample"}},
        "arn": {}
      }},
      "object": {{
        "key": {},
        "size": 1024,
        "eTag": "d41d8cd98f00b204e9800998ecf8427e",
        "versionId": "096fKKXTRTtl3on89fVO.nfljtsv6qko",
        "sequencer": "0055AED6DCD90281E5"
      }}
    }}
  }})",
                                           nlohmann::json(record.event_name).dump(),
                                           nlohmann::json(record.bucket).dump(),
                                           nlohmann::json("arn:aws:s3:::" + record.bucket).dump(),
                                           nlohmann::json(record.encoded_key).dump()));
}

// S3 → SQS directly (or SNS with raw message delivery): {"Records":[…]}.
inline std::string s3_event(const std::vector<S3Record>& records) {
  nlohmann::json body{{"Records", nlohmann::json::array()}};
  for (const auto& record : records) {
    body["Records"].push_back(s3_record(record));
  }
  return body.dump();
}

// What S3 sends when a notification configuration is saved.
inline std::string s3_test_event(std::string_view bucket) {
  return nlohmann::json{
      {"Service", "Amazon S3"},
      {"Event", "s3:TestEvent"},
      {"Time", "2026-12-07T10:15:30.000Z"},
      {"Bucket", bucket},
      {"RequestId", "5582815E1AEA5ADF"},
      {"HostId", "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}}
      .dump();
}

// S3 → EventBridge → SQS: "detail-type" "Object Created" (or "Object Deleted", ...).
inline std::string eventbridge_event(std::string_view bucket, std::string_view key,
                                     std::string_view detail_type = "Object Created") {
  nlohmann::json body = nlohmann::json::parse(R"({
    "version": "0",
    "id": "17793124-05d4-b198-2fde-7ededc63b103",
    "source": "aws.s3",
    "account": "111122223333",
    "time": "2026-12-07T10:15:30Z",
    "region": "us-west-2",
    "detail": {
      "version": "0",
      "object": {"size": 1024, "etag": "b1946ac92492d2347c6235b4d2611184",
                 "sequencer": "00617F08299329D189"},
      "request-id": "N4N7GDK58NMKJ12R",
      "requester": "123456789012",
      "source-ip-address": "203.0.113.7",
      "reason": "PutObject"
    }
  })");
  body["detail-type"] = detail_type;
  body["resources"] = nlohmann::json::array({"arn:aws:s3:::" + std::string(bucket)});
  body["detail"]["bucket"] = {{"name", bucket}};
  body["detail"]["object"]["key"] = key;
  return body.dump();
}

// The envelope SNS puts around `message` when raw message delivery is off.
inline std::string sns_envelope(std::string_view message) {
  return nlohmann::json{
      {"Type", "Notification"},
      {"MessageId", "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"},
      {"TopicArn", "arn:aws:sns:us-west-2:123456789012:s3-events"},
      {"Subject", "Amazon S3 Notification"},
      {"Message", message},
      {"Timestamp", "2026-12-07T10:15:30.456Z"},
      {"SignatureVersion", "1"},
      {"Signature",
       "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU"},
      {"SigningCertURL", "https://sns.us-west-2.amazonaws.com/"
                         "SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem"},
      {"UnsubscribeURL", "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe"}}
      .dump();
}

} // namespace rsi::test::notifications
