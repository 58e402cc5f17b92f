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

std::chrono::seconds whole_seconds_at_least_one(std::chrono::milliseconds delay) {
  return std::max(std::chrono::seconds(1), std::chrono::ceil<std::chrono::seconds>(delay));
}

} // namespace

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
  }
  return "unknown";
}

Storer::Storer(queue::Queue& queue, metadata::MetadataStore& store, registry::TableDirectory& tables,
               const Clock& clock, telemetry::Metrics& metrics, StorerConfig config)
    : m_queue(queue), m_store(store), m_tables(tables), m_clock(clock), m_metrics(metrics), m_config(config) {}

Disposition Storer::reject(const queue::Message& message, const std::string& reason, std::string_view kind) {
  auto kept = m_store.reject_message(
      {.message_id = message.id, .reason = reason, .body = message.body, .received_at = m_clock.now()});
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

Disposition Storer::handle(const queue::Message& message) {
  auto pointer = core::parse_file_pointer(message.body);
  if (!pointer) {
    return reject(message, pointer.error().message, "malformed");
  }
  m_metrics.count(names::files_received(pointer->table));
  m_metrics.count(names::files_received_total());

  auto membership = m_tables.membership(pointer->table);
  if (!membership) {
    log::warn("event metadata unavailable; message stays in the queue",
              {{"message_id", message.id}, {"error", membership.error().message}});
    return Disposition::deferred;
  }
  if (*membership == core::AceMembership::unknown_table) {
    return reject(message, fmt::format("table \"{}\" is not in the event metadata", pointer->table), "unknown_table");
  }
  if (*membership == core::AceMembership::not_in_ace) {
    m_metrics.count(names::files_skipped_ace(pointer->table));
    return Disposition::skipped;
  }

  auto outcome = m_store.record_file(*pointer, m_clock.now());
  if (!outcome) {
    if (outcome.error().kind == ErrorKind::permanent) {
      return reject(message, outcome.error().wrap("record file pointer").message, "unrecordable");
    }
    log::warn("cannot record file pointer; message stays in the queue",
              {{"message_id", message.id}, {"table", pointer->table}, {"error", outcome.error().message}});
    return Disposition::deferred;
  }
  if (*outcome != metadata::RecordOutcome::recorded) {
    m_metrics.count(names::files_duplicate(pointer->table));
    log::debug("duplicate file pointer", {{"key", pointer->key_name}, {"outcome", metadata::to_string(*outcome)}});
    return Disposition::duplicate;
  }
  m_metrics.count(names::files_queued(pointer->table));
  m_metrics.count(names::files_queued_total());
  return Disposition::recorded;
}

void Storer::settle(const std::vector<queue::Message>& done, const std::vector<queue::Message>& deferred,
                    bool stopping) {
  for (std::size_t start = 0; start < done.size(); start += queue::k_max_batch) {
    const auto chunk = std::span(done).subspan(start, std::min(queue::k_max_batch, done.size() - start));
    auto removed = m_queue.remove(chunk);
    if (!removed) {
      // Recorded already: when the messages come back they are recognised as duplicates.
      log::warn("delete from queue failed", {{"messages", chunk.size()}, {"error", removed.error().message}});
      continue;
    }
    for (const auto& failure : removed->failed) {
      log::info("delete from queue refused", {{"message_id", failure.id}, {"error", failure.error.message}});
    }
  }
  if (deferred.empty()) {
    return;
  }
  // Stopping: hand deferred messages back at once to whoever runs next.
  const auto delay = stopping ? std::chrono::seconds(0) : whole_seconds_at_least_one(m_config.backoff.ceiling(m_failures));
  for (std::size_t start = 0; start < deferred.size(); start += queue::k_max_batch) {
    const auto chunk = std::span(deferred).subspan(start, std::min(queue::k_max_batch, deferred.size() - start));
    if (auto hidden = m_queue.change_visibility(chunk, delay); !hidden) {
      log::warn("cannot postpone deferred messages; they return after their visibility timeout",
                {{"error", hidden.error().message}});
    }
  }
}

Result<PollSummary> Storer::poll_once(std::chrono::seconds wait, std::stop_token stop) {
  RSI_TRY_ASSIGN(const auto messages, m_queue.receive(m_config.batch_size, wait, stop));
  PollSummary summary;
  summary.received = messages.size();
  std::vector<queue::Message> done;
  std::vector<queue::Message> deferred;
  for (const auto& message : messages) {
    const Disposition disposition = handle(message);
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
    }
    if (disposition == Disposition::deferred) {
      deferred.push_back(message);
    } else if (disposition != Disposition::rejected || !m_config.keep_rejected_in_queue) {
      done.push_back(message);
    }
  }
  m_failures = summary.deferred > 0 ? m_failures + 1 : 0;
  if (summary.recorded > 0 && m_config.on_recorded) {
    m_config.on_recorded();
  }
  settle(done, deferred, stop.stop_requested());
  return summary;
}

void Storer::run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    auto polled = poll_once(m_config.wait, stop);
    m_queue_reachable = polled.has_value();
    if (!polled) {
      ++m_failures;
      log::warn("queue receive failed", {{"error", polled.error().message}, {"attempt", m_failures}});
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
