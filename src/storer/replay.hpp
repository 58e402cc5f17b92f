#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "ingestdb/ingest_db.hpp"
#include "registry/event_metadata.hpp"
#include "storer/message_check.hpp"
#include "telemetry/metrics.hpp"

namespace rsi::storer {

// The kinds of rejection (ingestdb::RejectedMessage::kind, the messages.rejected.<kind> metric).
inline constexpr std::array<std::string_view, 4> k_rejection_kinds{"malformed", "unknown_table",
                                                                   "unrouted", "unrecordable"};

[[nodiscard]] bool is_rejection_kind(std::string_view kind);

// What a replay did with one rejected message.
enum class ReplayOutcome {
  recorded,    // New file pointers were recorded: the message leaves rejected_message.
  duplicate,   // Its pointers were pending, loaded recently or quarantined already: it leaves.
  skipped,     // Nothing to load (an S3 test event, removals, tables not loaded into the
               // warehouse): it leaves.
  rejected,    // Rejected again: it stays, with the new reason, kind and table.
  unavailable, // The event metadata or the schema registry could not answer: it stays as it was.
};

[[nodiscard]] std::string_view to_string(ReplayOutcome outcome);

struct ReplayedMessage {
  std::int64_t id = 0; // Its row in rejected_message.
  std::string message_id;
  ReplayOutcome outcome = ReplayOutcome::unavailable;
  std::size_t files = 0; // Pointers recorded anew.
  std::string kind;      // rejected: the new kind.
  std::string table;     // The table it names (its first pointer's); empty: not known.
  std::string reason;    // rejected: the new reason; unavailable: what could not answer.
};

struct ReplayReport {
  std::vector<ReplayedMessage> messages; // Oldest first.
  // More messages match than the replay took (its selection's limit): the next replay goes on
  // after this id.
  std::optional<std::int64_t> next_after_id;
};

// A Replayer's replay, as the control API calls it.
using ReplayFunction = std::function<Result<ReplayReport>(
    const ingestdb::RejectedSelection& selection, const std::string& requester)>;

struct ReplayConfig {
  RoutingConfig routing; // The process's --route rules, as the listeners have them.
  // Called once before each replay, e.g. to reload the event metadata so that a table published
  // since the messages were rejected is known. A failure is logged and the replay goes on with
  // what there is (with no event metadata at all, every message is `unavailable`). Empty: none.
  std::function<Result<void>()> refresh;
};

// Puts rejected messages back through the intake: each body is checked again with the rules the
// queue listeners apply (MessageCheck: form, routes, registry versions, event metadata), then its
// pointers are recorded together (IngestDb::record_files). An accepted message leaves
// rejected_message; one rejected again stays with its new reason, kind and table. Recording is
// idempotent, so a replay that stops half-way (a crash, a database failure) is safely repeated.
// Counts what the listeners count for the files (received, queued, duplicate) and
// messages.replayed.<outcome>; logs one audit line per message. Thread-safe.
class Replayer {
public:
  Replayer(ingestdb::IngestDb& store, registry::TableDirectory& tables, const Clock& clock,
           telemetry::Metrics& metrics, ReplayConfig config);

  // Replays the messages `selection` covers (its ids, kind, table and after_id), oldest first, at
  // most `selection.limit`, for `requester` (named in the audit lines). Fails, transient or
  // permanent, when the ingester database does: the messages replayed until then are resolved,
  // the others unchanged.
  [[nodiscard]] Result<ReplayReport> replay(const ingestdb::RejectedSelection& selection,
                                            const std::string& requester);

private:
  // Checks and records one message; resolves its row.
  Result<ReplayedMessage> replay_one(const ingestdb::StoredRejection& rejection);
  // Records `pointers`, the message's; fills in the outcome.
  Result<void> record(std::vector<core::FilePointer> pointers, ReplayedMessage& replayed);

  ingestdb::IngestDb& m_store;
  const Clock& m_clock;
  telemetry::Metrics& m_metrics;
  std::function<Result<void>()> m_refresh;
  MessageCheck m_check;
};

} // namespace rsi::storer
