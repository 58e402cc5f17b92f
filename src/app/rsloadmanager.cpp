// rsloadmanager: wires the ingester database, the warehouse (one connection per worker, one
// for the migrator, one for the control API), the schema registry and the object stores.
// Start-up retries unreachable backends (logged) instead of crashing; orphaned batches are
// resolved before the first claim.
#include "app/rsloadmanager.hpp"

#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "app/object_stores.hpp"
#include "app/signals.hpp"
#include "app/startup.hpp"
#include "common/log.hpp"
#include "config/go_flags.hpp"
#include "config/rsloadmanager_config.hpp"
#include "control/control_api.hpp"
#include "http/curl_global.hpp"
#include "http/server.hpp"
#include "loader/loader.hpp"
#include "metadata/factory.hpp"
#include "migrator/migrator.hpp"
#include "migrator/version_cache.hpp"
#include "objectstore/factory.hpp"
#include "registry/factory.hpp"
#include "telemetry/reporter.hpp"
#include "warehouse/factory.hpp"

namespace rsi::app {
namespace {

// A warehouse connection shared by the control API's threads.
class SharedWarehouse {
public:
  explicit SharedWarehouse(std::unique_ptr<warehouse::Warehouse> warehouse) : m_warehouse(std::move(warehouse)) {}
  template <class Work>
  auto with(Work&& work) {
    const std::lock_guard lock(m_mutex);
    return std::forward<Work>(work)(*m_warehouse);
  }

private:
  std::mutex m_mutex;
  std::unique_ptr<warehouse::Warehouse> m_warehouse;
};

} // namespace

int run_rsloadmanager(int argc, char** argv) {
  StopOnSignals signals; // Before any thread starts.
  http::CurlGlobal curl;

  config::RsloadmanagerConfig config;
  try {
    config = config::load_rsloadmanager(argc, argv, http::process_environment());
  } catch (const config::HelpRequested& help) {
    std::fputs(help.what(), stdout);
    return 0;
  } catch (const config::ConfigError& error) {
    std::fprintf(stderr, "rsloadmanager: %s\n", error.what());
    return k_exit_config_error;
  }
  log::init(config.log);
  const std::stop_token stop = signals.token();
  SystemClock clock;

  auto metrics = make_metrics(config.stats_prefix, config.statsd_address);
  if (!metrics) {
    log::error("startup failed", {{"error", metrics.error().message}});
    return k_exit_config_error;
  }
  auto credentials = http::make_default_credentials_provider(config.env, clock);
  BucketStores buckets(config.aws, config.env, credentials);

  // Where batch files are read from, and where Redshift manifests go.
  std::unique_ptr<objectstore::ObjectStore> local_objects;
  warehouse::FileLocator files = buckets.locator();
  if (!config.objects_url.empty()) {
    auto objects_config = objectstore::config_from_url(config.objects_url, config.env);
    auto objects = objects_config ? objectstore::make_object_store(*objects_config)
                                  : Result<std::unique_ptr<objectstore::ObjectStore>>(fail(objects_config.error()));
    if (!objects) {
      log::error("bad configuration", {{"setting", "--objects-url"}, {"error", objects.error().message}});
      return k_exit_config_error;
    }
    local_objects = std::move(*objects);
    files = warehouse::locate_in_bucket_folders(*local_objects);
  }
  objectstore::ObjectStore* manifests = nullptr;
  if (!config.manifest_bucket.empty()) {
    auto store = buckets.bucket(config.manifest_bucket);
    if (!store) {
      log::error("bad configuration", {{"setting", "-manifestBucket"}, {"error", store.error().message}});
      return k_exit_config_error;
    }
    manifests = *store;
  }

  auto metadata_config = metadata::config_from_url(config.database_url, config.max_db_connections);
  auto warehouse_config = warehouse::config_from_url(config.warehouse_url, config.layout,
                                                     {.files = files,
                                                      .manifests = manifests,
                                                      .manifest_bucket = config.manifest_bucket,
                                                      .iam_role = config.iam_role,
                                                      .credentials = credentials});
  auto registry_config = registry::config_from_url(config.registry_url);
  for (const Error* error : {metadata_config ? nullptr : &metadata_config.error(),
                             warehouse_config ? nullptr : &warehouse_config.error(),
                             registry_config ? nullptr : &registry_config.error()}) {
    if (error != nullptr) {
      log::error("bad configuration", {{"error", error->message}});
      return k_exit_config_error;
    }
  }
  auto registry = registry::make_schema_registry(*registry_config);
  if (!registry) {
    log::error("bad configuration", {{"error", registry.error().message}});
    return k_exit_config_error;
  }

  auto open_warehouse = [&] { return warehouse::make_warehouse(*warehouse_config); };
  auto store = open_with_retry<metadata::MetadataStore>(
      "ingester database", [&] { return metadata::make_metadata_store(*metadata_config); }, stop);
  auto lock = store ? open_with_retry<metadata::MigratorLock>(
                          "migrator lock", [&] { return metadata::make_migrator_lock(*metadata_config); }, stop)
                    : std::nullopt;
  auto migrator_warehouse = lock ? open_with_retry<warehouse::Warehouse>("warehouse", open_warehouse, stop) : std::nullopt;
  auto control_warehouse =
      migrator_warehouse ? open_with_retry<warehouse::Warehouse>("warehouse", open_warehouse, stop) : std::nullopt;
  if (!control_warehouse) {
    return stop.stop_requested() ? 0 : k_exit_startup_error;
  }

  migrator::VersionCache versions;
  migrator::Migrator migrator(**migrator_warehouse, **store, **registry, **lock, versions, clock, **metrics,
                              config.migrator);
  // The first poll loads the version cache, so the loaders know the tables before claiming.
  if (auto first = migrator.poll_once(clock.now()); !first) {
    log::warn("first migrator poll failed; retrying on schedule", {{"error", first.error().message}});
  }
  loader::Loader loader(**store, [&versions] { return versions.snapshot(); }, clock, **metrics, config.loader);
  SharedWarehouse shared_warehouse(std::move(*control_warehouse));
  if (auto resolved = shared_warehouse.with([&](warehouse::Warehouse& warehouse) {
        return loader.resolve_orphans(warehouse);
      });
      !resolved) {
    log::warn("cannot resolve orphaned batches at start; retried with the failed-load check",
              {{"error", resolved.error().message}});
  }

  http::Server control;
  if (!config.control_addr.empty()) {
    control::install(control, {.store = store->get(),
                               .metrics = metrics->get(),
                               .clock = &clock,
                               .table_exists =
                                   [&](std::string_view table) {
                                     return shared_warehouse.with(
                                         [&](warehouse::Warehouse& warehouse) { return warehouse.table_exists(table); });
                                   },
                               .increment_version = [&](std::string_view table) { return migrator.increment_version(table); },
                               .versions = [&versions] { return versions.snapshot(); },
                               .warehouse_ping =
                                   [&] {
                                     return shared_warehouse.with(
                                         [](warehouse::Warehouse& warehouse) { return warehouse.ping(); });
                                   },
                               .wake_loaders = [&loader] { loader.wake(); },
                               .max_load_retry = config.loader.max_load_retry,
                               .token = config.control_token});
    auto address = http::split_host_port(config.control_addr);
    auto started = address ? control.start(address->first == "localhost" ? "127.0.0.1" : address->first, address->second)
                           : Result<void>(fail(address.error()));
    if (!started) {
      log::error("cannot serve the control API", {{"address", config.control_addr}, {"error", started.error().message}});
      return k_exit_startup_error;
    }
    log::info("control API listening", {{"address", config.control_addr}, {"port", control.port()}});
  }

  std::vector<std::jthread> threads;
  threads.emplace_back([&](std::stop_token) { migrator.run(stop); });
  telemetry::Reporter reporter(**store, [&versions] { return versions.snapshot(); }, **metrics, clock,
                               config.loader.max_load_retry);
  threads.emplace_back([&](std::stop_token) { reporter.run(stop, config.reporter_period); });
  threads.emplace_back([&](std::stop_token) { loader.run_lease_keeper(stop); });
  for (int worker = 0; worker < config.workers; ++worker) {
    threads.emplace_back([&](std::stop_token) {
      auto warehouse = open_with_retry<warehouse::Warehouse>("warehouse", open_warehouse, stop);
      if (warehouse) {
        loader.run_worker(**warehouse, stop);
      }
    });
  }
  log::info("rsloadmanager started", {{"workers", config.workers}, {"warehouse", warehouse_config->backend.index()},
                                      {"registry", config.registry_url}});

  while (sleep_unless_stopped(stop, std::chrono::seconds(1))) {
  }
  threads.clear(); // Joins: in-flight loads finish first.
  control.stop();
  log::info("rsloadmanager stopped");
  return 0;
}

} // namespace rsi::app
