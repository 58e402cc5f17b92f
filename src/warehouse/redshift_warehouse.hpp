#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "http/credentials.hpp"
#include "objectstore/object_store.hpp"
#include "warehouse/warehouse.hpp"

namespace rsi::pg {
class Connection;
} // namespace rsi::pg

namespace rsi::warehouse {

// A COPY of a load, for RedshiftConfig::run_copy_for_test.
struct CopyCall {
  std::string_view statement;    // The COPY, credentials included.
  std::string_view manifest_url; // s3://<manifest_bucket>/<uuid>.json, which it reads.
};

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
  // Redshift Serverless, which has no STL tables: the rows a COPY rejected are read from
  // SYS_LOAD_ERROR_DETAIL instead of STL_LOAD_ERRORS.
  bool serverless = false;
  // Runs a load's COPY `statement` on the load's connection, inside its transaction, in place of
  // sending it (unset: it is sent). A test seam: PostgreSQL, which stands in for Redshift in tests,
  // cannot run Redshift's COPY. Failures are those of the statement.
  std::function<Result<void>(pg::Connection&, const CopyCall&)> run_copy_for_test;
};

// Connects, checks the user's privileges (redshift_privileges.hpp) and creates the infra schema
// and infra.load_manifest, infra.table_version, infra.rejected_row where missing (no DDL when
// they exist). Fails transient when the cluster cannot be reached, permanent when the
// configuration is incomplete or the user lacks a privilege (the message lists the GRANTs to
// run); a user who cannot see other sessions in the system tables is warned about once.
[[nodiscard]] Result<std::unique_ptr<Warehouse>>
make_redshift_warehouse(const RedshiftConfig& config);

} // namespace rsi::warehouse
