#include "status/status.hpp"

#include <algorithm>
#include <map>

namespace rsi::status {
namespace {

constexpr std::chrono::hours k_awaiting_overdue{1};

// The first minute of the load history a snapshot at `now` shows.
TimePoint history_since(TimePoint now) {
  const auto minute = std::chrono::floor<std::chrono::minutes>(now);
  return minute - (k_history_window - std::chrono::minutes(1));
}

// A dependency's answer to `ping` (not checked when there is none).
Health check(const std::function<Result<void>()>& ping) {
  if (!ping) {
    return {};
  }
  auto answered = ping();
  return {.checked = true,
          .error = answered ? std::nullopt : std::optional<std::string>(answered.error().message)};
}

// The rejected messages' counts: by kind for the snapshot, by kind for each table listed (a
// table named only by rejected messages is not listed: its name came from a stranger).
Result<void> read_rejected(ingestdb::IngestDb& store, Snapshot& snapshot,
                           std::map<std::string, TableStatus, std::less<>>& tables) {
  RSI_TRY_ASSIGN(const auto groups, store.rejected_counts(k_rejected_groups_limit));
  snapshot.rejected_partial = groups.size() >= k_rejected_groups_limit;
  for (const auto& group : groups) {
    const std::string kind = group.kind.empty() ? std::string("unknown") : group.kind;
    snapshot.rejected[kind] += group.messages;
    if (const auto table = tables.find(group.table); table != tables.end()) {
      table->second.rejected[kind] += group.messages;
    }
  }
  return {};
}

// The batches, last loads, messages awaiting metadata and load history of each table (`entry`
// finds or adds it).
template <typename Entry>
Result<void> read_details(ingestdb::IngestDb& store, int max_load_retry, TimePoint now,
                          Entry& entry) {
  RSI_TRY_ASSIGN(const auto pending_versions, store.pending_versions());
  RSI_TRY_ASSIGN(auto in_flight, store.in_flight_batches(now));
  RSI_TRY_ASSIGN(auto orphaned, store.orphaned_batches(now));
  // Every failed batch (at least 0 retries spent): the stale ones and those awaiting a retry.
  RSI_TRY_ASSIGN(auto failed, store.stale_batches(0));
  RSI_TRY_ASSIGN(const auto last_loads, store.last_loads());
  // A message waiting for metadata is due again within the storer's retry delay; one whose
  // retry is long overdue was deleted elsewhere (or its storer is down).
  RSI_TRY_ASSIGN(const auto awaiting, store.awaiting_metadata(now - k_awaiting_overdue));
  RSI_TRY_ASSIGN(auto quarantined, store.quarantined_files(k_quarantine_detail_limit));
  RSI_TRY_ASSIGN(auto history, store.load_history(history_since(now)));
  for (const auto& [name, version] : pending_versions) {
    entry(name).pending_version = version;
  }
  for (auto& batch : in_flight) {
    entry(batch.table).in_flight.push_back(std::move(batch));
  }
  for (auto& batch : orphaned) {
    entry(batch.table).orphaned.push_back(std::move(batch));
  }
  for (auto& batch : failed) {
    TableStatus& table = entry(batch.table);
    (batch.retry_count >= max_load_retry ? table.stale : table.retrying)
        .push_back(std::move(batch));
  }
  for (const auto& [name, time] : last_loads) {
    entry(name).last_load = time;
  }
  for (const auto& waiting : awaiting) {
    TableStatus& table = entry(waiting.table);
    table.awaiting_metadata = waiting.messages;
    table.awaiting_since = waiting.first_seen;
  }
  for (auto& file : quarantined) {
    entry(file.table).quarantined.push_back(std::move(file));
  }
  for (auto& minute : history) {
    entry(minute.table).history.push_back(std::move(minute));
  }
  return {};
}

} // namespace

std::optional<int> TableStatus::migration_target() const {
  if (!pending_version || (current_version && *pending_version <= *current_version)) {
    return std::nullopt;
  }
  return pending_version;
}

bool Snapshot::busy() const {
  if (queue && queue->total() - awaiting_metadata() > 0) {
    return true;
  }
  return std::ranges::any_of(tables, [](const TableStatus& table) {
    return table.waiting_files - table.outdated_files + table.migration_files > 0 ||
           !table.orphaned.empty();
  });
}

std::int64_t Snapshot::awaiting_metadata() const {
  std::int64_t count = 0;
  for (const auto& table : tables) {
    count += table.awaiting_metadata;
  }
  return count;
}

std::int64_t Snapshot::stale_batches() const {
  std::int64_t count = 0;
  for (const auto& table : tables) {
    count += static_cast<std::int64_t>(table.stale.size());
  }
  return count;
}

std::int64_t Snapshot::stale_files() const {
  std::int64_t count = 0;
  for (const auto& table : tables) {
    count += table.stale_files;
  }
  return count;
}

std::int64_t Snapshot::quarantined_files() const {
  std::int64_t count = 0;
  for (const auto& table : tables) {
    count += table.quarantined_files;
  }
  return count;
}

std::int64_t Snapshot::rejected_messages() const {
  std::int64_t count = 0;
  for (const auto& [kind, messages] : rejected) {
    count += messages;
  }
  return count;
}

std::int64_t Snapshot::outdated_files() const {
  std::int64_t count = 0;
  for (const auto& table : tables) {
    count += table.outdated_files;
  }
  return count;
}

Result<Snapshot> take_snapshot(const Sources& sources, TimePoint now) {
  ingestdb::IngestDb& store = *sources.store;
  const bool full = sources.detail == Detail::full;
  // The queue first: a message recorded between the two reads then shows as a file, never as
  // nothing at all.
  Snapshot snapshot{.taken_at = now,
                    .history_since = history_since(now),
                    .max_load_retry = sources.max_load_retry};
  if (full && sources.queue_depth) {
    snapshot.queue_health.checked = true;
    if (auto depth = sources.queue_depth(); depth) {
      snapshot.queue = *depth;
    } else {
      snapshot.queue_error = depth.error().message;
      snapshot.queue_health.error = snapshot.queue_error;
    }
  }
  RSI_TRY_ASSIGN(snapshot.files, store.pending_stats(sources.versions, sources.max_load_retry));

  std::map<std::string, TableStatus, std::less<>> tables;
  auto entry = [&](const std::string& name) -> TableStatus& {
    auto [found, inserted] = tables.try_emplace(name);
    if (inserted) {
      found->second.table = name;
      if (const auto current = sources.versions.find(name); current != sources.versions.end()) {
        found->second.current_version = current->second;
      }
    }
    return found->second;
  };
  for (const auto& [name, version] : sources.versions) {
    entry(name);
  }
  for (const auto& stat : snapshot.files) {
    TableStatus& table = entry(stat.table);
    switch (stat.kind) {
    case ingestdb::PendingKind::in_queue:
      table.waiting_files += stat.count;
      table.outdated_files += stat.outdated;
      break;
    case ingestdb::PendingKind::stale:
      table.stale_files += stat.count;
      break;
    case ingestdb::PendingKind::pending_migration:
      table.migration_files += stat.count;
      break;
    case ingestdb::PendingKind::quarantined:
      table.quarantined_files += stat.count;
      table.quarantined_since = stat.oldest;
      continue;
    }
    table.oldest = table.oldest ? std::min(*table.oldest, stat.oldest) : stat.oldest;
  }
  if (full) {
    RSI_TRY(read_details(store, sources.max_load_retry, now, entry));
    RSI_TRY(read_rejected(store, snapshot, tables));
    snapshot.warehouse = check(sources.warehouse_ping);
    snapshot.registry = check(sources.registry_ping);
  }
  snapshot.tables.reserve(tables.size());
  for (auto& [name, table] : tables) {
    snapshot.tables.push_back(std::move(table));
  }
  return snapshot;
}

} // namespace rsi::status
