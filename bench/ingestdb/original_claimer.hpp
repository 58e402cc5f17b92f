#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "ingestdb/ingest_db.hpp"
#include "pg/connection.hpp"

// The original rs_ingester's claim design, rewritten here as the benchmark's baseline: every
// claim and every completion is a SERIALIZABLE transaction that first takes
// LOCK TABLE tsv, manifest, force_load (ACCESS EXCLUSIVE), so claimers run one at a time.
namespace rsi::bench {

struct OriginalBatch {
  std::string manifest;
  std::string table;
  std::vector<std::string> keys;
};

class OriginalClaimer {
public:
  explicit OriginalClaimer(pg::Connection conn) : m_conn(std::move(conn)) {}

  // The original's fetchLoad: nullopt when nothing is eligible.
  Result<std::optional<OriginalBatch>> claim(const ingestdb::VersionMap& versions,
                                             const ingestdb::ClaimPolicy& policy, TimePoint now);
  // The original's loadDoneHelper.
  Result<void> complete(const OriginalBatch& batch, TimePoint now);

private:
  pg::Connection m_conn;
};

} // namespace rsi::bench
