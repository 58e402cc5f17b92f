#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "core/event_metadata.hpp"

namespace rsi::registry {

// Which tables go to the warehouse, by Blueprint's event metadata (docs/architecture.md,
// "The life of one file pointer").
class TableDirectory {
public:
  virtual ~TableDirectory() = default;

  // Whether `table`'s files load into the warehouse ("ace" among its datastores). An unknown
  // table triggers a reload first (rate-limited). Fails `transient` while the metadata has
  // never been loaded.
  [[nodiscard]] virtual Result<core::AceMembership> membership(std::string_view table) = 0;
};

// Fetches the raw event metadata document (gzip or plain JSON), e.g. from S3 or a file.
using MetadataFetcher = std::function<Result<std::string>()>;

struct EventMetadataOptions {
  std::chrono::milliseconds reload_every{std::chrono::minutes(5)}; // -bpMetadataReloadFrequency
  std::chrono::milliseconds min_forced_interval{
      std::chrono::seconds(30)}; // Reloads for unseen tables.
};

// The event metadata, kept in memory and reloaded every `reload_every`, and at once (at most
// every `min_forced_interval`) when a table it does not know arrives. A failed reload keeps
// the last good document. Thread-safe.
class EventMetadataCache final : public TableDirectory {
public:
  EventMetadataCache(MetadataFetcher fetcher, const Clock& clock, EventMetadataOptions options);

  // Fetch and parse now. Errors keep the previous document (permanent: the document is broken).
  [[nodiscard]] Result<void> reload();
  // Reload when `reload_every` has passed since the last attempt; returns the reload's error.
  [[nodiscard]] Result<void> reload_if_due();
  [[nodiscard]] bool loaded() const;

  // TableDirectory
  [[nodiscard]] Result<core::AceMembership> membership(std::string_view table) override;

private:
  MetadataFetcher m_fetcher;
  const Clock& m_clock;
  EventMetadataOptions m_options;
  mutable std::mutex m_mutex;
  std::optional<core::EventMetadata> m_metadata;
  std::optional<TimePoint> m_last_attempt;
  std::optional<TimePoint> m_last_forced;
  std::mutex m_reload_mutex; // One fetch at a time.
};

} // namespace rsi::registry
