#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ingestdb/ingest_db.hpp"

// Backend-independent parts of claiming and reporting, so that PostgreSQL and SQLite decide
// alike: which groups are eligible, in which order, and how pending files are classified.
namespace rsi::ingestdb {

// A (table, version) group of unclaimed files, as a backend found it.
struct GroupCandidate {
  std::string table;
  int version = 0;
  std::int64_t count = 0;
  TimePoint oldest;
  bool forced = false; // An unstarted force load exists for the table.
};

// Whether `group` triggers a load (count, age or force load).
bool is_eligible(const GroupCandidate& group, const ClaimPolicy& policy, TimePoint now);

// The eligible groups that can load now, in claim order (force loads first, then oldest),
// and the eligible groups whose version is older than the warehouse's (`outdated`).
struct ClaimOrder {
  std::vector<GroupCandidate> loadable;
  std::vector<TableVersion> outdated;
};
ClaimOrder order_candidates(std::vector<GroupCandidate> groups, const VersionMap& versions,
                            const ClaimPolicy& policy, TimePoint now);

// Groups found by one search, handed out one at a time to the claimers of this process, so
// that one search serves many claims. A claim re-checks its group under locks, so a stale
// entry costs a failed attempt, never a wrong batch. Thread-safe.
class CandidateCache {
public:
  explicit CandidateCache(std::chrono::milliseconds ttl) : m_ttl(ttl) {}

  // True when a new search is due: nothing cached, older than the TTL, or another policy.
  [[nodiscard]] bool stale(const ClaimPolicy& policy, TimePoint now) const;
  void replace(std::vector<GroupCandidate> groups, const ClaimPolicy& policy, TimePoint now);
  // Remove and return the best group that can load now; eligible groups whose version is older
  // than the warehouse's are removed and appended to `outdated`.
  std::optional<GroupCandidate> next(const VersionMap& versions, const ClaimPolicy& policy,
                                     TimePoint now, std::vector<TableVersion>& outdated);
  void expire();

private:
  mutable std::mutex m_mutex;
  std::chrono::milliseconds m_ttl;
  std::vector<GroupCandidate> m_groups;
  TimePoint m_fetched_at;
  ClaimPolicy m_policy;
};

// Pending files grouped by (table, version, stale?), as a backend counted them.
struct PendingGroup {
  std::string table;
  int version = 0;
  bool stale = false;
  std::int64_t count = 0;
  TimePoint oldest;
};

// Stats per (kind, table): stale files; files newer than the warehouse version (pending
// migration); everything else in queue.
std::vector<PendingStat> classify_pending(const std::vector<PendingGroup>& groups,
                                          const VersionMap& versions);

} // namespace rsi::ingestdb
