#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "common/retry.hpp"
#include "http/aws_settings.hpp"
#include "http/credentials.hpp"
#include "objectstore/object_store.hpp"

namespace rsi::objectstore {

// What x-amz-content-sha256 carries for uploads.
enum class PayloadSigning {
  automatic,        // The body's SHA-256 over http://, UNSIGNED-PAYLOAD over https:// (TLS
                    // already protects the bytes; hashing costs a pass over every part).
  signed_payload,   // Always the SHA-256.
  unsigned_payload, // Always UNSIGNED-PAYLOAD.
};

// An S3 bucket (or an S3-compatible server), optionally under a key prefix.
struct S3Config {
  std::string bucket;
  std::string prefix;            // Put in front of every key as is ("logs/" → "logs/<key>").
  http::AwsConfig aws;           // Region, endpoint override, profile (see aws_settings.hpp).
  http::Environment environment; // Snapshot for the settings and the default credential chain.
  // Shared credentials; null → the default chain over `environment`.
  std::shared_ptr<http::CredentialsProvider> credentials;
  // Objects larger than one part go up as a multipart upload of parts this size (S3 wants
  // at least 5 MiB; at most 10,000 parts per object).
  std::uint64_t part_size_bytes = 16ULL * 1024 * 1024;
  PayloadSigning payload_signing = PayloadSigning::automatic;
  BackoffPolicy retry{.initial_delay = std::chrono::milliseconds(100),
                      .max_delay = std::chrono::milliseconds(5'000),
                      .multiplier = 2.0,
                      .max_attempts = 5};
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds request_timeout{60'000}; // Calls without a large body.
  std::chrono::seconds stall_timeout{30};            // Transfers moving < 1 byte/s this long.
  int max_resumes = 10; // Times one get() may resume an interrupted download.
};

// Fails permanent when the bucket name is empty, the region/endpoint cannot be resolved or
// the CA bundle (AWS_CA_BUNDLE) cannot be read. Does not contact S3.
[[nodiscard]] Result<std::unique_ptr<ObjectStore>> make_s3_object_store(const S3Config& config);

} // namespace rsi::objectstore
