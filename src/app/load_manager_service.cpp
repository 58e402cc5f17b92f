#include "app/load_manager_service.hpp"

#include "app/startup.hpp"
#include "common/log.hpp"
#include "control/control_api.hpp"

namespace rsi::app {
namespace {

// The table the status's registry health asks about: any valid name will do.
constexpr std::string_view k_registry_probe_table = "rsi_status_probe";
// How long a probe's answer stands: a status page polls every few seconds, and a registry that
// does not answer costs the HTTP client's retries each time.
constexpr std::chrono::seconds k_registry_probe_ttl{15};

} // namespace

LoadManagerService::LoadManagerService(ingestdb::IngestDb& store,
                                       registry::SchemaRegistry& registry,
                                       ingestdb::MigratorLock& lock,
                                       WarehouseFactory open_warehouse, telemetry::Metrics& metrics,
                                       const Clock& clock, LoadManagerOptions options)
    : m_store(store), m_registry(registry), m_lock(lock),
      m_open_warehouse(std::move(open_warehouse)), m_metrics(metrics), m_clock(clock),
      m_options(std::move(options)) {
  auto versions = [this] { return m_versions.snapshot(); };
  m_loader = std::make_unique<loader::Loader>(
      m_store, [this] { return m_versions.shared(); }, m_clock, m_metrics, m_options.loader);
  // The reporter pings the control API's warehouse connection (opened by prepare(), before
  // start() runs the reporter).
  m_reporter = std::make_unique<telemetry::Reporter>(
      m_store, versions, m_metrics, m_clock, m_options.loader.max_load_retry, [this] {
        return with_control_warehouse(
            [](warehouse::Warehouse& warehouse) { return warehouse.ping(); });
      });
}

LoadManagerService::~LoadManagerService() { join(); }

void LoadManagerService::join() { m_threads.clear(); }

bool LoadManagerService::prepare(std::stop_token stop) {
  auto migrator_warehouse =
      open_with_retry<warehouse::Warehouse>("warehouse", m_open_warehouse, stop);
  auto control_warehouse =
      migrator_warehouse
          ? open_with_retry<warehouse::Warehouse>("warehouse", m_open_warehouse, stop)
          : std::nullopt;
  if (!control_warehouse) {
    return false;
  }
  m_migrator_warehouse = std::move(*migrator_warehouse);
  m_control_warehouse = std::move(*control_warehouse);
  m_migrator =
      std::make_unique<migrator::Migrator>(*m_migrator_warehouse, m_store, m_registry, m_lock,
                                           m_versions, m_clock, m_metrics, m_options.migrator);
  // The first poll loads the version cache, so the loaders know the tables before claiming.
  if (auto first = m_migrator->poll_once(m_clock.now()); !first) {
    log::warn("first migrator poll failed; retrying on schedule",
              {{"error", first.error().message}});
  }
  if (auto resolved = with_control_warehouse(
          [&](warehouse::Warehouse& warehouse) { return m_loader->resolve_orphans(warehouse); });
      !resolved) {
    log::warn("cannot resolve orphaned batches at start; retried with the failed-load check",
              {{"error", resolved.error().message}});
  }
  return true;
}

void LoadManagerService::install_control(http::Server& server,
                                         std::function<Result<queue::QueueDepth>()> queue_depth,
                                         std::vector<std::string> routes,
                                         storer::ReplayFunction replay_rejected) {
  control::install(
      server, {.store = &m_store,
               .metrics = &m_metrics,
               .clock = &m_clock,
               .increment_version =
                   [this](std::string_view table) { return m_migrator->increment_version(table); },
               .versions = [this] { return m_versions.snapshot(); },
               .warehouse_ping =
                   [this] {
                     return with_control_warehouse(
                         [](warehouse::Warehouse& warehouse) { return warehouse.ping(); });
                   },
               .wake_loaders = [this] { wake_loaders(); },
               .registry_knows = [this](std::string_view table) -> Result<bool> {
                 RSI_TRY_ASSIGN(const auto schema, m_registry.schema(table, 0));
                 return schema.has_value();
               },
               .registry_ping = [this] { return probe_registry(); },
               .queue_depth = std::move(queue_depth),
               .routes = std::move(routes),
               .max_load_retry = m_options.loader.max_load_retry,
               .replay_rejected = std::move(replay_rejected)});
}

Result<void> LoadManagerService::probe_registry() {
  {
    const std::lock_guard lock(m_probe_mutex);
    const bool fresh =
        m_probe_at && m_clock.now() - *m_probe_at < k_registry_probe_ttl && m_probe_result;
    if (fresh || (m_probe_running && m_probe_result)) {
      return *m_probe_result;
    }
    m_probe_running = true;
  }
  // Any answer, a table it does not know included, means the registry is up.
  auto answered = m_registry.current_version(k_registry_probe_table);
  Result<void> result = answered ? Result<void>() : Result<void>(std::unexpected(answered.error()));
  const std::lock_guard lock(m_probe_mutex);
  m_probe_running = false;
  m_probe_at = m_clock.now();
  m_probe_result = result;
  return result;
}

void LoadManagerService::start(std::stop_token stop) {
  m_threads.emplace_back([this, stop](std::stop_token) { m_migrator->run(stop); });
  m_threads.emplace_back(
      [this, stop](std::stop_token) { m_reporter->run(stop, m_options.reporter_period); });
  m_threads.emplace_back([this, stop](std::stop_token) { m_loader->run_lease_keeper(stop); });
  for (int worker = 0; worker < m_options.workers; ++worker) {
    m_threads.emplace_back([this, stop](std::stop_token) {
      auto warehouse = open_with_retry<warehouse::Warehouse>("warehouse", m_open_warehouse, stop);
      if (warehouse) {
        m_loader->run_worker(**warehouse, stop);
      }
    });
  }
  if (m_options.watch_work && m_options.workers > 0) {
    m_threads.emplace_back(
        [this, stop](std::stop_token) { m_options.watch_work(stop, [this] { wake_loaders(); }); });
  }
}

} // namespace rsi::app
