#include "registry/event_metadata.hpp"

#include <fmt/format.h>

#include "common/gzip.hpp"
#include "common/log.hpp"

namespace rsi::registry {

EventMetadataCache::EventMetadataCache(MetadataFetcher fetcher, const Clock& clock,
                                       EventMetadataOptions options)
    : m_fetcher(std::move(fetcher)), m_clock(clock), m_options(options) {}

Result<void> EventMetadataCache::reload() {
  const std::lock_guard reload_lock(m_reload_mutex);
  {
    const std::lock_guard lock(m_mutex);
    m_last_attempt = m_clock.now();
  }
  RSI_TRY_ASSIGN(std::string body, m_fetcher());
  if (looks_gzipped(body)) {
    RSI_TRY_ASSIGN(body, gunzip(body));
  }
  RSI_TRY_ASSIGN(auto parsed, core::parse_event_metadata(body));
  const std::size_t events = parsed.events.size();
  {
    const std::lock_guard lock(m_mutex);
    m_metadata = std::move(parsed);
  }
  log::info("event metadata loaded", {{"events", events}});
  return {};
}

Result<void> EventMetadataCache::reload_if_due() {
  {
    const std::lock_guard lock(m_mutex);
    if (m_last_attempt && m_clock.now() - *m_last_attempt < m_options.reload_every) {
      return {};
    }
  }
  return reload();
}

bool EventMetadataCache::loaded() const {
  const std::lock_guard lock(m_mutex);
  return m_metadata.has_value();
}

Result<core::AceMembership> EventMetadataCache::membership(std::string_view table) {
  bool reload_now = false;
  {
    const std::lock_guard lock(m_mutex);
    if (m_metadata) {
      const auto found = core::ace_membership(*m_metadata, table);
      if (found != core::AceMembership::unknown_table) {
        return found;
      }
    }
    const TimePoint now = m_clock.now();
    if (!m_last_forced || now - *m_last_forced >= m_options.min_forced_interval) {
      m_last_forced = now;
      reload_now = true;
    }
  }
  if (reload_now) {
    if (auto reloaded = reload(); !reloaded) {
      log::warn("event metadata reload failed",
                {{"table", std::string(table)}, {"error", reloaded.error().message}});
    }
  }
  const std::lock_guard lock(m_mutex);
  if (!m_metadata) {
    return fail(ErrorKind::transient, "event metadata: not loaded yet");
  }
  return core::ace_membership(*m_metadata, table);
}

} // namespace rsi::registry
