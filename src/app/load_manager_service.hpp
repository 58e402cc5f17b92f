#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "http/server.hpp"
#include "ingestdb/ingest_db.hpp"
#include "ingestdb/migrator_lock.hpp"
#include "loader/loader.hpp"
#include "migrator/migrator.hpp"
#include "migrator/version_cache.hpp"
#include "queue/queue.hpp"
#include "registry/schema_registry.hpp"
#include "storer/replay.hpp"
#include "telemetry/metrics.hpp"
#include "telemetry/reporter.hpp"
#include "warehouse/warehouse.hpp"

namespace rsi::app {

// Runs until `stop`, calling `wake` whenever another process may have made work due (the
// ingester database's notifications: ingestdb::watch_for_work).
using WorkWatcher = std::function<void(std::stop_token stop, const std::function<void()>& wake)>;

struct LoadManagerOptions {
  int workers = 5;
  loader::LoaderConfig loader;
  migrator::MigratorConfig migrator;
  std::chrono::milliseconds reporter_period{std::chrono::minutes(1)};
  // Empty: the workers learn of other processes' work at their next poll (-no_work_delay).
  WorkWatcher watch_work;
};

using WarehouseFactory = std::function<Result<std::unique_ptr<warehouse::Warehouse>>()>;

// rsloadmanager's activities: the migrator, the load workers (one warehouse connection each),
// the lease keeper, the reporter, the work watcher (when there is one), and the control API's
// backend. Used by the rsloadmanager daemon and the all-in-one rs_ingester.
class LoadManagerService {
public:
  LoadManagerService(ingestdb::IngestDb& store, registry::SchemaRegistry& registry,
                     ingestdb::MigratorLock& lock, WarehouseFactory open_warehouse,
                     telemetry::Metrics& metrics, const Clock& clock, LoadManagerOptions options);
  ~LoadManagerService(); // Joins the threads.
  LoadManagerService(const LoadManagerService&) = delete;
  LoadManagerService& operator=(const LoadManagerService&) = delete;

  // Open the migrator's and the control API's warehouse connections (retrying until they open
  // or a stop), load the version cache (a first migrator poll) and resolve orphaned batches
  // before any claim. false: stopped first, or a permanent failure (logged).
  bool prepare(std::stop_token stop);
  // The control API on `server` (before the server starts; its options hold the token).
  // `queue_depth` counts the messages not yet recorded and `routes` are the --route rules, where
  // this process reads the queue; `replay_rejected` replays rejected messages, where this
  // process can check messages.
  void install_control(http::Server& server,
                       std::function<Result<queue::QueueDepth>()> queue_depth = {},
                       std::vector<std::string> routes = {},
                       storer::ReplayFunction replay_rejected = {});
  // Start the migrator, reporter, lease keeper, workers and work watcher.
  void start(std::stop_token stop);
  void join();

  [[nodiscard]] migrator::VersionCache& versions() { return m_versions; }

  // Work may have appeared (files recorded, a force load requested): idle workers look now.
  // Thread-safe.
  void wake_loaders() { m_loader->wake(); }

private:
  template <class Work> auto with_control_warehouse(Work&& work) {
    const std::lock_guard lock(m_control_mutex);
    return std::forward<Work>(work)(*m_control_warehouse);
  }

  // One round trip to the schema registry for the status's dependency health; an answer is
  // reused for a few seconds, and while a probe runs the others take the last answer.
  Result<void> probe_registry();

  ingestdb::IngestDb& m_store;
  registry::SchemaRegistry& m_registry;
  ingestdb::MigratorLock& m_lock;
  WarehouseFactory m_open_warehouse;
  telemetry::Metrics& m_metrics;
  const Clock& m_clock;
  LoadManagerOptions m_options;
  migrator::VersionCache m_versions;
  std::unique_ptr<warehouse::Warehouse> m_migrator_warehouse;
  std::mutex m_control_mutex;
  std::unique_ptr<warehouse::Warehouse> m_control_warehouse;
  std::unique_ptr<migrator::Migrator> m_migrator;
  std::unique_ptr<loader::Loader> m_loader;
  std::unique_ptr<telemetry::Reporter> m_reporter;
  std::vector<std::jthread> m_threads;
  std::mutex m_probe_mutex; // Guards the three below.
  std::optional<TimePoint> m_probe_at;
  std::optional<Result<void>> m_probe_result;
  bool m_probe_running = false;
};

} // namespace rsi::app
