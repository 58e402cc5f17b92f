// The migrator's poll. State kept between polls (under m_mutex): when each (table, target)
// was first seen, for the wait of waitProcessorPeriod, and whether it was admitted on-peak.
// Also the tables for which the migrator itself requested a force load (to drain the old
// version): such a request does not admit an alter on-peak, an operator's does. (The store
// does not say who asked: an operator's request made before a poll saw the migrator's own one
// taken counts as the migrator's, which errs on the side of waiting for off-peak.) All of it is
// forgotten when the table moved past the target, no longer has pending files, or this
// process lost the migrator lock (another holder may have moved on), so a regained lock starts
// every wait afresh. The lock is confirmed at the start of each poll; should it be lost
// during one, the warehouse's expected-version check still keeps a version from being
// applied twice.
#include "migrator/migrator.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/log.hpp"
#include "common/sleep.hpp"
#include "telemetry/names.hpp"

namespace rsi::migrator {

namespace names = telemetry::names;

Result<void> check_config(const MigratorConfig& config) {
  RSI_TRY(config.offpeak.check());
  const std::pair<std::string_view, std::chrono::milliseconds> positive[] = {
      {"migratorPollPeriod", config.poll_period},
      {"onpeakMigrationTimeoutMs", config.onpeak_timeout},
      {"offpeakMigrationTimeoutMs", config.offpeak_timeout}};
  for (const auto& [name, value] : positive) {
    if (value.count() <= 0) {
      return fail(ErrorKind::permanent, fmt::format("{}: must be positive", name));
    }
  }
  if (config.wait_processor_period.count() < 0) {
    return fail(ErrorKind::permanent, "waitProcessorPeriod: must not be negative");
  }
  return {};
}

std::string_view to_string(StepOutcome outcome) {
  switch (outcome) {
  case StepOutcome::migrated:
    return "migrated";
  case StepOutcome::planned:
    return "planned";
  case StepOutcome::waiting_offpeak:
    return "waiting_offpeak";
  case StepOutcome::table_locked:
    return "table_locked";
  case StepOutcome::waiting_processor:
    return "waiting_processor";
  case StepOutcome::waiting_drain:
    return "waiting_drain";
  case StepOutcome::failed:
    return "failed";
  }
  return "unknown";
}

Migrator::Migrator(warehouse::Warehouse& warehouse, ingestdb::IngestDb& store,
                   registry::SchemaRegistry& registry, ingestdb::MigratorLock& lock,
                   VersionCache& versions, const Clock& clock, telemetry::Metrics& metrics,
                   MigratorConfig config)
    : m_warehouse(warehouse), m_store(store), m_registry(registry), m_lock(lock),
      m_versions(versions), m_clock(clock), m_metrics(metrics), m_config(std::move(config)) {}

Result<PollReport> Migrator::poll_once(TimePoint now) {
  PollReport report;
  if (!m_config.dry_run) {
    auto held = m_lock.try_acquire();
    const bool holder = held.value_or(false);
    if (m_holder != holder) { // Also logs the first poll's answer.
      log::info(holder ? "this process runs the migrator"
                : held ? "another process runs the migrator"
                       : "migrator lock unknown (ingester database unreachable); not migrating");
      const std::lock_guard lock(m_mutex);
      m_waits.clear();
    }
    m_holder = holder;
    if (!held) {
      return fail(held.error().wrap("migrator lock"));
    }
    report.holds_lock = holder;
  }
  RSI_TRY(refresh_versions());
  if (report.holds_lock) {
    repair_views_once();
  }
  if (!report.holds_lock && !m_config.dry_run) {
    return report; // The cache is fresh for this process's loaders; the holder migrates.
  }
  RSI_TRY_ASSIGN(const ingestdb::VersionMap pending, m_store.pending_versions());
  for (const auto& [table, newest] : pending) {
    if (auto step_taken = step(table, newest, now)) {
      report.steps.push_back(std::move(*step_taken));
    }
  }
  forget_settled(pending);
  return report;
}

void Migrator::run(std::stop_token stop) {
  log::info("migrator started", {{"poll_period_ms", m_config.poll_period.count()},
                                 {"offpeak_start_hour", m_config.offpeak.start_hour},
                                 {"offpeak_duration_hours", m_config.offpeak.duration_hours},
                                 {"dry_run", m_config.dry_run}});
  do {
    if (auto report = poll_once(m_clock.now()); !report) {
      log::warn("migrator poll failed; retrying next poll", {{"error", report.error().message}});
    }
  } while (sleep_unless_stopped(stop, m_config.poll_period));
  m_lock.release();
  log::info("migrator stopped");
}

void Migrator::repair_views_once() {
  const std::lock_guard lock(m_mutex);
  if (m_views_repaired) {
    return;
  }
  auto created = m_warehouse.repair_views();
  if (!created) {
    log::warn("cannot check that every table has its view; trying again next poll",
              {{"error", created.error().message}});
    return;
  }
  m_views_repaired = true;
  if (!created->empty()) {
    log::warn("created the missing views of existing tables (every table has a view, as in the "
              "original; an earlier release made them only for tables with the view column)",
              {{"views", *created}});
  }
}

Result<int> Migrator::increment_version(std::string_view table) {
  const std::lock_guard lock(m_mutex);
  RSI_TRY_ASSIGN(const int version, m_warehouse.increment_version(table));
  m_versions.raise(table, version);
  log::info("incremented table version", {{"table", table}, {"version", version}});
  return version;
}

Result<void> Migrator::refresh_versions() {
  const std::lock_guard lock(m_mutex);
  auto versions = m_warehouse.table_versions();
  if (!versions) {
    return fail(versions.error().wrap("read table versions"));
  }
  m_versions.merge(*versions);
  return {};
}

std::optional<TableStep> Migrator::step(const std::string& table, int newest, TimePoint now) {
  const std::lock_guard lock(m_mutex);
  // Read under the lock: increment_version may have moved the table since the poll began.
  const std::optional<int> current = m_versions.get(table);
  if (current && newest <= *current) {
    return std::nullopt;
  }
  TableStep taken{.table = table, .target_version = current ? *current + 1 : 0};
  auto outcome = advance(table, taken.target_version, now);
  if (outcome) {
    taken.outcome = *outcome;
    return taken;
  }
  taken.error = std::move(outcome.error());
  report_failure(taken);
  return taken;
}

Result<StepOutcome> Migrator::advance(const std::string& table, int target, TimePoint now) {
  const bool offpeak = m_config.offpeak.contains(now);
  if (m_config.dry_run) {
    return plan(table, target, offpeak);
  }
  const Key key{table, target};
  if (target > 0) { // Altering: the window, the wait, the drain.
    auto wait = m_waits.find(key);
    bool on_peak = wait != m_waits.end() && wait->second.on_peak;
    if (!offpeak && !on_peak) {
      RSI_TRY_ASSIGN(const bool forced, m_store.force_load_requested(table));
      if (!forced) {
        m_own_force_loads.erase(table); // A loader took it.
      }
      // The migrator's own drain request is no operator asking for the table on-peak.
      if (!forced || m_own_force_loads.contains(table)) {
        return StepOutcome::waiting_offpeak;
      }
      RSI_TRY_ASSIGN(const bool locked, m_warehouse.table_locked(table));
      if (locked) {
        return StepOutcome::table_locked;
      }
      on_peak = true;
    }
    if (wait == m_waits.end()) {
      m_waits.emplace(key, Wait{.since = now, .on_peak = on_peak});
      log::info("waiting for the processor before migrating",
                {{"table", table},
                 {"version", target},
                 {"until", to_iso8601(now + m_config.wait_processor_period)},
                 {"on_peak", !offpeak}});
      if (m_config.wait_processor_period.count() > 0) {
        return StepOutcome::waiting_processor;
      }
      wait = m_waits.find(key);
    }
    wait->second.on_peak = on_peak;
    if (now - wait->second.since < m_config.wait_processor_period) {
      return StepOutcome::waiting_processor;
    }
    RSI_TRY_ASSIGN(const bool old_files, m_store.has_files(table, target - 1));
    if (old_files) {
      RSI_TRY_ASSIGN(const bool requested,
                     m_store.request_force_load(table, m_config.requester, now));
      if (requested) {
        m_own_force_loads.insert(
            table); // Not counted: force_load.<table> counts operators' requests, as the original.
        log::info("waiting for the old version's files to load; force load requested",
                  {{"table", table}, {"version", target - 1}, {"requester", m_config.requester}});
      }
      return StepOutcome::waiting_drain;
    }
    if (!offpeak) { // Locks may have come while the old version drained.
      RSI_TRY_ASSIGN(const bool locked, m_warehouse.table_locked(table));
      if (locked) {
        return StepOutcome::table_locked;
      }
    }
  }
  RSI_TRY_ASSIGN(const std::vector<core::Operation> operations,
                 m_registry.migration(table, target));
  const std::chrono::milliseconds timeout =
      offpeak ? m_config.offpeak_timeout : m_config.onpeak_timeout;
  log::info("migrating table", {{"table", table},
                                {"version", target},
                                {"operations", operations.size()},
                                {"statement_timeout_ms", timeout.count()}});
  RSI_TRY(m_warehouse.apply_migration(table, target, operations, timeout));
  m_versions.raise(table, target);
  m_waits.erase(key);
  m_metrics.count(names::migrations(table, "applied")); // The warehouse logged the commit.
  return StepOutcome::migrated;
}

Result<StepOutcome> Migrator::plan(const std::string& table, int target, bool offpeak) {
  const Key key{table, target};
  if (m_planned.contains(key)) {
    return StepOutcome::planned;
  }
  RSI_TRY_ASSIGN(const std::vector<core::Operation> operations,
                 m_registry.migration(table, target));
  RSI_TRY_ASSIGN(const std::vector<std::string> statements,
                 m_warehouse.migration_statements(table, target, operations));
  const auto timeout = offpeak ? m_config.offpeak_timeout : m_config.onpeak_timeout;
  log::info("dry run: migration not applied", {{"table", table},
                                               {"version", target},
                                               {"statement_timeout_ms", timeout.count()},
                                               {"allowed_now", target == 0 || offpeak},
                                               {"sql", statements}});
  m_planned.insert(key);
  return StepOutcome::planned;
}

void Migrator::report_failure(const TableStep& step) {
  const Error& error = *step.error;
  m_metrics.count(names::migrations(step.table, "failed"));
  const nlohmann::json fields = {
      {"table", step.table}, {"version", step.target_version}, {"error", error.message}};
  switch (error.kind) {
  case ErrorKind::permanent:
    log::error("migration failed; retrying next poll", fields);
    break;
  case ErrorKind::conflict:
    // The warehouse moved (another process, increment_version): the next poll re-reads it.
    log::warn("migration lost a race; re-reading versions next poll", fields);
    break;
  case ErrorKind::transient:
    log::warn("migration failed; retrying next poll", fields);
    break;
  }
}

void Migrator::forget_settled(const ingestdb::VersionMap& pending) {
  const std::lock_guard lock(m_mutex);
  const auto settled = [&](const Key& key) {
    const auto newest = pending.find(key.first);
    const auto current = m_versions.get(key.first);
    return newest == pending.end() || (current && *current >= key.second);
  };
  std::erase_if(m_waits, [&](const auto& entry) { return settled(entry.first); });
  std::erase_if(m_planned, [&](const Key& key) { return settled(key); });
  std::erase_if(m_own_force_loads, [&](const std::string& table) {
    return std::none_of(m_waits.begin(), m_waits.end(),
                        [&](const auto& entry) { return entry.first.first == table; });
  });
}

} // namespace rsi::migrator
