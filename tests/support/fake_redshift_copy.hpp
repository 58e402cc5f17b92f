#pragma once

// Redshift's COPY FROM S3 played on PostgreSQL dressed as Redshift (redshift_shims.hpp), through
// RedshiftConfig::run_copy_for_test, for the tests of the Redshift backend and of the loader
// driving it. PostgreSQL cannot read S3, so the fake reads the manifest object the backend wrote,
// "loads" its files (one statement per file, which the test chooses) and fails as Redshift does
// for the bad lines it is told about: logged in STL_LOAD_ERRORS (SYS_LOAD_ERROR_DETAIL on
// Serverless) or, as when Redshift's tables say nothing, not logged at all.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "objectstore/object_store.hpp"
#include "pg/connection.hpp"
#include "warehouse/redshift_warehouse.hpp"

namespace rsi::test {

// A line Redshift's COPY rejects. A line that is not `logged` fails the COPY all the same but
// leaves no row in the load-error tables, so the warehouse can only tell it was the data.
struct BadLine {
  std::string url; // s3://bucket/key, as the manifest lists it.
  std::uint64_t line = 0;
  std::string column;
  int code = 0;
  std::string reason;
  bool logged = true;
};

// A COPY failing before it reads any data (or, with `began_loading`, without logging a row).
struct CopyFailure {
  std::string message;
  std::string sqlstate = "XX000";
  std::string detail; // The error's DETAIL ("": none).
  bool began_loading = false;
};

// One COPY the fake ran.
struct CopyRun {
  std::string statement;         // As the backend sent it, credentials included.
  std::vector<std::string> urls; // The files its manifest lists, in order.
  bool succeeded = false;        // The COPY returned; its transaction may still roll back.
};

// A connection to the fresh database `conninfo` once it is dressed as Redshift
// (redshift_shims.hpp run in it), for the tests' own statements and the fake's logging.
Result<pg::Connection> dress_as_redshift(const std::string& conninfo);

// The message Redshift fails a COPY with when it rejected more lines than MAXERROR allows.
std::string load_failed_message(std::string_view table, bool serverless);

// Redshift's COPY as the tests need it. It reads the manifest object (from `manifests`, the store
// rooted at the manifest bucket), runs `insert_row` once per file on the load's connection
// (inside the load's transaction, so a failed load keeps nothing), and rejects the lines in
// `bad`, logging those that are `logged` where Redshift does, through `admin`, a connection of
// its own (Redshift's system tables keep what a rolled-back transaction logged), under a new
// query id that the session's pg_last_copy_id() returns. With more rejected lines than the
// statement's maxerror it fails as Redshift does. `failure` and `transient` make every COPY fail
// instead. Not thread-safe: one load at a time.
class FakeRedshiftCopy {
public:
  FakeRedshiftCopy(pg::Connection& admin, objectstore::ObjectStore& manifests)
      : m_admin(admin), m_manifests(manifests) {}

  Result<void> operator()(pg::Connection& conn, const warehouse::CopyCall& call);

  // Run once per file of the manifest with the file's URL as $1; empty: nothing is inserted.
  std::string insert_row;
  // The rows pg_last_copy_count() reports for each file.
  std::int64_t rows_per_file = 1;
  std::vector<BadLine> bad;
  std::optional<CopyFailure> failure;
  bool transient = false;
  bool serverless = false;
  std::vector<CopyRun> copies; // Every COPY run, in order.

private:
  Result<std::vector<std::string>> manifest_urls(std::string_view manifest_url);
  Result<void> record_copy(const std::string& session, std::int64_t rows);
  Result<void> log_rejected(const std::string& session, const BadLine& bad_line);
  static Result<void> fail_like_redshift(pg::Connection& conn, std::string_view message,
                                         std::string_view sqlstate = "XX000",
                                         std::string_view detail = {});

  pg::Connection& m_admin;
  objectstore::ObjectStore& m_manifests;
  std::int64_t m_copy_id = 1000;
};

} // namespace rsi::test
