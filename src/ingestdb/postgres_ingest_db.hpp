#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "ingestdb/ingest_db.hpp"
#include "pg/advisory_locks.hpp"

namespace rsi::ingestdb {

struct PostgresConfig {
  std::string conninfo;            // libpq URI or key=value string (-databaseURL).
  std::size_t max_connections = 5; // -maxDBConnections.
  // How long one search for eligible groups serves further claims of this process.
  std::chrono::milliseconds candidate_ttl{1000};
  StoreOptions options;
};

// While a claimer picks the files of a table it holds the transaction-level advisory lock
// (k_claim_lock_class, hashtext(current_schema() || '.' || table)): one claimer per table of
// one ingester database at a time, and other schemas of the database are not held back.
inline constexpr int k_claim_lock_class = pg::advisory::k_claim;

// Connects, applies pending schema migrations (serialised across processes) and returns
// the store. Fails `transient` when the server cannot be reached.
Result<std::unique_ptr<IngestDb>> make_postgres_ingest_db(const PostgresConfig& config);

} // namespace rsi::ingestdb
