#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "ingestdb/ingest_db.hpp"
#include "ingestdb/migrator_lock.hpp"
#include "migrator/offpeak.hpp"
#include "migrator/version_cache.hpp"
#include "registry/schema_registry.hpp"
#include "telemetry/metrics.hpp"
#include "warehouse/warehouse.hpp"

namespace rsi::migrator {

struct MigratorConfig {
  std::chrono::milliseconds poll_period{std::chrono::minutes(1)};           // -migratorPollPeriod
  std::chrono::milliseconds wait_processor_period{std::chrono::minutes(3)}; // -waitProcessorPeriod
  OffpeakWindow offpeak;                                 // -offpeakStartHour, -offpeakDurationHours
  std::chrono::milliseconds onpeak_timeout{600'000};     // -onpeakMigrationTimeoutMs
  std::chrono::milliseconds offpeak_timeout{10'800'000}; // -offpeakMigrationTimeoutMs
  bool dry_run = false;                                  // --dry-run-migrations
  std::string requester = "migrator"; // Who the force loads that drain an old version are from.
};

// Fails permanent for a window check() rejects or a period or timeout that is not positive.
[[nodiscard]] Result<void> check_config(const MigratorConfig& config);

// What one poll did for one table that is behind its pending files.
enum class StepOutcome {
  migrated,          // The next version committed.
  planned,           // Dry run: its SQL was logged, nothing changed.
  waiting_offpeak,   // An ALTER waits for the off-peak window (or a force load).
  table_locked,      // On-peak with a force load, but the table holds locks.
  waiting_processor, // Within waitProcessorPeriod of the first sight of this version.
  waiting_drain,     // Files of the old version remain; a force load was requested.
  failed,            // An error; retried next poll.
};

std::string_view to_string(StepOutcome outcome);

struct TableStep {
  std::string table;
  int target_version = 0;
  StepOutcome outcome = StepOutcome::failed;
  std::optional<Error> error; // Set when failed.
};

struct PollReport {
  bool holds_lock = false;      // This process is the migrator (always false in a dry run).
  std::vector<TableStep> steps; // One per table that is behind, in table order.
};

// rsloadmanager's migrator (docs/architecture.md, "Schema evolution"). Every poll: take (or
// confirm) the migrator lock, refresh the version cache from the warehouse (the first time it holds
// the lock, also create the views an earlier release left out: Warehouse::repair_views), and for
// each table whose newest pending version is above its cached version (or that has none) take one
// step to target = current+1 (0 when unknown):
//   - creating (target 0) is allowed at any time and waits for nothing;
//   - altering waits for the off-peak window, or on-peak for a force load requested for the
//     table (not by the migrator itself) while the table holds no locks (an on-peak start stays
//     admitted until it is done);
//   - the first sight of (table, target) starts a wait of wait_processor_period (files of the
//     old version may still be on their way), then the old version's pending files must
//     drain: while any remain, a force load by `requester` is requested;
//   - then Blueprint's steps are applied in one warehouse transaction with the on- or off-peak
//     statement timeout, which checks that the warehouse still holds target-1, and the cache
//     is raised only after that committed.
// A failing step (registry down, a bad operation, a DDL error, a lost race) is logged with
// the table and version, counted, and retried next poll; the other tables go on. Only the
// lock holder migrates; the others keep their caches fresh for their loaders. In a dry run no
// lock is taken and nothing changes: each pending step's SQL is logged once, whatever the
// window. The warehouse instance is the migrator's own (not thread-safe); the other
// dependencies may be shared.
class Migrator {
public:
  Migrator(warehouse::Warehouse& warehouse, ingestdb::IngestDb& store,
           registry::SchemaRegistry& registry, ingestdb::MigratorLock& lock, VersionCache& versions,
           const Clock& clock, telemetry::Metrics& metrics, MigratorConfig config);

  // One poll at `now`. Fails (nothing migrated) when the lock, the warehouse's versions or the
  // pending versions cannot be read; per-table failures are in the report instead.
  [[nodiscard]] Result<PollReport> poll_once(TimePoint now);

  // Poll every poll_period until `stop` is requested, then give up the lock. A migration that
  // runs when stop comes is finished first (the statement timeout bounds it).
  void run(std::stop_token stop);

  // The control API's increment_version: the next version of a table that has no warehouse
  // table, without DDL (how Blueprint retires a dropped event). Serialised with migrations;
  // the cache is raised after the commit. Fails conflict when the table exists. Thread-safe.
  [[nodiscard]] Result<int> increment_version(std::string_view table);

private:
  struct Wait {
    TimePoint since;
    bool on_peak = false; // Admitted on-peak by a force load: stays admitted.
  };
  using Key = std::pair<std::string, int>;

  [[nodiscard]] Result<void> refresh_versions();
  // Once per process, as the lock holder: create the views an earlier release left out.
  void repair_views_once();
  [[nodiscard]] std::optional<TableStep> step(const std::string& table, int newest, TimePoint now);
  [[nodiscard]] Result<StepOutcome> advance(const std::string& table, int target, TimePoint now);
  [[nodiscard]] Result<StepOutcome> plan(const std::string& table, int target, bool offpeak);
  void report_failure(const TableStep& step);
  void forget_settled(const ingestdb::VersionMap& pending);

  warehouse::Warehouse& m_warehouse;
  ingestdb::IngestDb& m_store;
  registry::SchemaRegistry& m_registry;
  ingestdb::MigratorLock& m_lock;
  VersionCache& m_versions;
  const Clock& m_clock;
  telemetry::Metrics& m_metrics;
  MigratorConfig m_config;

  std::mutex m_mutex; // One migration or increment_version at a time; guards what follows.
  std::map<Key, Wait> m_waits;
  std::set<Key> m_planned;                              // Dry run: steps whose SQL was logged.
  std::set<std::string, std::less<>> m_own_force_loads; // Requested by the migrator, not taken.
  std::optional<bool> m_holder; // The lock's answer at the last poll; nullopt before the first.
  bool m_views_repaired = false;
};

} // namespace rsi::migrator
