#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <span>
#include <stop_token>
#include <string>
#include <variant>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/retry.hpp"
#include "core/file_pointer.hpp"
#include "ingestdb/ingest_db.hpp"
#include "queue/queue.hpp"
#include "registry/event_metadata.hpp"
#include "storer/message_check.hpp"
#include "telemetry/metrics.hpp"

namespace rsi::storer {

struct StorerConfig {
  std::size_t batch_size = queue::k_max_batch; // Messages per receive.
  std::chrono::seconds wait{20};               // Long-poll wait per receive.
  bool keep_rejected_in_queue = false; // Leave rejected messages to the queue's redrive policy.
  // Back-off after transient failures (database or queue down): deferred messages come back
  // after the same delay.
  BackoffPolicy backoff{.initial_delay = std::chrono::milliseconds(500),
                        .max_delay = std::chrono::seconds(30),
                        .max_attempts = 0};
  // Called after a poll recorded new file pointers (they are committed): the all-in-one
  // process wakes its load workers instead of leaving the files to their next idle poll.
  std::function<void()> on_recorded;
  // A message whose table is not in the event metadata (yet: a new event's files often arrive
  // before Blueprint publishes it) stays in the queue and comes back after `unknown_table_retry`
  // (the metadata is reloaded then, rate-limited), until it is `unknown_table_wait` old, counted
  // from its send time (without one: after as many receives as fit in that time); then it is
  // rejected.
  std::chrono::seconds unknown_table_retry{60};
  std::chrono::seconds unknown_table_wait{std::chrono::hours(24)};
  // How S3's notifications (and EventBridge's) become pointers: --route.
  RoutingConfig routing;
};

// The unknown-table timing, checked: the retry 1 s to 12 h (SQS's longest visibility timeout),
// the wait at least one retry and at most 14 days (SQS's longest retention). Fails permanent,
// naming the flag.
[[nodiscard]] Result<void> check_unknown_table_timing(std::chrono::seconds wait,
                                                      std::chrono::seconds retry);

// What became of one message.
enum class Disposition {
  recorded,          // New file pointer recorded.
  duplicate,         // Already pending or recently loaded: nothing recorded, message deleted.
  skipped,           // Nothing to load: its table does not load into the warehouse ("ace"), an
                     // S3 test event, removals: counted, deleted.
  rejected,          // Bad input: kept in rejected_message with its reason, deleted (or left).
  deferred,          // A transient failure: left in the queue to come back.
  awaiting_metadata, // Its table is not in the event metadata yet: left in the queue to come back.
};

std::string_view to_string(Disposition disposition);

struct PollSummary {
  std::size_t received = 0;
  std::size_t recorded = 0;
  std::size_t duplicate = 0;
  std::size_t skipped = 0;
  std::size_t rejected = 0;
  std::size_t deferred = 0;
  std::size_t awaiting_metadata = 0;
};

// One metadatastorer listener: queue messages become file pointers in the ingester database.
// Per message: unwrap/parse/route (MessageCheck) → record → delete, the delete only after
// the record committed, so a crash at any point loses nothing (the message comes back and is
// recognised as a duplicate). The pointers of one receive are recorded in one transaction. Uses its
// own Queue (not thread-safe); the store, the directory and the metrics are shared.
class Storer {
public:
  Storer(queue::Queue& queue, ingestdb::IngestDb& store, registry::TableDirectory& tables,
         const Clock& clock, telemetry::Metrics& metrics, StorerConfig config);

  // One receive and the processing of what it brought. Fails only when the receive failed.
  // A stop request ends the receive's wait early.
  [[nodiscard]] Result<PollSummary> poll_once(std::chrono::seconds wait, std::stop_token stop = {});

  // Poll until `stop` is requested, backing off after transient failures. Received messages
  // are always finished or released before it returns.
  void run(std::stop_token stop);

  // Whether the last receive succeeded (for /health). Thread-safe.
  [[nodiscard]] bool queue_reachable() const { return m_queue_reachable.load(); }

private:
  // What becomes of `messages` (one receive): their pointers are recorded together.
  std::vector<Disposition> handle(const std::vector<queue::Message>& messages);
  // A message's pointers to record, or what became of it instead (rejected, skipped, ...).
  std::variant<Disposition, std::vector<core::FilePointer>> check(const queue::Message& message);
  // What becomes of `message`, whose `pointers` were recorded with `outcomes`.
  Disposition recorded(const queue::Message& message, std::span<const core::FilePointer> pointers,
                       const Result<std::vector<ingestdb::RecordOutcome>>& outcomes);
  // Keeps `message` in rejected_message with its reason, kind and table (empty: not known).
  Disposition reject(const queue::Message& message, const std::string& reason,
                     std::string_view kind, std::string_view table);
  Disposition await_metadata(const queue::Message& message, const std::string& table,
                             const std::string& reason);
  void settle(const std::vector<queue::Message>& done, const std::vector<queue::Message>& deferred,
              const std::vector<queue::Message>& awaiting, bool stopping);
  void postpone(const std::vector<queue::Message>& messages, std::chrono::seconds delay);

  queue::Queue& m_queue;
  ingestdb::IngestDb& m_store;
  const Clock& m_clock;
  telemetry::Metrics& m_metrics;
  StorerConfig m_config;
  MessageCheck m_check;
  int m_failures = 0; // Consecutive polls with a transient failure.
  std::map<std::string, TimePoint, std::less<>>
      m_awaiting_logged; // Table → when last logged at warn.
  std::atomic<bool> m_queue_reachable{true};
};

} // namespace rsi::storer
