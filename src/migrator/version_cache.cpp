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

void VersionCache::merge(const ingestdb::VersionMap& versions) {
  const std::unique_lock lock(m_mutex);
  for (const auto& [table, version] : versions) {
    auto [entry, inserted] = m_versions.try_emplace(table, version);
    if (!inserted && entry->second < version) {
      entry->second = version;
    }
  }
  m_loaded = true;
}

void VersionCache::raise(std::string_view table, int version) {
  const std::unique_lock lock(m_mutex);
  auto found = m_versions.find(table);
  if (found == m_versions.end()) {
    m_versions.emplace(std::string(table), version);
  } else if (found->second < version) {
    found->second = version;
  }
}

} // namespace rsi::migrator
