#include "s3_test_support.hpp"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "http/client.hpp"
#include "support/services.hpp"

namespace rsi::test {

std::optional<std::string> s3_endpoint() {
  const char* value = std::getenv("RSI_TEST_S3_ENDPOINT");
  if (value == nullptr || *value == '\0') {
    return std::nullopt;
  }
  return std::string(value);
}

std::shared_ptr<http::CredentialsProvider> s3_test_credentials() {
  return http::make_static_credentials_provider({.access_key_id = "S3RVER",
                                                 .secret_access_key = "S3RVER",
                                                 .session_token = "",
                                                 .expiration = std::nullopt});
}

Result<void> create_bucket(const std::string& endpoint, const std::string& bucket) {
  RSI_TRY_ASSIGN(
      auto client,
      http::Client::create({.signing = http::SigningConfig{.service = "s3",
                                                           .region = "us-east-1",
                                                           .credentials = s3_test_credentials()}}));
  auto response = client.request({.method = "PUT",
                                  .url = fmt::format("{}/{}", endpoint, bucket),
                                  .body = std::string_view(),
                                  .expected_statuses = {409}});
  if (!response) {
    return fail(response.error());
  }
  return {};
}

const std::string& shared_test_bucket() {
  static const std::string bucket = [] {
    const auto endpoint = s3_endpoint();
    if (!endpoint) {
      return std::string();
    }
    std::mt19937 rng{std::random_device{}()};
    std::string name = fmt::format("rsi-test-{}-{:06x}", getpid(), rng() & 0xffffff);
    if (auto created = create_bucket(*endpoint, name); !created) {
      throw std::runtime_error("create test bucket: " + created.error().message);
    }
    return name;
  }();
  return bucket;
}

objectstore::S3Config s3_test_config(const std::string& bucket, std::uint64_t part_size_bytes) {
  objectstore::S3Config config;
  config.bucket = bucket;
  config.prefix = unique_name("t") + "/";
  config.aws = {.region = "us-east-1", .endpoint = s3_endpoint().value_or(""), .profile = ""};
  config.credentials = s3_test_credentials();
  config.part_size_bytes = part_size_bytes;
  config.retry.initial_delay = std::chrono::milliseconds(10);
  config.retry.max_delay = std::chrono::milliseconds(200);
  return config;
}

Result<void> put_objects(objectstore::ObjectStore& store, std::span<const std::string> keys,
                         std::string_view body, int threads) {
  std::atomic<std::size_t> next{0};
  std::mutex mutex;
  std::optional<Error> first_error;
  {
    std::vector<std::jthread> uploaders;
    for (int thread = 0; thread < threads; ++thread) {
      uploaders.emplace_back([&] {
        for (auto index = next++; index < keys.size(); index = next++) {
          if (auto put = store.put(keys[index], body); !put) {
            const std::lock_guard lock(mutex);
            first_error = first_error.value_or(put.error());
          }
        }
      });
    }
  }
  if (first_error) {
    return fail(*first_error);
  }
  return {};
}

} // namespace rsi::test
