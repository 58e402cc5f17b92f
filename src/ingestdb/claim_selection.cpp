#include "ingestdb/claim_selection.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace rsi::ingestdb {

std::string_view to_string(PendingKind kind) {
  switch (kind) {
  case PendingKind::in_queue:
    return "in_queue";
  case PendingKind::stale:
    return "stale";
  case PendingKind::pending_migration:
    return "pending_migration";
  case PendingKind::quarantined:
    return "quarantined";
  }
  return "unknown";
}

std::string_view to_string(QuarantineAction action) {
  switch (action) {
  case QuarantineAction::requeued:
    return "requeued";
  case QuarantineAction::already_pending:
    return "already_pending";
  case QuarantineAction::already_loaded:
    return "already_loaded";
  case QuarantineAction::dropped:
    return "dropped";
  }
  return "unknown";
}

std::string_view to_string(RecordOutcome outcome) {
  switch (outcome) {
  case RecordOutcome::recorded:
    return "recorded";
  case RecordOutcome::already_pending:
    return "already_pending";
  case RecordOutcome::recently_loaded:
    return "recently_loaded";
  case RecordOutcome::quarantined:
    return "quarantined";
  }
  return "unknown";
}

bool is_eligible(const GroupCandidate& group, const ClaimPolicy& policy, TimePoint now) {
  return group.forced || group.count > policy.count_trigger ||
         group.oldest < now - policy.age_trigger;
}

ClaimOrder order_candidates(std::vector<GroupCandidate> groups, const VersionMap& versions,
                            const ClaimPolicy& policy, TimePoint now) {
  std::erase_if(groups,
                [&](const GroupCandidate& group) { return !is_eligible(group, policy, now); });
  std::stable_sort(groups.begin(), groups.end(),
                   [](const GroupCandidate& a, const GroupCandidate& b) {
                     return std::tie(b.forced, a.oldest) < std::tie(a.forced, b.oldest);
                   });
  ClaimOrder order;
  for (auto& group : groups) {
    const auto current = versions.find(group.table);
    if (current == versions.end() || group.version > current->second) {
      continue; // No table yet, or a newer version: waits for the migrator.
    }
    if (group.version < current->second) {
      order.outdated.push_back({group.table, group.version});
      continue;
    }
    order.loadable.push_back(std::move(group));
  }
  return order;
}

bool CandidateCache::stale(const ClaimPolicy& policy, TimePoint now) const {
  const std::lock_guard lock(m_mutex);
  return m_groups.empty() || now < m_fetched_at || now - m_fetched_at >= m_ttl ||
         policy.count_trigger != m_policy.count_trigger ||
         policy.age_trigger != m_policy.age_trigger;
}

void CandidateCache::replace(std::vector<GroupCandidate> groups, const ClaimPolicy& policy,
                             TimePoint now) {
  const std::lock_guard lock(m_mutex);
  m_groups = std::move(groups);
  m_policy = policy;
  m_fetched_at = now;
}

std::optional<GroupCandidate> CandidateCache::next(const VersionMap& versions,
                                                   const ClaimPolicy& policy, TimePoint now,
                                                   std::vector<TableVersion>& outdated) {
  const std::lock_guard lock(m_mutex);
  ClaimOrder order = order_candidates(m_groups, versions, policy, now);
  auto forget = [&](const std::string& table, int version) {
    std::erase_if(m_groups, [&](const GroupCandidate& group) {
      return group.table == table && group.version == version;
    });
  };
  for (const auto& old : order.outdated) {
    forget(old.table, old.version);
    if (std::find(outdated.begin(), outdated.end(), old) == outdated.end()) {
      outdated.push_back(old);
    }
  }
  if (order.loadable.empty()) {
    return std::nullopt;
  }
  forget(order.loadable.front().table, order.loadable.front().version);
  return std::move(order.loadable.front());
}

void CandidateCache::expire() {
  const std::lock_guard lock(m_mutex);
  m_groups.clear();
}

std::vector<PendingStat> classify_pending(const std::vector<PendingGroup>& groups,
                                          const VersionMap& versions) {
  std::map<std::pair<PendingKind, std::string>, PendingStat> merged;
  for (const auto& group : groups) {
    PendingKind kind = PendingKind::in_queue;
    const auto current = versions.find(group.table);
    if (group.stale) {
      kind = PendingKind::stale;
    } else if (current != versions.end() && group.version > current->second) {
      kind = PendingKind::pending_migration;
    }
    auto [entry, inserted] = merged.try_emplace({kind, group.table});
    PendingStat& stat = entry->second;
    if (inserted) {
      stat = PendingStat{.kind = kind, .table = group.table, .count = 0, .oldest = group.oldest};
    }
    stat.count += group.count;
    stat.oldest = std::min(stat.oldest, group.oldest);
    if (kind == PendingKind::in_queue && current != versions.end() &&
        group.version < current->second) {
      stat.outdated += group.count;
    }
  }
  std::vector<PendingStat> stats;
  stats.reserve(merged.size());
  for (auto& [key, stat] : merged) {
    stats.push_back(std::move(stat));
  }
  return stats;
}

} // namespace rsi::ingestdb
