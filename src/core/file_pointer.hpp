#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "common/error.hpp"

namespace rsi::core {

// One event file announced by the pipeline: where it is and which table/version it feeds.
struct FilePointer {
  std::string key_name; // "bucket/key", as the pipeline sends it (no scheme).
  std::string table;
  int version = 0;

  bool operator==(const FilePointer&) const = default;
};

// Schema versions above this are rejected as corrupt. Blueprint counts versions from 0, one per
// schema change; at one change a day this bound lasts 270 years, while a garbage version such as
// 2147483647 would park its files as "pending migration" forever and overflow `version + 1`.
inline constexpr int k_max_table_version = 100000;

// S3's limits: keys up to 1024 bytes; bucket names up to 255 bytes (the legacy us-east-1 rule,
// the most permissive one).
inline constexpr std::size_t k_max_object_key_bytes = 1024;
inline constexpr std::size_t k_max_bucket_bytes = 255;

// A KeyName split at its first '/'.
struct ObjectLocation {
  std::string bucket;
  std::string key;

  bool operator==(const ObjectLocation&) const = default;
};

// Decode a queue message body: the pipeline's message
//   {"KeyName":"bucket/key","TableName":"t","TableVersion":0}
// or the same JSON as the string "Message" of an SNS envelope ({"Type":"Notification",...}).
// A body with "KeyName" is a pipeline message; one without it but with "Type" or "Message" is an
// envelope. Unknown fields are ignored, as Go's encoding/json ignored them. A KeyName written
// "s3://bucket/key" (which the original accepted too) is kept as "bucket/key". Everything else
// is strict: KeyName passes split_key_name, TableName validate_table_name, and TableVersion must be
// an integer literal from 0 to k_max_table_version (1.0, 1e0 and "1" are rejected, as Go
// rejected them; a missing field or null is an error, where Go silently used 0). An envelope
// must have Type "Notification" and a string Message holding a pipeline message.
// Fails with ErrorKind::permanent: `parse queue message: field "TableVersion": expected a
// non-negative integer, got "abc"`.
// A message in another form (an S3 event notification, intake_message.hpp) fails here too.
[[nodiscard]] Result<FilePointer> parse_file_pointer(std::string_view body);

// A pipeline message already parsed as JSON (no envelope): parse_file_pointer's field rules, errors
// unwrapped. parse_intake_message (intake_message.hpp) uses it for every form a Spade message
// comes in.
[[nodiscard]] Result<FilePointer> decode_file_pointer(const nlohmann::json& message);

// The pipeline message for `pointer`: {"KeyName":…,"TableName":…,"TableVersion":…}.
std::string encode_file_pointer(const FilePointer& pointer);

// Split and check a KeyName "bucket/key": the bucket is 1 to 255 bytes of ASCII letters, digits,
// '.', '_' and '-' (so a scheme such as "s3://" is rejected, not doubled); the key is 1 to 1024
// bytes of valid UTF-8 without control characters, without empty path segments (a leading '/',
// "//") and without "." or ".." segments. Fails with ErrorKind::permanent.
[[nodiscard]] Result<ObjectLocation> split_key_name(std::string_view key_name);

// The bucket and key rules of split_key_name, for a location made elsewhere. Fails permanent.
[[nodiscard]] Result<void> check_location(const ObjectLocation& location);

// Where the file of a recorded KeyName is: split_key_name, also for a row the original left
// with the scheme ("s3://bucket/key").
[[nodiscard]] Result<ObjectLocation> locate_key_name(std::string_view key_name);

// "s3://bucket/key" for a KeyName "bucket/key" (the manifest's URL form); a KeyName that has the
// scheme already (a row the original recorded) is returned as it is, as the original did.
std::string s3_url(const FilePointer& pointer);
std::string s3_url(const ObjectLocation& location);

// Split "s3://bucket/key" back into its parts, with the checks of split_key_name.
[[nodiscard]] Result<ObjectLocation> parse_s3_url(std::string_view url);

} // namespace rsi::core
