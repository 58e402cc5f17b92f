#include "core/intake_message.hpp"

#include <initializer_list>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/json_fields.hpp"
#include "core/text.hpp"

namespace rsi::core {
namespace {

constexpr std::string_view k_sns_notification = "Notification";
constexpr std::string_view k_test_event = "s3:TestEvent";
constexpr std::string_view k_eventbridge_source = "aws.s3";

// The string at `path` inside `object` ("s3", "bucket", "name"); the error names the whole path:
// `field "s3.bucket.name": missing`.
Result<std::string> nested_string(const nlohmann::json& object,
                                  std::initializer_list<std::string_view> path) {
  const nlohmann::json* at = &object;
  std::string name;
  for (const std::string_view field : path) {
    name += name.empty() ? "" : ".";
    name += field;
    const nlohmann::json* next = find_field(*at, field);
    if (next == nullptr) {
      return fail(ErrorKind::permanent, fmt::format("field \"{}\": missing", name));
    }
    at = next;
  }
  if (!at->is_string()) {
    return fail(ErrorKind::permanent,
                fmt::format("field \"{}\": expected a string, got {}", name, describe_json(*at)));
  }
  return at->get<std::string>();
}

// A created object's bucket and key, checked as a KeyName's parts are. `encoded`: the key is
// URL-encoded, as S3's notifications send it.
Result<ObjectLocation> created_object(std::string bucket, std::string_view key, bool encoded) {
  std::string decoded(key);
  if (encoded) {
    auto plain = percent_decode(key, true);
    if (!plain) {
      return fail(ErrorKind::permanent,
                  fmt::format("key {} has a broken %-escape", quote_for_message(key)));
    }
    decoded = std::move(*plain);
  }
  ObjectLocation location{.bucket = std::move(bucket), .key = std::move(decoded)};
  RSI_TRY(check_location(location));
  return location;
}

// {"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":…},"object":{"key":…}}}]}
Result<void> decode_s3_records(const nlohmann::json& message, IntakeMessage& intake) {
  const nlohmann::json& records = message["Records"];
  if (auto array = require_array(records); !array) {
    return fail(field_error("Records", array.error()));
  }
  if (records.empty()) {
    return fail(ErrorKind::permanent, "field \"Records\": no records");
  }
  intake.form = MessageForm::s3;
  for (std::size_t index = 0; index < records.size(); ++index) {
    const nlohmann::json& record = records[index];
    const auto wrap = [index](const Error& error) {
      return fail(error.wrap(fmt::format("record {}", index)));
    };
    if (auto object = require_object(record); !object) {
      return wrap(object.error());
    }
    auto event = require_string(record, "eventName");
    if (!event) {
      return wrap(event.error());
    }
    if (event->starts_with("ObjectRemoved:")) {
      ++intake.removed;
      continue;
    }
    if (!event->starts_with("ObjectCreated:")) {
      ++intake.other;
      continue;
    }
    auto bucket = nested_string(record, {"s3", "bucket", "name"});
    auto key = nested_string(record, {"s3", "object", "key"});
    if (!bucket || !key) {
      return wrap(bucket ? key.error() : bucket.error());
    }
    auto location = created_object(std::move(*bucket), *key, true);
    if (!location) {
      return wrap(location.error());
    }
    intake.created.push_back(std::move(*location));
  }
  return {};
}

// {"detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":…},"object":…}}
Result<void> decode_eventbridge(const nlohmann::json& message, IntakeMessage& intake) {
  RSI_TRY_ASSIGN(const auto source, require_string(message, "source"));
  if (source != k_eventbridge_source) {
    return fail(ErrorKind::permanent,
                fmt::format("field \"source\": an EventBridge event from {}; only {} events "
                            "announce objects",
                            quote_for_message(source), k_eventbridge_source));
  }
  RSI_TRY_ASSIGN(const auto type, require_string(message, "detail-type"));
  intake.form = MessageForm::eventbridge;
  if (type == "Object Deleted") {
    ++intake.removed;
    return {};
  }
  if (type != "Object Created") {
    ++intake.other;
    return {};
  }
  RSI_TRY_ASSIGN(auto bucket, nested_string(message, {"detail", "bucket", "name"}));
  RSI_TRY_ASSIGN(const auto key, nested_string(message, {"detail", "object", "key"}));
  RSI_TRY_ASSIGN(auto location, created_object(std::move(bucket), key, false));
  intake.created.push_back(std::move(location));
  return {};
}

Result<IntakeMessage> decode_body(const nlohmann::json& message, bool in_envelope);

// SNS without raw message delivery: the message is the string "Message" of a notification.
// Other types (SubscriptionConfirmation, UnsubscribeConfirmation) carry no file and need an
// operator, so they are rejected rather than acted on.
Result<IntakeMessage> decode_sns_envelope(const nlohmann::json& envelope) {
  RSI_TRY_ASSIGN(const auto type, require_string(envelope, "Type"));
  if (type != k_sns_notification) {
    return fail(ErrorKind::permanent, fmt::format("field \"Type\": expected \"{}\", got {}",
                                                  k_sns_notification, quote_for_message(type)));
  }
  RSI_TRY_ASSIGN(const auto body, require_string(envelope, "Message"));
  RSI_TRY_ASSIGN(const auto message, parse_json(body));
  RSI_TRY_ASSIGN(auto intake, decode_body(message, true));
  intake.sns = true;
  return intake;
}

Result<IntakeMessage> decode_body(const nlohmann::json& message, bool in_envelope) {
  RSI_TRY(require_object(message));
  IntakeMessage intake;
  if (message.contains("KeyName")) {
    RSI_TRY_ASSIGN(intake.pointer, decode_file_pointer(message));
    return intake;
  }
  if (message.contains("Records")) {
    RSI_TRY(decode_s3_records(message, intake));
    return intake;
  }
  if (const auto* event = find_field(message, "Event");
      event != nullptr && event->is_string() && *event == k_test_event) {
    intake.form = MessageForm::s3_test;
    return intake;
  }
  if (message.contains("detail-type")) {
    RSI_TRY(decode_eventbridge(message, intake));
    return intake;
  }
  if (message.contains("Type") || message.contains("Message")) {
    if (in_envelope) {
      return fail(ErrorKind::permanent, "an SNS envelope inside an SNS envelope");
    }
    auto wrapped = decode_sns_envelope(message);
    if (!wrapped) {
      return fail(wrapped.error().wrap("SNS envelope"));
    }
    return wrapped;
  }
  // Neither form: the pipeline's message rules say what is missing ("KeyName").
  RSI_TRY_ASSIGN(intake.pointer, decode_file_pointer(message));
  return intake;
}

} // namespace

std::string_view to_string(MessageForm form) {
  switch (form) {
  case MessageForm::spade:
    return "spade";
  case MessageForm::s3:
    return "s3";
  case MessageForm::s3_test:
    return "s3_test";
  case MessageForm::eventbridge:
    return "eventbridge";
  }
  return "unknown";
}

Result<IntakeMessage> parse_intake_message(std::string_view body) {
  auto message = parse_json(body);
  auto intake =
      message ? decode_body(*message, false) : Result<IntakeMessage>(fail(message.error()));
  if (!intake) {
    return fail(intake.error().wrap("parse queue message"));
  }
  return intake;
}

} // namespace rsi::core
