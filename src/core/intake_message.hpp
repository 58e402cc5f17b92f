#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "core/file_pointer.hpp"

namespace rsi::core {

// The message forms a queue (or the local inbox) may carry, as named in logs and metrics.
enum class MessageForm {
  spade,       // {"KeyName","TableName","TableVersion"}, the pipeline's own
  s3,          // S3 event notification: {"Records":[{"eventName":"ObjectCreated:Put","s3":…}]}
  s3_test,     // {"Event":"s3:TestEvent",…}: S3 checking a new notification configuration
  eventbridge, // {"detail-type":"Object Created","source":"aws.s3","detail":…}
};

std::string_view to_string(MessageForm form);

// What one queue message announces.
struct IntakeMessage {
  MessageForm form = MessageForm::spade;
  bool sns = false; // It came in an SNS envelope ({"Type":"Notification","Message":"…"}).
  // A Spade message: the file, its table and version.
  std::optional<FilePointer> pointer;
  // The S3 forms: the objects created, in the message's order, keys decoded (S3 sends a
  // notification's keys URL-encoded, '+' for a space; EventBridge sends them as they are).
  // Still to be routed to a table and version.
  std::vector<ObjectLocation> created;
  std::size_t removed = 0; // ObjectRemoved:* / "Object Deleted" records: nothing to load.
  std::size_t other = 0;   // Other S3 events (restore, tagging, lifecycle, ...): nothing to load.
};

// Decode a queue message body in any of the forms above, each also inside an SNS envelope
// (SNS without raw message delivery). The Spade form keeps parse_file_pointer's rules. The S3
// forms need, for each created object, the bucket name and the key (decoded, then checked as
// split_key_name checks a KeyName's); a record without them, a key with a broken %-escape or a
// bad key fails the whole message, so a message is recorded whole or not at all. Fails
// permanent, wrapped "parse queue message".
[[nodiscard]] Result<IntakeMessage> parse_intake_message(std::string_view body);

} // namespace rsi::core
