// metadatastorer: N listeners move queue messages into the ingester database.
//
// Start-up never crashes on an outage: the database and the event metadata are retried
// (logged) until they answer or a stop is requested; while the event metadata is unavailable
// no message is taken from the queue.
#include "app/metadatastorer.hpp"

#include <cstdio>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/event_metadata_source.hpp"
#include "app/signals.hpp"
#include "app/startup.hpp"
#include "app/storer_service.hpp"
#include "common/log.hpp"
#include "common/sleep.hpp"
#include "config/go_flags.hpp"
#include "config/metadatastorer_config.hpp"
#include "http/curl_global.hpp"
#include "http/server.hpp"
#include "ingestdb/factory.hpp"
#include "queue/factory.hpp"
#include "registry/factory.hpp"
#include "telemetry/names.hpp"

namespace rsi::app {

using namespace std::chrono_literals;

namespace {

// Everything the configuration names, resolved before anything connects: a mistake here exits 2.
struct StorerPlan {
  ingestdb::Config ingest_db;
  queue::Config queue;
  registry::MetadataFetcher event_metadata;
  std::shared_ptr<registry::SchemaRegistry> registry; // With --registry-url only.
};

Result<StorerPlan> make_plan(const config::MetadatastorerConfig& config,
                             std::shared_ptr<http::CredentialsProvider> credentials) {
  RSI_TRY_ASSIGN(const auto database_url, with_tls_default(config.database_url, config.env));
  RSI_TRY_ASSIGN(auto ingest_db,
                 ingestdb::config_from_url(database_url, config.max_db_connections,
                                           {.loaded_key_history = config.loaded_key_history}));
  RSI_TRY_ASSIGN(auto queue, queue::parse_queue_url(config.queue_url));
  RSI_TRY_ASSIGN(auto fetcher, make_metadata_fetcher(config.event_metadata_url, config.aws,
                                                     config.env, std::move(credentials)));
  if (auto* sqs = std::get_if<queue::SqsConfig>(&queue)) {
    sqs->aws = config.aws;
    sqs->visibility_timeout = config.visibility_timeout;
  } else if (auto* local = std::get_if<queue::LocalConfig>(&queue)) {
    local->visibility_timeout = config.visibility_timeout.value_or(local->visibility_timeout);
    local->max_message_bytes = config.max_message_bytes;
  }
  std::shared_ptr<registry::SchemaRegistry> schemas;
  if (!config.registry_url.empty()) {
    RSI_TRY_ASSIGN(const auto registry_config, registry::config_from_url(config.registry_url));
    RSI_TRY_ASSIGN(schemas, registry::make_schema_registry(registry_config));
  }
  return StorerPlan{std::move(ingest_db), std::move(queue), std::move(fetcher), std::move(schemas)};
}

// What a route without a version records: the registry's current version (nullptr: no registry,
// and then no such route passed the configuration's checks).
storer::CurrentVersion current_version_of(std::shared_ptr<registry::SchemaRegistry> registry) {
  if (!registry) {
    return {};
  }
  return [registry = std::move(registry)](std::string_view table) {
    return registry->current_version(table);
  };
}

// GET /health (every listener's problems and the database's) and GET /metrics.
void install_health(http::Server& health, StorerService& service, ingestdb::IngestDb& store,
                    telemetry::Metrics& metrics, const std::vector<core::Route>& routes) {
  health.route("GET", "/health", [&](const http::ServerRequest&) {
    std::vector<std::string> problems = service.problems();
    if (auto ping = store.ping(); !ping) {
      problems.push_back("ingester database: " + ping.error().message);
    }
    if (problems.empty()) {
      return http::ServerResponse{
          .body = nlohmann::json{{"Status", "ok"}, {"Routes", core::route_texts(routes)}}.dump()};
    }
    return http::ServerResponse{
        .status = 503, .body = http::error_body(fmt::format("{}", fmt::join(problems, "; ")))};
  });
  health.route("GET", "/metrics", [&](const http::ServerRequest&) {
    return http::ServerResponse{.content_type = "text/plain; version=0.0.4",
                                .body = metrics.prometheus_text()};
  });
}

int serve(const config::MetadatastorerConfig& config, Daemon& daemon) {
  auto credentials = http::make_default_credentials_provider(config.env, daemon.clock);
  auto plan = make_plan(config, credentials);
  if (!plan) {
    log::error("bad configuration", {{"error", plan.error().message}});
    return k_exit_config_error;
  }
  auto store = open_with_retry<ingestdb::IngestDb>(
      "ingester database", [&] { return ingestdb::make_ingest_db(plan->ingest_db); }, daemon.stop);
  if (!store) {
    return daemon.stop.stop_requested() ? 0 : k_exit_startup_error;
  }
  registry::EventMetadataCache tables(plan->event_metadata, daemon.clock,
                                      {.reload_every = config.metadata_reload});
  StorerService service(
      **store, tables, daemon.metrics, daemon.clock,
      {.queue = plan->queue,
       .listeners = config.listener_count,
       .storer = {.wait = std::chrono::duration_cast<std::chrono::seconds>(
                      std::clamp<std::chrono::milliseconds>(config.poll_wait, 0ms,
                                                            queue::k_max_wait)),
                  .keep_rejected_in_queue = config.keep_rejected_in_queue,
                  .unknown_table_retry = config.unknown_table_retry,
                  .unknown_table_wait = config.unknown_table_wait,
                  .routing = {.routes = config.routes,
                              .current_version = current_version_of(plan->registry)}},
       .metadata_retry_delay = config.metadata_retry_delay,
       .env = config.env,
       .credentials = credentials});
  http::Server health;
  if (!config.health_addr.empty()) {
    install_health(health, service, **store, daemon.metrics, config.routes);
    if (auto started = start_server(health, config.health_addr); !started) {
      log::error("cannot serve /health",
                 {{"address", config.health_addr}, {"error", started.error().message}});
      return k_exit_startup_error;
    }
  }
  if (!service.start(daemon.stop)) {
    return 0; // Stopped while waiting for the event metadata.
  }
  log::info("metadatastorer started", {{"listeners", config.listener_count},
                                       {"queue", config.queue_url},
                                       {"event_metadata", config.event_metadata_url},
                                       {"routes", core::route_texts(config.routes)}});
  while (sleep_unless_stopped(daemon.stop, 1s)) {
  }
  service.join(); // Each listener finishes its batch first.
  health.stop();
  log::info("metadatastorer stopped");
  return 0;
}

} // namespace

int run_metadatastorer(int argc, char** argv) {
  return run_daemon<config::MetadatastorerConfig>("metadatastorer", config::load_metadatastorer,
                                                  argc, argv, serve);
}

} // namespace rsi::app
