#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "ingestdb/ingest_db.hpp"
#include "queue/queue.hpp"

// One picture of where every file stands, read from the ingester database (and the queue where
// this process can see it). The control API's /control/status, `rs_ingester status`,
// `rs_ingester run --until-idle` / `rs_ingester wait` and the waiting-file gauges
// (telemetry::Reporter) all read it, so they always agree.
namespace rsi::status {

struct TableStatus {
  std::string table;
  std::optional<int> current_version; // In the warehouse; nullopt: no table (or version) yet.
  std::optional<int> pending_version; // Highest version among its files; nullopt: none.
  std::int64_t waiting_files = 0;     // Loadable or loading (also those awaiting a retry).
  std::int64_t migration_files = 0;   // Newer than the warehouse's version: wait for the migrator.
  std::int64_t stale_files = 0;       // In stale batches: an operator must retry or skip them.
  std::int64_t outdated_files = 0;    // Of waiting_files: older than the warehouse's version.
  // Set aside because their data cannot load: an operator must retry (once the object is fixed)
  // or drop them. Not counted in `oldest`.
  std::int64_t quarantined_files = 0;
  std::optional<TimePoint> quarantined_since; // When the first of them was set aside.
  std::optional<TimePoint> oldest;            // The oldest file of any kind.
  // Messages in the queue that wait for the table to appear in the event metadata.
  std::int64_t awaiting_metadata = 0;
  std::optional<TimePoint> awaiting_since; // When the oldest of them was sent.
  std::optional<TimePoint> last_load;
  std::vector<ingestdb::Batch> in_flight; // Being loaded (lease current).
  std::vector<ingestdb::Batch> orphaned;  // In flight, lease ran out: resolved by the next check.
  std::vector<ingestdb::Batch> retrying;  // Failed, retried when due.
  std::vector<ingestdb::Batch> stale;     // Failed max_load_retry times: not retried by itself.
  std::vector<ingestdb::QuarantinedFile> quarantined; // The quarantined files (full detail).
  // What its loads committed per minute since Snapshot::history_since (minutes without a load
  // left out), oldest first.
  std::vector<ingestdb::LoadMinute> history;
  // Rejected messages that name this table, by kind ("unknown" for rows without one).
  std::map<std::string, std::int64_t, std::less<>> rejected;

  // The version the migrator still has to bring the table to (the newest of its files, when that
  // is newer than the warehouse's or the table does not exist yet); nullopt when none.
  [[nodiscard]] std::optional<int> migration_target() const;
};

// Whether a dependency answered when the snapshot was taken.
struct Health {
  bool checked = false;             // false: this process does not use it, or was not asked.
  std::optional<std::string> error; // Set when it did not answer.
};

// The load history a snapshot reads: the minute of `now` and the 59 before it.
inline constexpr std::chrono::minutes k_history_window{60};
// Groups of rejected messages (kind, table) a snapshot counts, the largest first.
inline constexpr std::size_t k_rejected_groups_limit = 1000;

struct Snapshot {
  TimePoint taken_at;
  TimePoint history_since; // The first minute of TableStatus::history.
  int max_load_retry = 0;
  std::vector<TableStatus> tables;          // By name.
  std::vector<ingestdb::PendingStat> files; // The waiting files by kind and table, as tallied.
  std::optional<queue::QueueDepth> queue;   // Messages not yet recorded; nullopt: not known here.
  std::optional<std::string> queue_error; // Why the queue could not be counted, when it could not.
  // The ingester database answered (else there is no snapshot); the others as Sources says.
  Health ingester_db{.checked = true};
  Health warehouse;
  Health queue_health; // Checked where the queue is visible; the error is queue_error.
  Health registry;
  // Rejected messages by kind ("unknown" for rows without one), all tables; `rejected_partial`
  // when there were more than k_rejected_groups_limit (kind, table) groups and the smallest
  // were not counted.
  std::map<std::string, std::int64_t, std::less<>> rejected;
  bool rejected_partial = false;

  // Whether work remains that goes on by itself: messages in the queue (but those waiting for
  // their table's event metadata), files waiting for a load or a migration, batches loading or
  // due for a retry. Stale batches, outdated files and messages waiting for metadata do not
  // count, nor do quarantined files: nothing happens to them until an operator (or Blueprint)
  // acts.
  [[nodiscard]] bool busy() const;
  [[nodiscard]] std::int64_t awaiting_metadata() const;
  [[nodiscard]] std::int64_t stale_batches() const;
  [[nodiscard]] std::int64_t stale_files() const;
  [[nodiscard]] std::int64_t outdated_files() const;
  [[nodiscard]] std::int64_t quarantined_files() const;
  [[nodiscard]] std::int64_t rejected_messages() const;
};

// How much a snapshot reads: `files` only the tallies of waiting files (Snapshot::files and the
// tables' file counts; what periodic gauges need, cheap whatever the backlog), `full` also the
// batches, quarantined files (at most k_quarantine_detail_limit), last loads, messages awaiting
// metadata, the load history, the rejected messages' counts, the queue and the dependencies'
// health.
enum class Detail { files, full };

inline constexpr std::size_t k_quarantine_detail_limit = 1000;

struct Sources {
  ingestdb::IngestDb* store = nullptr;
  ingestdb::VersionMap versions;                          // The warehouse's table versions.
  std::function<Result<queue::QueueDepth>()> queue_depth; // Empty: the queue is not visible here.
  // Round trips to the warehouse and the schema registry (Detail::full only); empty: not
  // checked here.
  std::function<Result<void>()> warehouse_ping;
  std::function<Result<void>()> registry_ping;
  int max_load_retry = 0;
  Detail detail = Detail::full;
};

// Read the snapshot at `now`. Fails with the store's error; a queue that cannot be counted is
// noted in `queue_error` instead.
[[nodiscard]] Result<Snapshot> take_snapshot(const Sources& sources, TimePoint now);

} // namespace rsi::status
