#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/retry.hpp"
#include "common/sleep.hpp"
#include "ingestdb/ingest_db.hpp"
#include "objectstore/object_store.hpp"
#include "registry/event_metadata.hpp"
#include "registry/schema_registry.hpp"
#include "storer/message_check.hpp"

namespace rsi::app {

// What a backfill lists: the objects of `store` whose keys start with `prefix`.
struct BackfillSource {
  objectstore::ObjectStore* store = nullptr;
  std::string prefix;
  // The bucket every key belongs to (an S3 bucket). Empty: the store's root holds one folder per
  // bucket (a local objects root, as the embedded default's loader reads it), so a key's first
  // segment is its bucket and the rest its key.
  std::string bucket;
};

struct BackfillOptions {
  std::optional<TimePoint> since; // Objects last modified at or after this time only.
  std::optional<TimePoint> until; // Objects last modified before this time only.
  std::size_t page_size = 1000;   // Keys per listing call (ListObjectsV2's max-keys).
  bool dry_run = false;           // Count what would be recorded; record nothing.
  // Transient failures of a page (listing, event metadata, registry, ingester database) are
  // retried this way before the backfill stops with the error.
  BackoffPolicy retry{.initial_delay = std::chrono::milliseconds(500),
                      .max_delay = std::chrono::seconds(10),
                      .max_attempts = 6};
  std::size_t max_examples = 5; // Unrouted keys kept as examples for the summary.
};

// One table's files in a backfill.
struct BackfillTableCounts {
  std::int64_t recorded = 0;         // New pointers (a dry run: pointers it would record).
  std::int64_t already_recorded = 0; // Pending, or loaded within the loaded-key history.
  std::int64_t quarantined = 0;      // Set aside by a loader earlier: retried by an operator.
  std::int64_t skipped = 0;          // The event metadata says the table is not loaded ("ace").
  std::int64_t unknown = 0;          // The table is not in the event metadata or the registry.

  bool operator==(const BackfillTableCounts&) const = default;
};

// What a backfill did, also when it stopped early.
struct BackfillSummary {
  std::int64_t pages = 0;          // Listing calls that returned.
  std::int64_t listed = 0;         // Objects listed (all of them, whatever became of each).
  std::int64_t outside_window = 0; // Last modified outside --since/--until (or not known).
  std::int64_t folder_markers = 0; // Empty objects whose key ends in '/': console "folders".
  std::int64_t unrouted = 0;       // No --route matches the key (or no bucket folder holds it).
  std::vector<std::string> unrouted_examples; // The first few, as s3:// URLs or keys.
  std::map<std::string, BackfillTableCounts, std::less<>> tables;
  bool interrupted = false;   // A stop came before the listing ended.
  std::optional<Error> error; // The failure that ended the backfill early.

  // Sums over `tables`.
  [[nodiscard]] BackfillTableCounts totals() const;
  // Whether the whole listing was seen and every object has a table that is loaded or that the
  // intake rules skip on purpose: no unrouted keys, no unknown tables, no error, no stop.
  [[nodiscard]] bool complete() const;
};

// Record a pointer for every object `source` lists that the intake rules (`check`: routes,
// registry versions, event metadata) route to a loaded table, in `store`: one listing page, one
// transaction. Each object is checked on its own, so an unrouted key or an unknown table holds
// up nothing else. Idempotent: a key pending or loaded within the loaded-key history is not
// recorded again, so a backfill stopped at any moment (a signal between pages, a crash) is
// simply run again. The next page is listed while one is recorded: never more than two pages
// are held. `store` may be null for a dry run.
// `on_page` (optional) sees the summary so far after each page. Stops after the current page when
// `stop` is requested.
[[nodiscard]] BackfillSummary
backfill(const BackfillSource& source, storer::MessageCheck& check, ingestdb::IngestDb* store,
         const Clock& clock, const BackfillOptions& options, std::stop_token stop,
         const std::function<void(const BackfillSummary&)>& on_page = {});

// `attempt` until it succeeds, fails permanent, runs out of `policy`'s attempts or `stop` comes
// during a wait (the last result then). Transient failures and conflicts are logged (warn, with
// `what`) and retried with backoff.
template <class T>
Result<T> with_retries(const BackoffPolicy& policy, std::stop_token stop, std::string_view what,
                       const std::function<Result<T>()>& attempt) {
  for (int attempts = 1;; ++attempts) {
    auto result = attempt();
    if (result || result.error().kind == ErrorKind::permanent || policy.exhausted(attempts)) {
      return result;
    }
    const auto delay = policy.delay(attempts - 1, jitter_rng());
    log::warn("retrying", {{"step", std::string(what)},
                           {"error", result.error().message},
                           {"attempt", attempts},
                           {"retry_in_ms", delay.count()}});
    if (!sleep_unless_stopped(stop, delay)) {
      return result;
    }
  }
}

// Event metadata when none is configured: the schema registry stands in, as the embedded
// default's schemas/ folder does without event-metadata.json. A table the registry has a current
// version of loads into the warehouse; another is unknown. Answers are kept for the object's
// lifetime (one backfill). Thread-safe.
class RegistryTableDirectory final : public registry::TableDirectory {
public:
  explicit RegistryTableDirectory(registry::SchemaRegistry& registry) : m_registry(registry) {}

  // TableDirectory
  [[nodiscard]] Result<core::AceMembership> membership(std::string_view table) override;

private:
  registry::SchemaRegistry& m_registry;
  std::mutex m_mutex;
  std::map<std::string, core::AceMembership, std::less<>> m_known;
};

} // namespace rsi::app
