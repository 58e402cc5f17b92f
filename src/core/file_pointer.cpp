#include "core/file_pointer.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/intake_message.hpp"
#include "core/json_fields.hpp"
#include "core/table_name.hpp"
#include "core/text.hpp"

namespace rsi::core {
namespace {

constexpr std::string_view k_s3_scheme = "s3://";

bool is_bucket_character(char character) {
  return (character >= 'a' && character <= 'z') || (character >= 'A' && character <= 'Z') ||
         (character >= '0' && character <= '9') || character == '.' || character == '_' ||
         character == '-';
}

Result<void> check_bucket(std::string_view bucket) {
  if (bucket.size() > k_max_bucket_bytes) {
    return fail(ErrorKind::permanent, fmt::format("bucket is {} bytes long; the limit is {} bytes",
                                                  bucket.size(), k_max_bucket_bytes));
  }
  if (bucket == "." || bucket == "..") {
    return fail(ErrorKind::permanent,
                fmt::format("bucket {} is not a bucket name", quote_for_message(bucket)));
  }
  for (std::size_t offset = 0; offset < bucket.size(); ++offset) {
    if (!is_bucket_character(bucket[offset])) {
      return fail(ErrorKind::permanent,
                  fmt::format("bucket {} has {} at byte {}; bucket names are ASCII letters, "
                              "digits, '.', '_' and '-'",
                              quote_for_message(bucket),
                              quote_for_message(bucket.substr(offset, 1)), offset));
    }
  }
  return {};
}

Result<void> check_key(std::string_view key) {
  if (key.size() > k_max_object_key_bytes) {
    return fail(ErrorKind::permanent, fmt::format("key is {} bytes long; the limit is {} bytes",
                                                  key.size(), k_max_object_key_bytes));
  }
  // Segments a path could climb or collapse with: harmless to S3, hostile to a local object
  // store, and never written by the pipeline; refused at the door, so no batch carries one.
  std::size_t segment_start = 0;
  while (segment_start <= key.size()) {
    const auto end = std::min(key.find('/', segment_start), key.size());
    const auto segment = key.substr(segment_start, end - segment_start);
    if (segment.empty() && end < key.size()) {
      return fail(ErrorKind::permanent,
                  fmt::format("key has an empty path segment at byte {} (a leading or doubled '/')",
                              segment_start));
    }
    if (segment == "." || segment == "..") {
      return fail(ErrorKind::permanent,
                  fmt::format("key has a \"{}\" path segment at byte {}", segment, segment_start));
    }
    segment_start = end + 1;
  }
  std::size_t offset = 0;
  while (offset < key.size()) {
    const auto decoded = decode_utf8(key, offset);
    if (!decoded) {
      return fail(ErrorKind::permanent, fmt::format("key is not valid UTF-8 at byte {}", offset));
    }
    // S3 would store them, but a control character in a key breaks log lines, S3's XML
    // listings and the local object store's file names.
    if (is_control(decoded->code_point)) {
      return fail(ErrorKind::permanent,
                  fmt::format("key has control character {} at byte {}",
                              format_code_point(decoded->code_point), offset));
    }
    offset += decoded->size_bytes;
  }
  return {};
}

} // namespace

Result<FilePointer> decode_file_pointer(const nlohmann::json& message) {
  RSI_TRY(require_object(message));
  FilePointer pointer;
  RSI_TRY_ASSIGN(pointer.key_name, require_string(message, "KeyName"));
  // The original took "s3://bucket/key" as well (its manifest added the scheme only when
  // missing); one form is kept, so both spellings of a file are the same pointer.
  if (pointer.key_name.starts_with(k_s3_scheme)) {
    pointer.key_name.erase(0, k_s3_scheme.size());
  }
  if (auto location = split_key_name(pointer.key_name); !location) {
    return fail(field_error("KeyName", location.error()));
  }
  RSI_TRY_ASSIGN(pointer.table, require_string(message, "TableName"));
  if (auto valid = validate_table_name(pointer.table); !valid) {
    return fail(field_error("TableName", valid.error()));
  }
  RSI_TRY_ASSIGN(const auto version,
                 require_integer(message, "TableVersion", 0, k_max_table_version));
  pointer.version = static_cast<int>(version);
  return pointer;
}

Result<FilePointer> parse_file_pointer(std::string_view body) {
  RSI_TRY_ASSIGN(auto message, parse_intake_message(body));
  if (!message.pointer) {
    return fail(ErrorKind::permanent,
                fmt::format("parse queue message: {}{} message, not the pipeline's",
                            message.sns ? "an SNS-wrapped " : "an ", to_string(message.form)));
  }
  return std::move(*message.pointer);
}

std::string encode_file_pointer(const FilePointer& pointer) {
  nlohmann::ordered_json message;
  message["KeyName"] = pointer.key_name;
  message["TableName"] = pointer.table;
  message["TableVersion"] = pointer.version;
  return dump_json(message);
}

Result<ObjectLocation> split_key_name(std::string_view key_name) {
  if (key_name.empty()) {
    return fail(ErrorKind::permanent, "empty; expected \"bucket/key\"");
  }
  const auto slash = key_name.find('/');
  if (key_name.find("://") != std::string_view::npos && key_name.find("://") < slash) {
    return fail(ErrorKind::permanent,
                fmt::format("expected \"bucket/key\" without a scheme, got {}",
                            quote_for_message(key_name)));
  }
  if (slash == std::string_view::npos) {
    return fail(ErrorKind::permanent,
                fmt::format("expected \"bucket/key\", got {}", quote_for_message(key_name)));
  }
  const auto bucket = key_name.substr(0, slash);
  const auto key = key_name.substr(slash + 1);
  if (bucket.empty()) {
    return fail(ErrorKind::permanent,
                fmt::format("empty bucket in {}", quote_for_message(key_name)));
  }
  if (key.empty()) {
    return fail(ErrorKind::permanent, fmt::format("empty key in {}", quote_for_message(key_name)));
  }
  RSI_TRY(check_bucket(bucket));
  RSI_TRY(check_key(key));
  return ObjectLocation{std::string(bucket), std::string(key)};
}

Result<void> check_location(const ObjectLocation& location) {
  RSI_TRY(check_bucket(location.bucket));
  if (location.key.empty()) {
    return fail(ErrorKind::permanent,
                fmt::format("empty key in bucket {}", quote_for_message(location.bucket)));
  }
  return check_key(location.key);
}

Result<ObjectLocation> locate_key_name(std::string_view key_name) {
  if (key_name.starts_with(k_s3_scheme)) {
    key_name.remove_prefix(k_s3_scheme.size());
  }
  return split_key_name(key_name);
}

std::string s3_url(const FilePointer& pointer) {
  // A row the original recorded may hold "s3://bucket/key" already.
  if (pointer.key_name.starts_with(k_s3_scheme)) {
    return pointer.key_name;
  }
  return fmt::format("{}{}", k_s3_scheme, pointer.key_name);
}

std::string s3_url(const ObjectLocation& location) {
  return fmt::format("{}{}/{}", k_s3_scheme, location.bucket, location.key);
}

Result<ObjectLocation> parse_s3_url(std::string_view url) {
  if (!url.starts_with(k_s3_scheme)) {
    return fail(ErrorKind::permanent,
                fmt::format("parse S3 URL {}: expected s3://bucket/key", quote_for_message(url)));
  }
  auto location = split_key_name(url.substr(k_s3_scheme.size()));
  if (!location) {
    return fail(location.error().wrap(fmt::format("parse S3 URL {}", quote_for_message(url))));
  }
  return location;
}

} // namespace rsi::core
