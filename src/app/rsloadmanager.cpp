// rsloadmanager: wires the ingester database, the warehouse (one connection per worker, one
// for the migrator, one for the control API), the schema registry and the object stores.
// Start-up retries unreachable backends (logged) instead of crashing; orphaned batches are
// resolved before the first claim.
#include "app/rsloadmanager.hpp"

#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "app/load_manager_service.hpp"
#include "app/object_stores.hpp"
#include "app/signals.hpp"
#include "app/startup.hpp"
#include "common/log.hpp"
#include "config/go_flags.hpp"
#include "config/rsloadmanager_config.hpp"
#include "http/curl_global.hpp"
#include "http/server.hpp"
#include "ingestdb/factory.hpp"
#include "objectstore/factory.hpp"
#include "queue/factory.hpp"
#include "registry/factory.hpp"
#include "warehouse/factory.hpp"

namespace rsi::app {

namespace {

// The depth of the metadatastorer's queue for /control/status: one queue, opened at the first
// request (a queue that is down never holds the daemon up), shared by the server's threads.
std::function<Result<queue::QueueDepth>()> queue_depth_source(const std::optional<queue::Config>& config,
                                                              const Clock& clock, const http::Environment& env,
                                                              std::shared_ptr<http::CredentialsProvider> credentials) {
  if (!config) {
    return {};
  }
  struct Shared {
    std::mutex mutex;
    std::unique_ptr<queue::Queue> queue;
  };
  auto shared = std::make_shared<Shared>();
  return [shared, config = *config, &clock, env, credentials]() -> Result<queue::QueueDepth> {
    const std::lock_guard lock(shared->mutex);
    if (!shared->queue) {
      RSI_TRY_ASSIGN(shared->queue, queue::make_queue(config, clock, env, credentials));
    }
    return shared->queue->depth();
  };
}

} // namespace

int run_rsloadmanager(int argc, char** argv) {
  keep_new_files_private();
  StopOnSignals signals; // Before any thread starts.
  http::CurlGlobal curl;

  int exit_code = 0;
  const auto loaded = load_config<config::RsloadmanagerConfig>("rsloadmanager", config::load_rsloadmanager, argc, argv, exit_code);
  if (!loaded) {
    return exit_code;
  }
  const config::RsloadmanagerConfig& config = *loaded;
  log::init(config.log);
  warn_if_exposed("rsloadmanager", config.control);
  const std::stop_token stop = signals.token();
  SystemClock clock;
  // Declared after `clock`, so it is destroyed (and drained) before it, after the last line.
  const auto rollbar = start_rollbar(config.rollbar, clock);

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

  const auto database_url = with_tls_default(config.database_url, config.env);
  const auto warehouse_url = with_tls_default(config.warehouse_url, config.env);
  if (!database_url || !warehouse_url) {
    log::error("bad configuration", {{"error", (database_url ? warehouse_url : database_url).error().message}});
    return k_exit_config_error;
  }
  auto ingest_db_config = ingestdb::config_from_url(*database_url, config.max_db_connections);
  auto warehouse_config = warehouse::config_from_url(*warehouse_url, config.layout,
                                                     {.files = files,
                                                      .manifests = manifests,
                                                      .manifest_bucket = config.manifest_bucket,
                                                      .iam_role = config.iam_role,
                                                      .credentials = credentials,
                                                      .system_tables = config.redshift_system_tables});
  auto registry_config = registry::config_from_url(config.registry_url);
  for (const Error* error : {ingest_db_config ? nullptr : &ingest_db_config.error(),
                             warehouse_config ? nullptr : &warehouse_config.error(),
                             registry_config ? nullptr : &registry_config.error()}) {
    if (error != nullptr) {
      log::error("bad configuration", {{"error", error->message}});
      return k_exit_config_error;
    }
  }
  std::optional<queue::Config> queue_config;
  if (!config.queue_url.empty()) {
    auto parsed = queue::parse_queue_url(config.queue_url);
    if (!parsed) {
      log::error("bad configuration", {{"setting", "--queue-url"}, {"error", parsed.error().message}});
      return k_exit_config_error;
    }
    if (auto* sqs = std::get_if<queue::SqsConfig>(&*parsed)) {
      sqs->aws = config.aws;
    }
    queue_config = std::move(*parsed);
  }
  auto registry = registry::make_schema_registry(*registry_config);
  if (!registry) {
    log::error("bad configuration", {{"error", registry.error().message}});
    return k_exit_config_error;
  }

  auto store = open_with_retry<ingestdb::IngestDb>(
      "ingester database", [&] { return ingestdb::make_ingest_db(*ingest_db_config); }, stop);
  auto lock = store ? open_with_retry<ingestdb::MigratorLock>(
                          "migrator lock", [&] { return ingestdb::make_migrator_lock(*ingest_db_config); }, stop)
                    : std::nullopt;
  if (!lock) {
    return stop.stop_requested() ? 0 : k_exit_startup_error;
  }
  LoadManagerService service(**store, **registry, **lock, [&] { return warehouse::make_warehouse(*warehouse_config); },
                             **metrics, clock,
                             {.workers = config.workers,
                              .loader = config.loader,
                              .migrator = config.migrator,
                              .reporter_period = config.reporter_period});
  if (!service.prepare(stop)) {
    return stop.stop_requested() ? 0 : k_exit_startup_error;
  }
  http::Server control(control_server_options(config.control));
  if (!config.control.address.empty()) {
    service.install_control(control, queue_depth_source(queue_config, clock, config.env, credentials));
    if (auto started = start_server(control, config.control.address); !started) {
      log::error("cannot serve the control API",
                 {{"address", config.control.address}, {"error", started.error().message}});
      return k_exit_startup_error;
    }
  }
  service.start(stop);
  log::info("rsloadmanager started", {{"workers", config.workers}, {"warehouse", config.warehouse_url.substr(0, config.warehouse_url.find(':'))},
                                      {"registry", config.registry_url}});
  while (sleep_unless_stopped(stop, std::chrono::seconds(1))) {
  }
  service.join(); // In-flight loads finish first.
  control.stop();
  log::info("rsloadmanager stopped");
  return 0;
}

} // namespace rsi::app
