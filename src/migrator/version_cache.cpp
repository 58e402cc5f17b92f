#include "migrator/version_cache.hpp"

#include <mutex>

namespace rsi::migrator {

bool VersionCache::loaded() const {
  const std::shared_lock lock(m_mutex);
  return m_loaded;
}

std::optional<int> VersionCache::get(std::string_view table) const {
  const std::shared_lock lock(m_mutex);
  const auto found = m_versions.find(table);
  if (found == m_versions.end()) {
    return std::nullopt;
  }
  return found->second;
}

ingestdb::VersionMap VersionCache::snapshot() const {
  const std::shared_lock lock(m_mutex);
  return m_versions;
}

std::shared_ptr<const ingestdb::VersionMap> VersionCache::shared() const {
  const std::shared_lock lock(m_mutex);
  const std::lock_guard shared_lock(m_shared_mutex);
  if (!m_shared) {
    m_shared = std::make_shared<const ingestdb::VersionMap>(m_versions);
  }
  return m_shared;
}

void VersionCache::merge(const ingestdb::VersionMap& versions) {
  const std::unique_lock lock(m_mutex);
  bool changed = false;
  for (const auto& [table, version] : versions) {
    auto [entry, inserted] = m_versions.try_emplace(table, version);
    if (!inserted && entry->second < version) {
      entry->second = version;
      changed = true;
    }
    changed = changed || inserted;
  }
  m_loaded = true;
  if (changed) {
    const std::lock_guard shared_lock(m_shared_mutex);
    m_shared.reset();
  }
}

void VersionCache::raise(std::string_view table, int version) {
  const std::unique_lock lock(m_mutex);
  auto found = m_versions.find(table);
  if (found == m_versions.end()) {
    m_versions.emplace(std::string(table), version);
  } else if (found->second < version) {
    found->second = version;
  } else {
    return;
  }
  const std::lock_guard shared_lock(m_shared_mutex);
  m_shared.reset();
}

} // namespace rsi::migrator
