#pragma once

#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "ingestdb/ingest_db.hpp"

namespace rsi::migrator {

// Table → the version its warehouse table has (infra.table_version), shared by the migrator
// (which moves it) and the loaders (which load only files of a table's current version).
// Versions only rise: a value comes from the warehouse or from a migration that committed, and
// the warehouse never goes back. Thread-safe.
class VersionCache {
public:
  // Whether versions were read from the warehouse at least once; before that every table is
  // unknown, and nothing may be loaded or migrated.
  [[nodiscard]] bool loaded() const;

  // The cached version of `table`, or nullopt when it has none (no warehouse table yet).
  [[nodiscard]] std::optional<int> get(std::string_view table) const;

  // Every table's version, a copy.
  [[nodiscard]] ingestdb::VersionMap snapshot() const;

  // Every table's version, for claim_batch: the same immutable map until a version changes, so
  // that a claim does not copy ten thousand entries.
  [[nodiscard]] std::shared_ptr<const ingestdb::VersionMap> shared() const;

  // Take in the warehouse's versions (table_versions()); marks the cache loaded. A table's
  // cached version never goes down.
  void merge(const ingestdb::VersionMap& versions);

  // `table` is at `version` now (a migration or increment_version committed).
  void raise(std::string_view table, int version);

private:
  mutable std::shared_mutex m_mutex;
  ingestdb::VersionMap m_versions;
  bool m_loaded = false;
  // The last map shared(); reset by a change. Guarded by m_shared_mutex (taken after m_mutex).
  mutable std::mutex m_shared_mutex;
  mutable std::shared_ptr<const ingestdb::VersionMap> m_shared;
};

} // namespace rsi::migrator
