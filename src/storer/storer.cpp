#include "storer/storer.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/log.hpp"
#include "common/sleep.hpp"
#include "core/file_pointer.hpp"
#include "telemetry/names.hpp"

namespace rsi::storer {
namespace {

namespace names = telemetry::names;

// A table still unknown is logged at warn at most this often per listener.
constexpr std::chrono::minutes k_awaiting_log_interval{10};

std::chrono::seconds whole_seconds_at_least_one(std::chrono::milliseconds delay) {
  return std::max(std::chrono::seconds(1), std::chrono::ceil<std::chrono::seconds>(delay));
}

// "24h", "90m", "45s": the largest unit that divides the duration.
std::string format_duration(std::chrono::seconds duration) {
  const auto seconds = duration.count();
  if (seconds > 0 && seconds % 3600 == 0) {
    return fmt::format("{}h", seconds / 3600);
  }
  if (seconds > 0 && seconds % 60 == 0) {
    return fmt::format("{}m", seconds / 60);
  }
  return fmt::format("{}s", seconds);
}

} // namespace

Result<void> check_unknown_table_timing(std::chrono::seconds wait, std::chrono::seconds retry) {
  if (retry < std::chrono::seconds(1) || retry > std::chrono::hours(12)) {
    return fail(
        ErrorKind::permanent,
        fmt::format("--unknown-table-retry: must be 1s to 12h, got {}", format_duration(retry)));
  }
  if (wait < retry || wait > std::chrono::days(14)) {
    return fail(ErrorKind::permanent,
                fmt::format("--unknown-table-wait: must be at least --unknown-table-retry and at "
                            "most 14 days, got {}",
                            format_duration(wait)));
  }
  return {};
}

std::string_view to_string(Disposition disposition) {
  switch (disposition) {
  case Disposition::recorded:
    return "recorded";
  case Disposition::duplicate:
    return "duplicate";
  case Disposition::skipped:
    return "skipped";
  case Disposition::rejected:
    return "rejected";
  case Disposition::deferred:
    return "deferred";
  case Disposition::awaiting_metadata:
    return "awaiting_metadata";
  }
  return "unknown";
}

Storer::Storer(queue::Queue& queue, ingestdb::IngestDb& store, registry::TableDirectory& tables,
               const Clock& clock, telemetry::Metrics& metrics, StorerConfig config)
    : m_queue(queue), m_store(store), m_clock(clock), m_metrics(metrics),
      m_config(std::move(config)), m_check(tables, clock, metrics, m_config.routing) {}

Disposition Storer::reject(const queue::Message& message, const std::string& reason,
                           std::string_view kind, std::string_view table) {
  auto kept = m_store.reject_message({.message_id = message.id,
                                      .reason = reason,
                                      .body = message.body,
                                      .received_at = m_clock.now(),
                                      .kind = std::string(kind),
                                      .table = std::string(table)});
  if (!kept) {
    log::warn("cannot record rejected message; it stays in the queue",
              {{"message_id", message.id}, {"error", kept.error().message}});
    return Disposition::deferred;
  }
  m_metrics.count(names::messages_rejected(kind));
  log::warn("message rejected", {{"message_id", message.id},
                                 {"reason", reason},
                                 {"receive_count", message.receive_count},
                                 {"body", message.body.substr(0, 512)}});
  return Disposition::rejected;
}

Disposition Storer::await_metadata(const queue::Message& message, const std::string& table,
                                   const std::string& reason) {
  const TimePoint now = m_clock.now();
  const auto retry = std::max(std::chrono::seconds(1), m_config.unknown_table_retry);
  const bool too_old = message.sent_at
                           ? now - *message.sent_at >= m_config.unknown_table_wait
                           : message.receive_count > m_config.unknown_table_wait / retry + 1;
  if (too_old) {
    return reject(message,
                  fmt::format("{} (still unknown {} after the message was sent; {} attempts)",
                              reason, format_duration(m_config.unknown_table_wait),
                              message.receive_count),
                  "unknown_table", table);
  }
  if (auto noted = m_store.note_awaiting_metadata(message.id, table, message.sent_at.value_or(now),
                                                  now + retry, message.receive_count);
      !noted) {
    log::debug("cannot note a message waiting for event metadata",
               {{"message_id", message.id}, {"error", noted.error().message}});
  }
  m_metrics.count(names::messages_awaiting_metadata());
  auto& last_logged = m_awaiting_logged[table];
  const nlohmann::json fields{{"table", table},
                              {"reason", reason},
                              {"message_id", message.id},
                              {"receive_count", message.receive_count},
                              {"retry_in_s", retry.count()},
                              {"rejected_after", format_duration(m_config.unknown_table_wait)}};
  if (last_logged == TimePoint{} || now - last_logged >= k_awaiting_log_interval) {
    last_logged = now;
    log::warn("table not known yet; its messages wait in the queue", fields);
  } else {
    log::debug("table not known yet; the message waits", fields);
  }
  return Disposition::awaiting_metadata;
}

std::variant<Disposition, std::vector<core::FilePointer>>
Storer::check(const queue::Message& message) {
  Checked checked = m_check.check_message(message.body);
  switch (checked.verdict) {
  case Checked::Verdict::record:
    return std::move(checked.pointers);
  case Checked::Verdict::nothing:
    return Disposition::skipped;
  case Checked::Verdict::reject:
    return reject(message, checked.reason, checked.reject_kind, checked.table);
  case Checked::Verdict::unknown_table:
    return await_metadata(message, checked.table, checked.reason);
  case Checked::Verdict::unavailable:
    break;
  }
  log::warn("cannot check the message now; it stays in the queue",
            {{"message_id", message.id}, {"error", checked.reason}});
  return Disposition::deferred;
}

Disposition Storer::recorded(const queue::Message& message,
                             std::span<const core::FilePointer> pointers,
                             const Result<std::vector<ingestdb::RecordOutcome>>& outcomes) {
  if (!outcomes) {
    if (outcomes.error().kind == ErrorKind::permanent) {
      return reject(message, outcomes.error().wrap("record file pointer").message, "unrecordable",
                    pointers.front().table);
    }
    log::warn("cannot record file pointers; the message stays in the queue",
              {{"message_id", message.id},
               {"table", pointers.front().table},
               {"files", pointers.size()},
               {"error", outcomes.error().message}});
    return Disposition::deferred;
  }
  Disposition disposition = Disposition::duplicate;
  for (std::size_t at = 0; at < pointers.size(); ++at) {
    const core::FilePointer& pointer = pointers[at];
    const ingestdb::RecordOutcome outcome = (*outcomes)[at];
    if (outcome == ingestdb::RecordOutcome::recorded) {
      m_metrics.count(names::files_queued(pointer.table));
      m_metrics.count(names::files_queued_total());
      disposition = Disposition::recorded;
      continue;
    }
    m_metrics.count(names::files_duplicate(pointer.table));
    if (outcome == ingestdb::RecordOutcome::quarantined) {
      log::warn("pointer of a quarantined file: not recorded again; retry it through "
                "/control/quarantine/retry once its object is fixed",
                {{"key", pointer.key_name}, {"table", pointer.table}});
    } else {
      log::debug("duplicate file pointer",
                 {{"key", pointer.key_name}, {"outcome", ingestdb::to_string(outcome)}});
    }
  }
  return disposition;
}

std::vector<Disposition> Storer::handle(const std::vector<queue::Message>& messages) {
  std::vector<Disposition> dispositions(messages.size(), Disposition::deferred);
  std::vector<core::FilePointer> pointers;
  // Each message with pointers: its index in `messages` and its pointers' range in `pointers`.
  struct Span {
    std::size_t message;
    std::size_t first;
    std::size_t count;
  };
  std::vector<Span> spans;
  for (std::size_t index = 0; index < messages.size(); ++index) {
    auto checked = check(messages[index]);
    if (auto* found = std::get_if<std::vector<core::FilePointer>>(&checked)) {
      spans.push_back({index, pointers.size(), found->size()});
      std::move(found->begin(), found->end(), std::back_inserter(pointers));
    } else {
      dispositions[index] = std::get<Disposition>(checked);
    }
  }
  if (pointers.empty()) {
    return dispositions;
  }
  // One transaction for the receive's pointers: one commit, and one announcement of the work
  // to the loaders of other processes, instead of one per file. A message's pointers are
  // recorded together or not at all.
  auto outcomes = m_store.record_files(pointers, m_clock.now());
  const bool one_by_one = !outcomes && outcomes.error().kind == ErrorKind::permanent;
  for (const Span& span : spans) {
    const auto own = std::span(pointers).subspan(span.first, span.count);
    if (one_by_one) {
      // Some pointer the database refuses: message by message, so that only its message is
      // rejected.
      dispositions[span.message] =
          recorded(messages[span.message], own, m_store.record_files(own, m_clock.now()));
    } else if (outcomes) {
      dispositions[span.message] =
          recorded(messages[span.message], own,
                   std::vector<ingestdb::RecordOutcome>(
                       outcomes->begin() + static_cast<std::ptrdiff_t>(span.first),
                       outcomes->begin() + static_cast<std::ptrdiff_t>(span.first + span.count)));
    } else {
      dispositions[span.message] =
          recorded(messages[span.message], own, std::unexpected(outcomes.error()));
    }
  }
  return dispositions;
}

void Storer::postpone(const std::vector<queue::Message>& messages, std::chrono::seconds delay) {
  for (std::size_t start = 0; start < messages.size(); start += queue::k_max_batch) {
    const auto chunk =
        std::span(messages).subspan(start, std::min(queue::k_max_batch, messages.size() - start));
    if (auto hidden = m_queue.change_visibility(chunk, delay); !hidden) {
      log::warn("cannot postpone messages; they return after their visibility timeout",
                {{"error", hidden.error().message}});
    }
  }
}

void Storer::settle(const std::vector<queue::Message>& done,
                    const std::vector<queue::Message>& deferred,
                    const std::vector<queue::Message>& awaiting, bool stopping) {
  for (std::size_t start = 0; start < done.size(); start += queue::k_max_batch) {
    const auto chunk =
        std::span(done).subspan(start, std::min(queue::k_max_batch, done.size() - start));
    auto removed = m_queue.remove(chunk);
    if (!removed) {
      // Recorded already: when the messages come back they are recognised as duplicates.
      log::warn("delete from queue failed",
                {{"messages", chunk.size()}, {"error", removed.error().message}});
      continue;
    }
    for (const auto& failure : removed->failed) {
      log::info("delete from queue refused",
                {{"message_id", failure.id}, {"error", failure.error.message}});
    }
  }
  // Stopping: hand deferred messages back at once to whoever runs next.
  postpone(deferred, stopping ? std::chrono::seconds(0)
                              : whole_seconds_at_least_one(m_config.backoff.ceiling(m_failures)));
  postpone(awaiting, std::max(std::chrono::seconds(1), m_config.unknown_table_retry));
}

Result<PollSummary> Storer::poll_once(std::chrono::seconds wait, std::stop_token stop) {
  RSI_TRY_ASSIGN(const auto messages, m_queue.receive(m_config.batch_size, wait, stop));
  PollSummary summary;
  summary.received = messages.size();
  std::vector<queue::Message> done;
  std::vector<queue::Message> deferred;
  std::vector<queue::Message> awaiting;
  const std::vector<Disposition> dispositions = handle(messages);
  for (std::size_t index = 0; index < messages.size(); ++index) {
    const queue::Message& message = messages[index];
    const Disposition disposition = dispositions[index];
    if (message.receive_count > 1 && disposition != Disposition::deferred &&
        disposition != Disposition::awaiting_metadata) {
      // It may have waited for its table's metadata on an earlier delivery.
      if (auto forgotten = m_store.forget_awaiting_metadata(message.id); !forgotten) {
        log::debug("cannot forget a message that waited for event metadata",
                   {{"message_id", message.id}, {"error", forgotten.error().message}});
      }
    }
    switch (disposition) {
    case Disposition::recorded:
      ++summary.recorded;
      break;
    case Disposition::duplicate:
      ++summary.duplicate;
      break;
    case Disposition::skipped:
      ++summary.skipped;
      break;
    case Disposition::rejected:
      ++summary.rejected;
      break;
    case Disposition::deferred:
      ++summary.deferred;
      break;
    case Disposition::awaiting_metadata:
      ++summary.awaiting_metadata;
      break;
    }
    if (disposition == Disposition::deferred) {
      deferred.push_back(message);
    } else if (disposition == Disposition::awaiting_metadata) {
      awaiting.push_back(message);
    } else if (disposition != Disposition::rejected || !m_config.keep_rejected_in_queue) {
      done.push_back(message);
    }
  }
  m_failures = summary.deferred > 0 ? m_failures + 1 : 0;
  if (summary.recorded > 0 && m_config.on_recorded) {
    m_config.on_recorded();
  }
  settle(done, deferred, awaiting, stop.stop_requested());
  return summary;
}

void Storer::run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    auto polled = poll_once(m_config.wait, stop);
    m_queue_reachable = polled.has_value();
    if (!polled) {
      ++m_failures;
      log::warn("queue receive failed",
                {{"error", polled.error().message}, {"attempt", m_failures}});
      if (polled.error().kind == ErrorKind::permanent) {
        log::error("queue receive failed permanently; check the queue name and permissions",
                   {{"error", polled.error().message}});
      }
    }
    if (m_failures > 0) {
      sleep_unless_stopped(stop, m_config.backoff.delay(m_failures - 1, jitter_rng()));
    }
  }
}

} // namespace rsi::storer
