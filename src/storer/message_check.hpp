#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "core/file_pointer.hpp"
#include "core/route.hpp"
#include "registry/event_metadata.hpp"
#include "telemetry/metrics.hpp"

namespace rsi::storer {

// The newest schema version of a table, or nullopt when the registry does not know it
// (registry::SchemaRegistry::current_version).
using CurrentVersion = std::function<Result<std::optional<int>>(std::string_view table)>;

struct RoutingConfig {
  std::vector<core::Route> routes; // --route, first match wins.
  // For routes without a version; required when one of them has none (StorerService checks).
  CurrentVersion current_version;
  // How long a table's current version is reused before the registry is asked again.
  std::chrono::seconds current_version_ttl{10};
};

// True when some route takes the registry's current version, so a CurrentVersion is needed.
[[nodiscard]] bool needs_current_version(std::span<const core::Route> routes);

// What a message (or a listed object) comes to before anything is recorded.
struct Checked {
  enum class Verdict {
    record,        // `pointers` are to be recorded, all or none.
    nothing,       // Nothing to load: a test event, removals, tables not loaded ("ace").
    reject,        // Bad input, or a key no route matches: `reason`, `reject_kind`.
    unknown_table, // `table` is not in the event metadata (or the registry) yet.
    unavailable,   // The event metadata or the registry cannot answer now: `reason`.
  };
  Verdict verdict = Verdict::nothing;
  std::vector<core::FilePointer> pointers;
  std::string reason;
  std::string_view reject_kind; // "malformed", "unrouted"
  std::string table;            // unknown_table
};

// The intake rules shared by the queue listeners (Storer), the replay of rejected messages and
// the backfill of a listing: a message body's form (Spade's, S3's notifications, EventBridge),
// the routes from key to table and version, and the event metadata (known table, loaded into
// the warehouse). Counts the intake metrics (files received, skipped, S3 events ignored).
// Thread-safe.
class MessageCheck {
public:
  MessageCheck(registry::TableDirectory& tables, const Clock& clock, telemetry::Metrics& metrics,
               RoutingConfig routing);

  // What `body`, a queue message, asks to record.
  [[nodiscard]] Checked check_message(std::string_view body);

  // What the objects `created` (S3 announced or a listing found them) ask to record: each
  // routed, then checked like a Spade pointer. One unmatched key rejects them all.
  [[nodiscard]] Checked check_objects(std::span<const core::ObjectLocation> created);

  [[nodiscard]] const RoutingConfig& routing() const { return m_routing; }

private:
  // Known, loaded tables keep their pointers; others end the check or are skipped.
  Checked check_pointers(std::vector<core::FilePointer> pointers);
  Result<std::optional<int>> current_version(const std::string& table);

  registry::TableDirectory& m_tables;
  const Clock& m_clock;
  telemetry::Metrics& m_metrics;
  RoutingConfig m_routing;
  std::mutex m_mutex; // m_versions
  struct CachedVersion {
    std::optional<int> version;
    TimePoint fetched_at;
  };
  std::map<std::string, CachedVersion, std::less<>> m_versions;
};

} // namespace rsi::storer
