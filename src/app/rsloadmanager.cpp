// rsloadmanager: wires the ingester database, the warehouse (one connection per worker, one
// for the migrator, one for the control API), the schema registry and the object stores. With a
// PostgreSQL ingester database, one more connection listens for the work other processes make
// due (recorded files, force loads, released batches) and wakes the idle workers.
// Start-up retries unreachable backends (logged) instead of crashing; orphaned batches are
// resolved before the first claim.
#include "app/rsloadmanager.hpp"

#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "app/event_metadata_source.hpp"
#include "app/load_manager_service.hpp"
#include "app/object_stores.hpp"
#include "app/replay_setup.hpp"
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
std::function<Result<queue::QueueDepth>()>
queue_depth_source(const std::optional<queue::Config>& config, const Clock& clock,
                   const http::Environment& env,
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

// Everything the configuration names, resolved before anything connects: a mistake here exits 2
// at once. The warehouse configuration refers to `local_objects` and to the bucket stores.
struct LoadManagerPlan {
  std::unique_ptr<objectstore::ObjectStore> local_objects; // --objects-url: batch files on disk.
  ingestdb::Config ingest_db;
  warehouse::Config warehouse;
  std::unique_ptr<registry::SchemaRegistry> registry;
  std::optional<queue::Config> queue; // --queue-url: the queue whose depth the status shows.
  // --event-metadata-url: the replay of rejected messages checks them with it.
  std::optional<registry::MetadataFetcher> event_metadata;
};

// Where batch files are read from, and where Redshift manifests go.
Result<warehouse::Config> plan_warehouse(const config::RsloadmanagerConfig& config,
                                         BucketStores& buckets,
                                         std::shared_ptr<http::CredentialsProvider> credentials,
                                         LoadManagerPlan& plan) {
  warehouse::FileLocator files = buckets.locator();
  if (!config.objects_url.empty()) {
    RSI_TRY_ASSIGN(const auto objects_config,
                   with_context(objectstore::config_from_url(config.objects_url, config.env),
                                "--objects-url"));
    RSI_TRY_ASSIGN(plan.local_objects, objectstore::make_object_store(objects_config));
    files = warehouse::locate_in_bucket_folders(*plan.local_objects);
  }
  objectstore::ObjectStore* manifests = nullptr;
  if (!config.manifest_bucket.empty()) {
    RSI_TRY_ASSIGN(manifests,
                   with_context(buckets.bucket(config.manifest_bucket), "-manifestBucket"));
  }
  RSI_TRY_ASSIGN(const auto warehouse_url, with_tls_default(config.warehouse_url, config.env));
  return warehouse::config_from_url(warehouse_url, config.layout,
                                    {.files = files,
                                     .manifests = manifests,
                                     .manifest_bucket = config.manifest_bucket,
                                     .iam_role = config.iam_role,
                                     .credentials = std::move(credentials),
                                     .system_tables = config.redshift_system_tables});
}

Result<LoadManagerPlan> make_plan(const config::RsloadmanagerConfig& config, BucketStores& buckets,
                                  std::shared_ptr<http::CredentialsProvider> credentials) {
  LoadManagerPlan plan;
  if (!config.event_metadata_url.empty()) {
    RSI_TRY_ASSIGN(plan.event_metadata,
                   with_context(make_metadata_fetcher(config.event_metadata_url, config.aws,
                                                      config.env, credentials),
                                "--event-metadata-url"));
  }
  RSI_TRY_ASSIGN(plan.warehouse, plan_warehouse(config, buckets, std::move(credentials), plan));
  RSI_TRY_ASSIGN(const auto database_url, with_tls_default(config.database_url, config.env));
  RSI_TRY_ASSIGN(plan.ingest_db,
                 ingestdb::config_from_url(database_url, config.max_db_connections));
  RSI_TRY_ASSIGN(const auto registry_config, registry::config_from_url(config.registry_url));
  RSI_TRY_ASSIGN(plan.registry, registry::make_schema_registry(registry_config));
  if (!config.queue_url.empty()) {
    RSI_TRY_ASSIGN(plan.queue,
                   with_context(queue::parse_queue_url(config.queue_url), "--queue-url"));
    if (auto* sqs = std::get_if<queue::SqsConfig>(&*plan.queue)) {
      sqs->aws = config.aws;
    }
  }
  return plan;
}

int serve(const config::RsloadmanagerConfig& config, Daemon& daemon) {
  auto credentials = http::make_default_credentials_provider(config.env, daemon.clock);
  BucketStores buckets(config.aws, config.env, credentials);
  auto plan = make_plan(config, buckets, credentials);
  if (!plan) {
    log::error("bad configuration", {{"error", plan.error().message}});
    return k_exit_config_error;
  }
  const std::stop_token stop = daemon.stop;
  auto store = open_with_retry<ingestdb::IngestDb>(
      "ingester database", [&] { return ingestdb::make_ingest_db(plan->ingest_db); }, stop);
  auto lock = store ? open_with_retry<ingestdb::MigratorLock>(
                          "migrator lock",
                          [&] { return ingestdb::make_migrator_lock(plan->ingest_db); }, stop)
                    : std::nullopt;
  if (!lock) {
    return stop.stop_requested() ? 0 : k_exit_startup_error;
  }
  LoadManagerService service(
      **store, *plan->registry, **lock, [&] { return warehouse::make_warehouse(plan->warehouse); },
      daemon.metrics, daemon.clock,
      {.workers = config.workers,
       .loader = config.loader,
       .migrator = config.migrator,
       .reporter_period = config.reporter_period,
       .watch_work = [&ingest_db = plan->ingest_db](std::stop_token until,
                                                    const std::function<void()>& wake) {
         ingestdb::watch_for_work(ingest_db, wake, std::move(until));
       }});
  if (!service.prepare(stop)) {
    return stop.stop_requested() ? 0 : k_exit_startup_error;
  }
  // POST /control/rejected/replay checks messages as metadatastorer does, when this process has
  // the event metadata; the metadata is loaded by the first replay.
  std::optional<registry::EventMetadataCache> tables;
  std::unique_ptr<storer::Replayer> replayer;
  if (plan->event_metadata) {
    tables.emplace(*plan->event_metadata, daemon.clock, registry::EventMetadataOptions{});
    replayer = make_replayer(**store, *tables, plan->registry.get(), config.routes, daemon.clock,
                             daemon.metrics);
  }
  http::Server control(control_server_options(config.control));
  if (!config.control.address.empty()) {
    service.install_control(control,
                            queue_depth_source(plan->queue, daemon.clock, config.env, credentials),
                            core::route_texts(config.routes),
                            replayer ? replay_function(*replayer) : storer::ReplayFunction());
    if (auto started = start_server(control, config.control.address); !started) {
      log::error("cannot serve the control API",
                 {{"address", config.control.address}, {"error", started.error().message}});
      return k_exit_startup_error;
    }
  }
  service.start(stop);
  log::info("rsloadmanager started",
            {{"workers", config.workers},
             {"warehouse", config.warehouse_url.substr(0, config.warehouse_url.find(':'))},
             {"registry", config.registry_url}});
  while (sleep_unless_stopped(stop, std::chrono::seconds(1))) {
  }
  service.join(); // In-flight loads finish first.
  control.stop();
  log::info("rsloadmanager stopped");
  return 0;
}

} // namespace

int run_rsloadmanager(int argc, char** argv) {
  return run_daemon<config::RsloadmanagerConfig>(
      "rsloadmanager", config::load_rsloadmanager, argc, argv,
      [](const config::RsloadmanagerConfig& config, Daemon& daemon) {
        warn_if_exposed("rsloadmanager", config.control);
        return serve(config, daemon);
      });
}

} // namespace rsi::app
