#pragma once

#include <memory>
#include <string>

#include "common/error.hpp"
#include "http/credentials.hpp"
#include "objectstore/object_store.hpp"
#include "warehouse/warehouse.hpp"

namespace rsi::warehouse {

// Amazon Redshift: COPY reads the files from S3 itself, through a manifest object.
struct RedshiftConfig {
  std::string conninfo; // libpq form of the redshift:// URL (postgres:// with the same parts).
  Layout layout;
  // Where manifests go: a store rooted at the manifest bucket, whose name COPY gets in the URL
  // s3://<manifest_bucket>/<uuid>.json. Must outlive the warehouse.
  objectstore::ObjectStore* manifests = nullptr;
  std::string manifest_bucket;
  // COPY's authorization: an IAM role attached to the cluster, or else keys from `credentials`
  // (fetched for every load, so temporary credentials stay fresh).
  std::string iam_role;
  std::shared_ptr<http::CredentialsProvider> credentials;
  // Ask the system tables (STV_RECENTS, STL_QUERY, STL_UTILITYTEXT) about a manifest missing from
  // the ledger: loads started by the original implementation. Off where they do not exist
  // (Redshift Serverless).
  bool system_table_fallback = true;
};

// Connects and creates infra.load_manifest (and infra.table_version) when missing. Fails
// transient when the cluster cannot be reached, permanent when the configuration is incomplete.
[[nodiscard]] Result<std::unique_ptr<Warehouse>>
make_redshift_warehouse(const RedshiftConfig& config);

} // namespace rsi::warehouse
