#include "storer/replay.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/log.hpp"
#include "telemetry/names.hpp"

namespace rsi::storer {
namespace {

namespace names = telemetry::names;

// Rows read from the ingester database at a time.
constexpr std::size_t k_page = 100;

bool accepted(ReplayOutcome outcome) {
  return outcome == ReplayOutcome::recorded || outcome == ReplayOutcome::duplicate ||
         outcome == ReplayOutcome::skipped;
}

} // namespace

bool is_rejection_kind(std::string_view kind) {
  return std::ranges::find(k_rejection_kinds, kind) != k_rejection_kinds.end();
}

std::string_view to_string(ReplayOutcome outcome) {
  switch (outcome) {
  case ReplayOutcome::recorded:
    return "recorded";
  case ReplayOutcome::duplicate:
    return "duplicate";
  case ReplayOutcome::skipped:
    return "skipped";
  case ReplayOutcome::rejected:
    return "rejected";
  case ReplayOutcome::unavailable:
    return "unavailable";
  }
  return "unknown";
}

Replayer::Replayer(ingestdb::IngestDb& store, registry::TableDirectory& tables, const Clock& clock,
                   telemetry::Metrics& metrics, ReplayConfig config)
    : m_store(store), m_clock(clock), m_metrics(metrics), m_refresh(std::move(config.refresh)),
      m_check(tables, clock, metrics, std::move(config.routing)) {}

Result<ReplayReport> Replayer::replay(const ingestdb::RejectedSelection& selection,
                                      const std::string& requester) {
  if (m_refresh) {
    if (auto refreshed = m_refresh(); !refreshed) {
      log::warn("cannot reload the event metadata before a replay; using the last one loaded",
                {{"error", refreshed.error().message}});
    }
  }
  ReplayReport report;
  ingestdb::RejectedSelection page = selection;
  page.oldest_first = true;
  page.max_body_bytes = 0;
  while (report.messages.size() < selection.limit) {
    // One row more than the limit allows tells whether more match.
    page.limit = std::min(k_page, selection.limit - report.messages.size() + 1);
    RSI_TRY_ASSIGN(const auto rows, m_store.list_rejected(page));
    for (const auto& row : rows) {
      if (report.messages.size() == selection.limit) {
        report.next_after_id = page.after_id;
        return report;
      }
      RSI_TRY_ASSIGN(auto replayed, replay_one(row));
      const nlohmann::json audit{
          {"id", replayed.id},         {"message_id", replayed.message_id},
          {"table", replayed.table},   {"outcome", to_string(replayed.outcome)},
          {"files", replayed.files},   {"kind", replayed.kind},
          {"reason", replayed.reason}, {"requester", requester}};
      log::warn("rejected message replayed by operator", audit);
      m_metrics.count(names::messages_replayed(to_string(replayed.outcome)));
      report.messages.push_back(std::move(replayed));
      page.after_id = row.id;
    }
    if (rows.size() < page.limit) {
      break;
    }
  }
  return report;
}

Result<ReplayedMessage> Replayer::replay_one(const ingestdb::StoredRejection& rejection) {
  ReplayedMessage replayed{.id = rejection.id,
                           .message_id = rejection.message.message_id,
                           .table = rejection.message.table};
  Checked checked = m_check.check_message(rejection.message.body);
  switch (checked.verdict) {
  case Checked::Verdict::record:
    RSI_TRY(record(std::move(checked.pointers), replayed));
    break;
  case Checked::Verdict::nothing:
    replayed.outcome = ReplayOutcome::skipped;
    break;
  case Checked::Verdict::reject:
    replayed.outcome = ReplayOutcome::rejected;
    replayed.kind = checked.reject_kind;
    replayed.table = checked.table;
    replayed.reason = std::move(checked.reason);
    break;
  case Checked::Verdict::unknown_table:
    replayed.outcome = ReplayOutcome::rejected;
    replayed.kind = "unknown_table";
    replayed.table = checked.table;
    replayed.reason = std::move(checked.reason);
    break;
  case Checked::Verdict::unavailable:
    replayed.outcome = ReplayOutcome::unavailable;
    replayed.reason = std::move(checked.reason);
    return replayed;
  }
  // Another replay may have resolved the row meanwhile (false): the outcome stands, since
  // recording is idempotent and both replays checked the same body.
  if (accepted(replayed.outcome)) {
    RSI_TRY(m_store.delete_rejected(rejection.id));
  } else {
    RSI_TRY(m_store.update_rejected(rejection.id, replayed.reason, replayed.kind, replayed.table));
  }
  return replayed;
}

Result<void> Replayer::record(std::vector<core::FilePointer> pointers, ReplayedMessage& replayed) {
  replayed.table = pointers.front().table;
  auto outcomes = m_store.record_files(pointers, m_clock.now());
  if (!outcomes) {
    if (outcomes.error().kind != ErrorKind::permanent) {
      return fail(outcomes.error().wrap(fmt::format("replay rejected message {}", replayed.id)));
    }
    // As the listeners do: a pointer the database refuses rejects its message.
    replayed.outcome = ReplayOutcome::rejected;
    replayed.kind = "unrecordable";
    replayed.reason = outcomes.error().wrap("record file pointer").message;
    return {};
  }
  replayed.outcome = ReplayOutcome::duplicate;
  for (std::size_t at = 0; at < pointers.size(); ++at) {
    if ((*outcomes)[at] == ingestdb::RecordOutcome::recorded) {
      m_metrics.count(names::files_queued(pointers[at].table));
      m_metrics.count(names::files_queued_total());
      replayed.outcome = ReplayOutcome::recorded;
      ++replayed.files;
    } else {
      m_metrics.count(names::files_duplicate(pointers[at].table));
    }
  }
  return {};
}

} // namespace rsi::storer
