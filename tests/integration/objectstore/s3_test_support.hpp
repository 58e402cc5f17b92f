#pragma once

// Helpers for tests against the S3 emulator that scripts/test starts (RSI_TEST_S3_ENDPOINT;
// access key S3RVER, any secret, path-style).

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "objectstore/s3_object_store.hpp"

namespace rsi::test {

// RSI_TEST_S3_ENDPOINT, or nullopt when unset.
std::optional<std::string> s3_endpoint();

// The emulator's credentials (it checks the access key only).
std::shared_ptr<http::CredentialsProvider> s3_test_credentials();

// PUT /<bucket> (CreateBucket) on `endpoint`; an existing bucket of ours is fine.
[[nodiscard]] Result<void> create_bucket(const std::string& endpoint, const std::string& bucket);

// A bucket created once per test process on the emulator (empty string without one).
const std::string& shared_test_bucket();

// An S3Config for `bucket` on the emulator with a fresh key prefix, fast retries and
// `part_size_bytes` parts.
objectstore::S3Config s3_test_config(const std::string& bucket, std::uint64_t part_size_bytes);

// Store every key of `keys` with `body` through `store`, `threads` uploads at a time (the
// emulator answers one PUT in a few milliseconds: thousands of objects want several at once).
// The first failure, if any; the other uploads still run.
[[nodiscard]] Result<void> put_objects(objectstore::ObjectStore& store,
                                       std::span<const std::string> keys, std::string_view body,
                                       int threads);

} // namespace rsi::test
