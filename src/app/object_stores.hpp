#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/error.hpp"
#include "http/aws_settings.hpp"
#include "http/credentials.hpp"
#include "objectstore/object_store.hpp"
#include "warehouse/batch_files.hpp"

namespace rsi::app {

// One S3 object store per bucket, opened on first use and kept: batch files name their
// bucket ("s3://bucket/key"), and a pipeline may write to several. Thread-safe.
class BucketStores {
public:
  BucketStores(http::AwsConfig aws, http::Environment env,
               std::shared_ptr<http::CredentialsProvider> credentials)
      : m_aws(std::move(aws)), m_env(std::move(env)), m_credentials(std::move(credentials)) {}

  [[nodiscard]] Result<objectstore::ObjectStore*> bucket(const std::string& name);

  // A FileLocator over these stores (for PostgreSQL and SQLite warehouses).
  [[nodiscard]] warehouse::FileLocator locator();

private:
  http::AwsConfig m_aws;
  http::Environment m_env;
  std::shared_ptr<http::CredentialsProvider> m_credentials;
  std::mutex m_mutex;
  std::map<std::string, std::unique_ptr<objectstore::ObjectStore>> m_stores;
};

} // namespace rsi::app
