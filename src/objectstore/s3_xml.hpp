#pragma once

// The XML of the S3 calls the S3 backend makes, read without relying on namespaces
// (emulators use other namespace URIs than AWS). Internal to objectstore.

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "objectstore/object_store.hpp"

namespace rsi::objectstore::s3 {

struct ListResult {
  std::vector<ObjectInfo> objects; // Full S3 keys.
  bool truncated = false;
  std::string next_token;
};

// ListObjectsV2's ListBucketResult.
[[nodiscard]] Result<ListResult> parse_list_result(std::string_view body);

// CreateMultipartUpload's InitiateMultipartUploadResult → UploadId.
[[nodiscard]] Result<std::string> parse_upload_id(std::string_view body);

// The CompleteMultipartUpload request body for parts 1..n with these ETags.
std::string complete_multipart_body(const std::vector<std::string>& etags);

} // namespace rsi::objectstore::s3
