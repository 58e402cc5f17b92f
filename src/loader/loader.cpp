#include "loader/loader.hpp"

#include <fmt/format.h>

#include "common/log.hpp"
#include "common/sleep.hpp"
#include "core/file_pointer.hpp"
#include "core/text.hpp"
#include "telemetry/names.hpp"

namespace rsi::loader {
namespace {

namespace names = telemetry::names;

// How a batch whose load failed for its data is split (see Loader): the file at fault into the
// quarantine and the others into a new batch; with no file named, the first half into a new
// batch loaded now and the other half into one loaded after it; a single file into the
// quarantine.
ingestdb::BatchSplit plan_split(const ingestdb::Batch& batch, const warehouse::LoadError& error) {
  ingestdb::BatchSplit split;
  const auto quarantine = [&](std::size_t index, warehouse::FileFaultKind kind, std::int64_t line,
                              std::int32_t column) {
    split.quarantine.push_back({.key = batch.keys[index],
                                .kind = std::string(warehouse::to_string(kind)),
                                .error = error.message,
                                .line = line,
                                .column = column});
  };
  if (error.fault && error.fault->file < batch.keys.size()) {
    const warehouse::FileFault& fault = *error.fault;
    quarantine(fault.file, fault.kind, static_cast<std::int64_t>(fault.line),
               static_cast<std::int32_t>(fault.column));
    for (std::size_t index = 0; index < batch.keys.size(); ++index) {
      if (index != fault.file) {
        split.load_now.push_back(batch.keys[index]);
      }
    }
  } else if (batch.keys.size() == 1) {
    quarantine(0, warehouse::FileFaultKind::rejected, 0, 0);
  } else {
    split.load_now.assign(batch.keys.begin(),
                          batch.keys.begin() + static_cast<std::ptrdiff_t>(batch.keys.size() / 2));
  }
  return split;
}

nlohmann::json describe(const ingestdb::Batch& batch) {
  return {{"manifest", batch.manifest},
          {"table", batch.table},
          {"version", batch.version},
          {"files", batch.keys.size()},
          {"retry_count", batch.retry_count}};
}

} // namespace

Loader::Loader(ingestdb::IngestDb& store, VersionSource versions, const Clock& clock,
               telemetry::Metrics& metrics, LoaderConfig config)
    : m_store(store), m_versions(std::move(versions)), m_clock(clock), m_metrics(metrics),
      m_config(config) {}

void Loader::wake() {
  {
    const std::lock_guard lock(m_mutex);
    ++m_wake_generation;
    m_last_failed_check.reset(); // An operator retry is due at once, not at the next check.
  }
  m_wake.notify_all();
}

void Loader::hold(const std::string& manifest) {
  const std::lock_guard lock(m_mutex);
  m_held.insert_or_assign(manifest, false);
}

void Loader::settle(const std::string& manifest) {
  const std::lock_guard lock(m_mutex);
  if (auto held = m_held.find(manifest); held != m_held.end()) {
    held->second = true;
  }
}

void Loader::unhold(const std::string& manifest) {
  const std::lock_guard lock(m_mutex);
  m_held.erase(manifest);
}

void Loader::report_outdated(const std::vector<ingestdb::TableVersion>& outdated) {
  for (const auto& group : outdated) {
    bool first = false;
    {
      const std::lock_guard lock(m_mutex);
      first = m_reported_outdated.emplace(group.table, group.version).second;
    }
    if (first) {
      log::error(
          "files of an outdated version wait: the warehouse table is newer; they are not loaded",
          {{"table", group.table}, {"version", group.version}});
    }
  }
}

Result<int> Loader::resolve_orphans(warehouse::Warehouse& warehouse) {
  const TimePoint now = m_clock.now();
  RSI_TRY_ASSIGN(const auto orphans, m_store.orphaned_batches(now));
  int resolved = 0;
  for (const auto& batch : orphans) {
    RSI_TRY_ASSIGN(const auto status, warehouse.check_load(batch.manifest));
    if (status == core::LoadStatus::in_progress) {
      log::info("orphaned batch still loading; left alone", describe(batch));
      continue;
    }
    if (status == core::LoadStatus::complete) {
      RSI_TRY(m_store.complete_batch(batch.manifest, now));
      log::info("orphaned batch had committed; marked done", describe(batch));
    } else {
      RSI_TRY(m_store.release_batch(batch.manifest, now));
      log::info("orphaned batch had not committed; released for a retry", describe(batch));
    }
    ++resolved;
  }
  if (resolved > 0 && m_config.on_progress) {
    m_config.on_progress();
  }
  return resolved;
}

std::optional<ingestdb::Batch> Loader::next_batch(bool& is_retry) {
  const TimePoint now = m_clock.now();
  is_retry = false;
  bool check_failed = false;
  {
    const std::lock_guard lock(m_mutex);
    check_failed =
        !m_last_failed_check || now - *m_last_failed_check >= m_config.failed_load_check_interval;
  }
  if (check_failed) {
    auto retry = m_store.claim_retryable_batch(
        m_config.max_load_retry,
        std::chrono::duration_cast<std::chrono::seconds>(m_config.policy.lease), now);
    if (!retry) {
      log::warn("cannot look for failed batches", {{"error", retry.error().message}});
    } else if (*retry) {
      is_retry = true;
      return std::move(*retry); // More may be due: look again next time.
    } else {
      const std::lock_guard lock(m_mutex);
      m_last_failed_check = now;
    }
  }
  const auto versions = m_versions();
  auto claimed = m_store.claim_batch(*versions, m_config.policy, now);
  if (!claimed) {
    log::warn("cannot claim a batch", {{"error", claimed.error().message}});
    return std::nullopt;
  }
  report_outdated(claimed->outdated);
  return std::move(claimed->batch);
}

bool Loader::work_once(warehouse::Warehouse& warehouse, std::stop_token stop) {
  bool check_orphans = false;
  {
    const std::lock_guard lock(m_mutex);
    check_orphans = !m_last_failed_check ||
                    m_clock.now() - *m_last_failed_check >= m_config.failed_load_check_interval;
  }
  if (check_orphans) {
    if (auto resolved = resolve_orphans(warehouse); !resolved) {
      log::warn("cannot resolve orphaned batches", {{"error", resolved.error().message}});
    }
  }
  bool is_retry = false;
  auto batch = next_batch(is_retry);
  if (!batch) {
    return false;
  }
  load(warehouse, std::move(*batch), is_retry, stop);
  return true;
}

void Loader::load(warehouse::Warehouse& warehouse, ingestdb::Batch batch, bool is_retry,
                  std::stop_token stop) {
  hold(batch.manifest);
  if (is_retry) {
    m_metrics.count(names::load_retries(batch.table));
    // A batch that failed may have committed after all (the error came after COMMIT).
    auto status = warehouse.check_load(batch.manifest);
    if (status && *status == core::LoadStatus::complete) {
      log::warn("failed batch had committed; marked done", describe(batch));
      finish(batch, {}, stop);
      unhold(batch.manifest);
      if (m_config.on_progress) {
        m_config.on_progress();
      }
      return;
    }
  }
  for (int attempt = 0;; ++attempt) {
    log::debug("loading batch", describe(batch));
    const auto started = std::chrono::steady_clock::now();
    auto request = load_request(batch);
    auto loaded = request ? warehouse.load_batch(*request)
                          : warehouse::LoadOutcome<warehouse::LoadResult>(
                                std::unexpected(std::move(request.error())));
    if (loaded) {
      m_metrics.timing(names::load_duration(batch.table),
                       std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::steady_clock::now() - started));
      finish(batch, *loaded, stop);
      break;
    }
    const warehouse::LoadError& error = loaded.error();
    if (error.kind == ErrorKind::conflict) {
      // The ledger already has this uuid (a previous attempt committed), or the table's version
      // moved under the batch.
      auto status = warehouse.check_load(batch.manifest);
      if (status && *status == core::LoadStatus::complete) {
        finish(batch, {}, stop);
        break;
      }
    }
    // Every failed attempt counts, as the original counted every failed load.
    m_metrics.count(names::manifest_load_failures());
    if (error.kind == ErrorKind::transient) {
      const auto delay = m_config.transient_backoff.delay(attempt, jitter_rng());
      log::warn("batch load hit a transient fault; retrying without spending a retry",
                {{"manifest", batch.manifest},
                 {"table", batch.table},
                 {"error", error.message},
                 {"attempt", attempt + 1},
                 {"retry_in_ms", delay.count()}});
      if (sleep_unless_stopped(stop, delay)) {
        continue;
      }
      // Stopping: hand the batch back at once for whoever runs next.
      settle(batch.manifest);
      if (auto released = m_store.release_batch(batch.manifest, m_clock.now()); !released) {
        log::warn("cannot release batch; it becomes an orphan when its lease runs out",
                  {{"manifest", batch.manifest}, {"error", released.error().message}});
      }
      break;
    }
    if (error.data) {
      auto next = isolate(batch, plan_split(batch, error), stop);
      if (!next) {
        break;
      }
      hold(next->manifest);
      unhold(batch.manifest);
      batch = std::move(*next);
      attempt = -1;
      continue;
    }
    record_failure(batch, error, stop);
    break;
  }
  unhold(batch.manifest);
  if (m_config.on_progress) {
    m_config.on_progress();
  }
}

warehouse::LoadOutcome<warehouse::LoadRequest>
Loader::load_request(const ingestdb::Batch& batch) const {
  warehouse::LoadRequest request{.manifest = batch.manifest,
                                 .table = batch.table,
                                 .version = batch.version,
                                 .max_bad_rows = m_config.max_bad_rows};
  request.files.reserve(batch.keys.size());
  for (std::size_t index = 0; index < batch.keys.size(); ++index) {
    auto location = core::locate_key_name(batch.keys[index]);
    if (!location) {
      // A key no object can have: a data failure of this file, isolated as any other.
      return std::unexpected(warehouse::LoadError(
          location.error().wrap(fmt::format("load {} into {}: KeyName {}", batch.manifest,
                                            batch.table,
                                            core::quote_for_message(batch.keys[index]))),
          warehouse::FileFault{.file = index, .kind = warehouse::FileFaultKind::refused_object}));
    }
    request.files.push_back(std::move(*location));
  }
  return request;
}

std::optional<ingestdb::Batch> Loader::isolate(const ingestdb::Batch& batch,
                                               const ingestdb::BatchSplit& split,
                                               std::stop_token stop) {
  const TimePoint now = m_clock.now();
  settle(batch.manifest); // A split ends this batch (its lease is still renewed until then).
  for (int attempt = 0;; ++attempt) {
    auto next = m_store.split_batch(batch.manifest, split, now, now + m_config.policy.lease);
    if (next) {
      for (const auto& file : split.quarantine) {
        m_metrics.count(names::files_quarantined(batch.table, file.kind));
        log::error("file quarantined: its data cannot load; the rest of its batch loads without it",
                   {{"table", batch.table},
                    {"version", batch.version},
                    {"key", file.key},
                    {"kind", file.kind},
                    {"line", file.line},
                    {"column", file.column},
                    {"manifest", batch.manifest},
                    {"error", file.error}});
      }
      if (split.quarantine.size() + split.load_now.size() < batch.keys.size()) {
        // The rest is a batch due at once: look for it at the next step, not the next check.
        const std::lock_guard lock(m_mutex);
        m_last_failed_check.reset();
      }
      if (split.quarantine.empty()) {
        log::warn("batch load failed for its data and the warehouse cannot tell which file; "
                  "loading the first half now and the other half after it",
                  {{"manifest", batch.manifest},
                   {"table", batch.table},
                   {"files", batch.keys.size()},
                   {"loading_now", split.load_now.size()}});
      }
      return std::move(*next);
    }
    if (next.error().kind != ErrorKind::transient || stop.stop_requested()) {
      log::warn("cannot split the batch; it is resolved as an orphan when its lease runs out",
                {{"manifest", batch.manifest}, {"error", next.error().message}});
      return std::nullopt;
    }
    log::warn("cannot split the batch; retrying",
              {{"manifest", batch.manifest}, {"error", next.error().message}});
    sleep_unless_stopped(stop, m_config.transient_backoff.delay(attempt, jitter_rng()));
  }
}

void Loader::record_failure(const ingestdb::Batch& batch, const Error& error,
                            std::stop_token stop) {
  const TimePoint retry_at = m_clock.now() + m_config.error_retry_delay;
  // `retry_count` counts the retries spent, this attempt's included. The store retries a failed
  // batch while the count is below max_load_retry, so this failure leaves it stale once the
  // count has reached it (the first attempt and max_load_retry retries have failed).
  log::error("batch load failed", {{"manifest", batch.manifest},
                                   {"table", batch.table},
                                   {"retry_count", batch.retry_count},
                                   {"error", error.message},
                                   {"stale", batch.retry_count >= m_config.max_load_retry}});
  settle(batch.manifest);
  for (int store_attempt = 0;; ++store_attempt) {
    auto failed = m_store.fail_batch(batch.manifest, error.message, retry_at);
    if (failed || stop.stop_requested()) {
      break;
    }
    log::warn("cannot record the failure; retrying",
              {{"manifest", batch.manifest}, {"error", failed.error().message}});
    sleep_unless_stopped(stop, m_config.transient_backoff.delay(store_attempt, jitter_rng()));
  }
}

void Loader::finish(const ingestdb::Batch& batch, const warehouse::LoadResult& result,
                    std::stop_token stop) {
  const TimePoint now = m_clock.now();
  // The load committed: mark it done until the store takes it. Should the process die first,
  // the ledger tells the orphan check it committed.
  settle(batch.manifest);
  for (int attempt = 0;; ++attempt) {
    auto done = m_store.complete_batch(batch.manifest, now, static_cast<std::int64_t>(result.rows));
    if (done) {
      break;
    }
    if (stop.stop_requested()) {
      log::warn(
          "stopping before the batch was marked done; the ledger resolves it at the next start",
          {{"manifest", batch.manifest}});
      return;
    }
    log::warn("cannot mark batch done; retrying",
              {{"manifest", batch.manifest}, {"error", done.error().message}});
    sleep_unless_stopped(stop, m_config.transient_backoff.delay(attempt, jitter_rng()));
  }
  const auto files = static_cast<std::int64_t>(batch.keys.size());
  m_metrics.count(names::manifest_loads());
  m_metrics.count(names::files_loaded(batch.table), files);
  m_metrics.count(names::files_loaded_total(), files);
  m_metrics.count(names::rows_loaded(batch.table), static_cast<std::int64_t>(result.rows));
  m_metrics.count(names::bytes_loaded(batch.table), static_cast<std::int64_t>(result.bytes));
  if (batch.oldest_file) {
    m_metrics.timing(
        names::commit_latency(batch.table),
        std::chrono::duration_cast<std::chrono::microseconds>(now - *batch.oldest_file));
  }
  if (result.rejected_rows > 0) {
    m_metrics.count(names::rows_rejected(batch.table),
                    static_cast<std::int64_t>(result.rejected_rows));
  }
  log::info("batch loaded", {{"manifest", batch.manifest},
                             {"table", batch.table},
                             {"files", files},
                             {"rows", result.rows},
                             {"rejected_rows", result.rejected_rows},
                             {"truncated_values", result.truncated_values},
                             {"replaced_characters", result.replaced_characters}});
}

void Loader::run_worker(warehouse::Warehouse& warehouse, std::stop_token stop) {
  while (!stop.stop_requested()) {
    std::uint64_t generation = 0;
    {
      const std::lock_guard lock(m_mutex);
      generation = m_wake_generation;
    }
    if (work_once(warehouse, stop)) {
      continue;
    }
    std::unique_lock lock(m_mutex);
    m_wake.wait_for(lock, stop, m_config.no_work_delay,
                    [&] { return m_wake_generation != generation; });
  }
}

void Loader::run_lease_keeper(std::stop_token stop) {
  const auto period = std::max<std::chrono::milliseconds>(
      std::chrono::duration_cast<std::chrono::milliseconds>(m_config.policy.lease) / 4,
      std::chrono::milliseconds(100));
  while (sleep_unless_stopped(stop, period)) {
    std::vector<std::string> held;
    {
      const std::lock_guard lock(m_mutex);
      for (const auto& [manifest, settling] : m_held) {
        held.push_back(manifest);
      }
    }
    for (const auto& manifest : held) {
      auto renewed = m_store.renew_lease(manifest, m_clock.now() + m_config.policy.lease);
      if (renewed && *renewed) {
        continue;
      }
      // A batch whose outcome was being recorded when the renewal ran left the flight by that
      // record (completed, failed, released or split): no lease to keep, nothing wrong. Read
      // after the renewal: a worker marks its batch before the record that ends the flight.
      bool settling = true;
      {
        const std::lock_guard lock(m_mutex);
        const auto found = m_held.find(manifest);
        settling = found == m_held.end() || found->second;
      }
      if (!renewed) {
        log::warn("cannot renew a batch lease",
                  {{"manifest", manifest}, {"error", renewed.error().message}});
      } else if (settling) {
        log::debug("batch left the flight as its outcome was recorded; lease not renewed",
                   {{"manifest", manifest}});
      } else {
        log::warn("batch no longer in flight while loading (its lease ran out?)",
                  {{"manifest", manifest}});
      }
    }
  }
}

} // namespace rsi::loader
