#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "core/file_pointer.hpp"

namespace rsi::ingestdb {

// Warehouse table → its current schema version (the migrator's cache). A table that is
// missing has no warehouse table yet, so its files wait.
using VersionMap = std::map<std::string, int, std::less<>>;

enum class RecordOutcome {
  recorded,        // New pending file.
  already_pending, // The key is pending or in a batch being loaded: not recorded again.
  recently_loaded, // The key was loaded within the history window: not recorded again.
  quarantined,     // The key is quarantined: an operator retries it once its object is fixed.
};

// When a (table, version) group of pending files becomes a batch (--load-count, --load-age).
struct ClaimPolicy {
  std::int64_t count_trigger = 5;         // Eligible when the group holds more files than this,
  std::chrono::seconds age_trigger{1800}; // or its oldest file is older than this,
                                          // or an unstarted force load exists for the table.
  std::chrono::seconds lease{120};        // A claimed batch whose lease ran out is orphaned.
  std::size_t max_files = 0;              // Files per batch; 0 = the whole group (the original).
};

// A claimed set of files of one (table, version), named by its manifest uuid.
struct Batch {
  std::string manifest;
  std::string table;
  int version = 0;
  std::vector<std::string> keys; // KeyNames, "bucket/key".
  int retry_count = 0;
  std::optional<std::string> last_error;
  std::optional<TimePoint> retry_at;
  std::optional<TimePoint> oldest_file; // When the oldest file of the batch was received.
  bool forced = false;                  // Claimed because of a force load request.
  // When the batch was first claimed (its manifest row's created_ts); kept across retries. Set
  // by the queries that list batches (in flight, orphaned, failed, find_batch).
  std::optional<TimePoint> created_at;
};

struct TableVersion {
  std::string table;
  int version = 0;
  friend bool operator==(const TableVersion&, const TableVersion&) = default;
};

struct ClaimResult {
  std::optional<Batch> batch;
  // Eligible groups whose version is older than the warehouse's: an error to report.
  std::vector<TableVersion> outdated;
};

// quarantined: files whose data could not load, set aside until an operator retries or drops
// them (not pending: they never load by themselves; `oldest` is when the first was set aside).
enum class PendingKind { in_queue, stale, pending_migration, quarantined };

// Pending files of one table in one category (the reporter's gauges).
struct PendingStat {
  PendingKind kind = PendingKind::in_queue;
  std::string table;
  std::int64_t count = 0;
  TimePoint oldest;
  // Of `count` (in_queue only): files older than the warehouse's version, which never load
  // (the loader reports them). Counted in queue all the same, as the original's gauges did.
  std::int64_t outdated = 0;
};

struct RejectedMessage {
  std::string message_id;
  std::string reason;
  std::string body; // Raw bytes as received.
  TimePoint received_at;
  // malformed, unknown_table, unrouted or unrecordable (the messages.rejected.<kind> metric);
  // empty: not known (a row written by a version without the column).
  std::string kind;
  // The table the message names (Spade's TableName, or what a routed key maps to); empty: not
  // known.
  std::string table;
};

struct StoredRejection {
  std::int64_t id = 0;
  RejectedMessage message;
  // The whole body's size: `message.body` is cut to RejectedSelection::max_body_bytes.
  std::int64_t body_bytes = 0;
};

// Which rejected messages a listing or a replay covers: the filters given are ANDed.
struct RejectedSelection {
  std::vector<std::int64_t> ids;   // Empty: any id.
  std::optional<std::string> kind; // RejectedMessage::kind
  std::optional<std::string> table;
  std::int64_t after_id = 0; // Only rows with a greater id (a replay's pages).
  bool oldest_first = false; // By id: ascending, else descending (newest first).
  std::size_t limit = 100;
  std::size_t max_body_bytes = 0; // Bodies are cut to this many bytes; 0: whole.
};

// Messages of one table that wait in the queue for the table to appear in the event metadata.
struct AwaitingMetadata {
  std::string table;
  std::int64_t messages = 0;
  TimePoint first_seen; // The oldest message's.
};

// What the loads of one table committed in one minute (the status page's chart).
struct LoadMinute {
  std::string table;
  TimePoint minute; // The minute's start (UTC).
  std::int64_t batches = 0;
  std::int64_t files = 0;
  std::int64_t rows = 0; // As the loads reported them (see complete_batch).
};

// How many rejected messages are kept, per kind and table (empty: not known).
struct RejectedCount {
  std::string kind;
  std::string table;
  std::int64_t messages = 0;
};

// A file of a batch whose data cannot load as it is, as the loader found it.
struct FileQuarantine {
  std::string key;         // KeyName of a file of the batch.
  std::string kind;        // What is wrong, e.g. "corrupt_gzip" (warehouse::FileFaultKind).
  std::string error;       // The load's message.
  std::int64_t line = 0;   // 1-based line in the file; 0: not known.
  std::int32_t column = 0; // 1-based column; 0: not known.
};

// How a batch whose load failed for its data is split (IngestDb::split_batch). The files of the
// batch in neither list stay together as a batch of their own, due for a retry at once.
struct BatchSplit {
  std::vector<FileQuarantine> quarantine; // Leave the batch for the quarantine.
  std::vector<std::string> load_now;      // Keys that form a new batch, in flight at once.
};

// A file set aside by the loader, as the operator sees it.
struct QuarantinedFile {
  std::int64_t id = 0;
  std::string table;
  int version = 0;
  std::string key;
  std::string kind;
  std::string error;
  std::int64_t line = 0;
  std::int32_t column = 0;
  TimePoint received_at; // When its pointer was recorded.
  TimePoint first_seen;  // When it was first set aside.
  TimePoint last_seen;   // When it was last set aside (after an operator's retry).
  int attempts = 0;      // How many times it was set aside.
};

// What an operator's retry or drop did to one quarantined file.
enum class QuarantineAction {
  requeued,        // A new pending file: it loads with its table's next batch.
  already_pending, // Its key is pending already: nothing to add.
  already_loaded,  // Its key was loaded since: not queued again.
  dropped,         // Removed from the quarantine (kept as dropped, with who and when).
};

struct QuarantineOutcome {
  QuarantinedFile file;
  QuarantineAction action = QuarantineAction::requeued;
};

// Which quarantined files an operator's retry or drop applies to: all of them, or those of a
// table, or the ids listed (ANDed when several are given).
struct QuarantineSelection {
  std::optional<std::string> table;
  std::vector<std::int64_t> ids;
};

struct StoreOptions {
  // How long loaded keys are remembered to recognise redelivered pointers.
  std::chrono::hours loaded_key_history{24 * 7};
};

// The ingester database: pending file pointers, claimed batches (manifests), force loads,
// last loads, remembered loaded keys and rejected messages. Every backend is thread-safe.
// Errors: `transient` when the database is unreachable or busy (retry; the backend
// reconnects by itself), `permanent` for anything retrying cannot fix.
class IngestDb {
public:
  virtual ~IngestDb() = default;

  // Record `files`, all received at `received_at`, in one transaction (all or none of them). A
  // key that is pending, in a batch, quarantined, or was loaded within the history window is not
  // recorded again; the outcome of each file, in order, says which (a key that appears again
  // later in `files` is already_pending there). One commit for all, and on PostgreSQL one
  // announcement of the work (postgres_ingest_db.hpp). Idempotent.
  [[nodiscard]] virtual Result<std::vector<RecordOutcome>>
  record_files(std::span<const core::FilePointer> files, TimePoint received_at) = 0;

  // record_files of one file.
  [[nodiscard]] Result<RecordOutcome> record_file(const core::FilePointer& file,
                                                  TimePoint received_at) {
    RSI_TRY_ASSIGN(const auto outcomes, record_files(std::span(&file, 1), received_at));
    return outcomes.front();
  }

  // Claim the next eligible batch: force loads first, then the oldest group; only groups whose
  // version equals `versions[table]`; never a table that has a batch in flight. Atomically
  // creates the manifest, attaches the files and marks the force load started. Concurrent
  // claimers (threads or processes) never share a file. No batch is a value, not an error.
  [[nodiscard]] virtual Result<ClaimResult>
  claim_batch(const VersionMap& versions, const ClaimPolicy& policy, TimePoint now) = 0;

  // Extend the lease of an in-flight batch. false: the batch is no longer in flight.
  [[nodiscard]] virtual Result<bool> renew_lease(const std::string& manifest, TimePoint until) = 0;

  // The batch was loaded: its files and manifest are deleted, its keys remembered,
  // `last_load` of its table set to `now`, and the batch, its files and `rows` added to its
  // table's load history for `now`'s minute (load_history). false: no such batch (already
  // completed).
  [[nodiscard]] virtual Result<bool> complete_batch(const std::string& manifest, TimePoint now,
                                                    std::int64_t rows) = 0;

  // complete_batch when the rows are not known (a batch the warehouse's ledger says committed):
  // its files count in the history, its rows do not.
  [[nodiscard]] Result<bool> complete_batch(const std::string& manifest, TimePoint now) {
    return complete_batch(manifest, now, 0);
  }

  // The load history from `since` on: one entry per table and minute that had a load, by table
  // and minute. Kept as long as loaded keys are (prune_loaded_keys).
  [[nodiscard]] virtual Result<std::vector<LoadMinute>> load_history(TimePoint since) = 0;

  // The load failed: retry it at `retry_at`, keep `error` as its last error.
  // false: no such batch.
  [[nodiscard]] virtual Result<bool> fail_batch(const std::string& manifest,
                                                const std::string& error, TimePoint retry_at) = 0;

  // The load of in-flight batch `manifest` failed for the data of some of its files: in one
  // transaction, the files of `split.quarantine` leave it for the quarantine (a file set aside
  // before counts one more attempt), the files of `split.load_now` become a new batch (a new
  // manifest uuid, in flight with a lease until `lease_until`, no retry spent), the others
  // become another new batch, released and due at `now` (so they are not merged with other
  // files: halving a batch whose bad file is unknown stays a bisection), and the old manifest is
  // deleted. Returns the in-flight batch (nullopt when `load_now` is empty). Fails with
  // ErrorKind::conflict when the batch is no longer in flight.
  [[nodiscard]] virtual Result<std::optional<Batch>> split_batch(const std::string& manifest,
                                                                 const BatchSplit& split,
                                                                 TimePoint now,
                                                                 TimePoint lease_until) = 0;

  // Quarantined files, oldest first; at most `limit`.
  [[nodiscard]] virtual Result<std::vector<QuarantinedFile>>
  quarantined_files(std::size_t limit) = 0;

  // Give the selected quarantined files another chance (after the object was fixed): each
  // becomes a new pending file, received at `now`, unless its key is pending already or was
  // loaded within the history window. They leave the quarantine, remembered as retried by
  // `by`.
  [[nodiscard]] virtual Result<std::vector<QuarantineOutcome>>
  retry_quarantined(const QuarantineSelection& selection, const std::string& by, TimePoint now) = 0;

  // Drop the selected quarantined files for good: they leave the quarantine, remembered as
  // dropped by `by`.
  [[nodiscard]] virtual Result<std::vector<QuarantineOutcome>>
  drop_quarantined(const QuarantineSelection& selection, const std::string& by, TimePoint now) = 0;

  // Put an in-flight batch back for a retry at `retry_at` without spending one of its retries
  // (its loader stops, or the warehouse had a transient fault). false: not in flight.
  [[nodiscard]] virtual Result<bool> release_batch(const std::string& manifest,
                                                   TimePoint retry_at) = 0;

  // Claim a failed batch whose retry time came and whose retry_count < `max_retries` (or that
  // was released: a release never makes a batch stale): increments retry_count (unless it was
  // released) and puts it back in flight with a lease. Skips tables with a batch in flight.
  [[nodiscard]] virtual Result<std::optional<Batch>>
  claim_retryable_batch(int max_retries, std::chrono::seconds lease, TimePoint now) = 0;

  // In-flight batches whose lease ran out (or that a loader of the original left behind):
  // their loader died. Not claimed; the caller resolves each (complete or fail).
  [[nodiscard]] virtual Result<std::vector<Batch>> orphaned_batches(TimePoint now) = 0;

  // Failed batches that exhausted their retries (a released batch never counts).
  [[nodiscard]] virtual Result<std::vector<Batch>> stale_batches(int max_retries) = 0;

  // Batches being loaded now (in flight, lease not run out).
  [[nodiscard]] virtual Result<std::vector<Batch>> in_flight_batches(TimePoint now) = 0;

  // One batch by manifest uuid, or nullopt.
  [[nodiscard]] virtual Result<std::optional<Batch>> find_batch(const std::string& manifest) = 0;

  // Give a failed batch its retries back and make it due at `now`. false: no such batch, or it
  // is in flight.
  [[nodiscard]] virtual Result<bool> retry_batch(const std::string& manifest, TimePoint now) = 0;

  // Drop a failed batch without loading it: its files and manifest leave the pending tables
  // and are kept in skipped_batch with `skipped_by`. The skipped batch, or nullopt when there
  // is no such batch or it is in flight.
  [[nodiscard]] virtual Result<std::optional<Batch>>
  skip_batch(const std::string& manifest, const std::string& skipped_by, TimePoint now) = 0;

  // Highest version among pending files, per table.
  [[nodiscard]] virtual Result<VersionMap> pending_versions() = 0;

  // Whether any pending (or claimed) file of `table` has `version`.
  [[nodiscard]] virtual Result<bool> has_files(const std::string& table, int version) = 0;

  // Request a force load. true: a new request; false: one is already waiting (idempotent).
  [[nodiscard]] virtual Result<bool>
  request_force_load(const std::string& table, const std::string& requester, TimePoint now) = 0;

  // Whether an unstarted force load exists for `table`.
  [[nodiscard]] virtual Result<bool> force_load_requested(const std::string& table) = 0;

  // Pending files per table and category, given the warehouse versions.
  [[nodiscard]] virtual Result<std::vector<PendingStat>> pending_stats(const VersionMap& versions,
                                                                       int max_retries) = 0;

  // When each table was last loaded.
  [[nodiscard]] virtual Result<std::map<std::string, TimePoint>> last_loads() = 0;

  // Keep a message that cannot be processed, with its reason, kind, table and raw body.
  [[nodiscard]] virtual Result<void> reject_message(const RejectedMessage& message) = 0;

  // The rejected messages `selection` covers, in its order; at most `selection.limit`.
  [[nodiscard]] virtual Result<std::vector<StoredRejection>>
  list_rejected(const RejectedSelection& selection) = 0;

  // The most recent rejected messages, newest first.
  [[nodiscard]] Result<std::vector<StoredRejection>> rejected_messages(std::size_t limit) {
    return list_rejected({.limit = limit});
  }

  // A replayed rejected message was accepted (recorded, a duplicate, or nothing to load): its
  // row is deleted. false: no such row (another replay resolved it first).
  [[nodiscard]] virtual Result<bool> delete_rejected(std::int64_t id) = 0;

  // A replayed rejected message was rejected again: its reason, kind and table become these
  // (empty `kind` or `table`: not known); its body, message id and time stay. false: no such
  // row.
  [[nodiscard]] virtual Result<bool> update_rejected(std::int64_t id, const std::string& reason,
                                                     const std::string& kind,
                                                     const std::string& table) = 0;

  // The rejected messages kept, counted per kind and table; at most `limit` groups, the
  // largest first.
  [[nodiscard]] virtual Result<std::vector<RejectedCount>> rejected_counts(std::size_t limit) = 0;

  // How many messages were rejected at or after `since`.
  [[nodiscard]] virtual Result<std::int64_t> count_rejected(TimePoint since) = 0;

  // Message `message_id` of `table` waits for the table's event metadata: sent (or first
  // received) at `first_seen`, tried again at `retry_at` (attempt `attempts`). Also forgets
  // rows whose retry is more than a day overdue (their message was deleted elsewhere).
  [[nodiscard]] virtual Result<void> note_awaiting_metadata(const std::string& message_id,
                                                            const std::string& table,
                                                            TimePoint first_seen,
                                                            TimePoint retry_at, int attempts) = 0;

  // Message `message_id` no longer waits (recorded, rejected or skipped). No row is not an error.
  [[nodiscard]] virtual Result<void> forget_awaiting_metadata(const std::string& message_id) = 0;

  // Per table, the messages waiting for event metadata whose retry is due at or after
  // `retry_after` (older rows belong to messages that were deleted elsewhere).
  [[nodiscard]] virtual Result<std::vector<AwaitingMetadata>>
  awaiting_metadata(TimePoint retry_after) = 0;

  // Forget loaded keys, and the load history, older than `cutoff`; returns how many keys.
  [[nodiscard]] virtual Result<std::int64_t> prune_loaded_keys(TimePoint cutoff) = 0;

  // Whether the database answers.
  [[nodiscard]] virtual Result<void> ping() = 0;
};

std::string_view to_string(PendingKind kind);
std::string_view to_string(RecordOutcome outcome);
std::string_view to_string(QuarantineAction action);

} // namespace rsi::ingestdb
