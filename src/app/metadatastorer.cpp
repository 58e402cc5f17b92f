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
#include "app/storer_service.hpp"
#include "app/startup.hpp"
#include "common/log.hpp"
#include "common/sleep.hpp"
#include "config/go_flags.hpp"
#include "config/metadatastorer_config.hpp"
#include "http/curl_global.hpp"
#include "http/server.hpp"
#include "ingestdb/factory.hpp"
#include "queue/factory.hpp"
#include "telemetry/names.hpp"

namespace rsi::app {

using namespace std::chrono_literals;

int run_metadatastorer(int argc, char** argv) {
  keep_new_files_private();
  StopOnSignals signals; // Before any thread starts.
  http::CurlGlobal curl;

  int exit_code = 0;
  const auto loaded = load_config<config::MetadatastorerConfig>("metadatastorer", config::load_metadatastorer, argc, argv, exit_code);
  if (!loaded) {
    return exit_code;
  }
  const config::MetadatastorerConfig& config = *loaded;
  log::init(config.log);
  const std::stop_token stop = signals.token();
  SystemClock clock;
  // Declared after `clock`, so it is destroyed (and drained) before it, after the last line.
  const auto rollbar = start_rollbar(config.rollbar, clock);

  auto metrics = make_metrics(config.stats_prefix, config.statsd_address);
  if (!metrics) {
    log::error("startup failed", {{"error", metrics.error().message}});
    return k_exit_config_error;
  }

  const auto database_url = with_tls_default(config.database_url, config.env);
  if (!database_url) {
    log::error("bad configuration", {{"error", database_url.error().message}});
    return k_exit_config_error;
  }
  auto ingest_db_config = ingestdb::config_from_url(*database_url, config.max_db_connections,
                                                   {.loaded_key_history = config.loaded_key_history});
  auto queue_config = queue::parse_queue_url(config.queue_url);
  auto credentials = http::make_default_credentials_provider(config.env, clock);
  auto fetcher = make_metadata_fetcher(config.event_metadata_url, config.aws, config.env, credentials);
  for (const Error* error : {ingest_db_config ? nullptr : &ingest_db_config.error(),
                             queue_config ? nullptr : &queue_config.error(), fetcher ? nullptr : &fetcher.error()}) {
    if (error != nullptr) {
      log::error("bad configuration", {{"error", error->message}});
      return k_exit_config_error;
    }
  }
  if (auto* sqs = std::get_if<queue::SqsConfig>(&*queue_config)) {
    sqs->aws = config.aws;
    sqs->visibility_timeout = config.visibility_timeout;
  } else if (auto* local = std::get_if<queue::LocalConfig>(&*queue_config)) {
    local->visibility_timeout = config.visibility_timeout.value_or(local->visibility_timeout);
    local->max_message_bytes = config.max_message_bytes;
  }

  auto store = open_with_retry<ingestdb::IngestDb>(
      "ingester database", [&] { return ingestdb::make_ingest_db(*ingest_db_config); }, stop);
  if (!store) {
    return stop.stop_requested() ? 0 : k_exit_startup_error;
  }

  registry::EventMetadataCache tables(*fetcher, clock, {.reload_every = config.metadata_reload});
  StorerService service(**store, tables, **metrics, clock,
                        {.queue = *queue_config,
                         .listeners = config.listener_count,
                         .storer = {.wait = std::chrono::duration_cast<std::chrono::seconds>(
                                        std::clamp<std::chrono::milliseconds>(config.poll_wait, 0ms, queue::k_max_wait)),
                                    .keep_rejected_in_queue = config.keep_rejected_in_queue,
                                    .unknown_table_retry = config.unknown_table_retry,
                                    .unknown_table_wait = config.unknown_table_wait},
                         .metadata_retry_delay = config.metadata_retry_delay,
                         .env = config.env,
                         .credentials = credentials});

  http::Server health;
  if (!config.health_addr.empty()) {
    health.route("GET", "/health", [&](const http::ServerRequest&) {
      std::vector<std::string> problems = service.problems();
      if (auto ping = (*store)->ping(); !ping) {
        problems.push_back("ingester database: " + ping.error().message);
      }
      if (problems.empty()) {
        return http::ServerResponse{.body = R"({"Status":"ok"})"};
      }
      return http::ServerResponse{.status = 503, .body = http::error_body(fmt::format("{}", fmt::join(problems, "; ")))};
    });
    health.route("GET", "/metrics", [&](const http::ServerRequest&) {
      return http::ServerResponse{.content_type = "text/plain; version=0.0.4", .body = (*metrics)->prometheus_text()};
    });
    if (auto started = start_server(health, config.health_addr); !started) {
      log::error("cannot serve /health", {{"address", config.health_addr}, {"error", started.error().message}});
      return k_exit_startup_error;
    }
  }

  if (!service.start(stop)) {
    return 0; // Stopped while waiting for the event metadata.
  }
  log::info("metadatastorer started",
            {{"listeners", config.listener_count}, {"queue", config.queue_url}, {"event_metadata", config.event_metadata_url}});
  while (sleep_unless_stopped(stop, 1s)) {
  }
  service.join(); // Each listener finishes its batch first.
  health.stop();
  log::info("metadatastorer stopped");
  return 0;
}

} // namespace rsi::app
