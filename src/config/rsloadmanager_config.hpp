#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "config/control_api_config.hpp"
#include "core/route.hpp"
#include "http/aws_settings.hpp"
#include "ingestdb/postgres_ingest_db.hpp"
#include "loader/loader.hpp"
#include "migrator/migrator.hpp"
#include "telemetry/rollbar.hpp"
#include "warehouse/warehouse.hpp"

namespace rsi::config {

// Everything rsloadmanager needs, from flags (the original's names and defaults plus new
// ones), the -config JSON file and the environment. docs/configuration.md describes each.
struct RsloadmanagerConfig {
  std::string database_url;                                                    // -databaseURL
  std::size_t max_db_connections = ingestdb::PostgresConfig{}.max_connections; // -maxDBConnections
  std::string warehouse_url;   // -config's redshift.url, -rsURL or --warehouse-url
  warehouse::Layout layout;    // -config's redshift object
  std::string manifest_bucket; // -manifestBucket (Redshift COPY manifests)
  std::string iam_role;        // --iam-role: COPY with IAM_ROLE instead of keys
  std::optional<bool>
      redshift_system_tables;        // --redshift-system-tables on|off (unset: by the host)
  std::string objects_url;           // --objects-url file:///dir: batch files in bucket folders
  std::string registry_url;          // -blueprint_host or --registry-url (file:///schemas)
  int workers = 5;                   // -n_workers (0: no loads)
  loader::LoaderConfig loader;       // -loadCountTrigger, -loadAgeSeconds, -no_work_delay, …
  migrator::MigratorConfig migrator; // -migratorPollPeriod, -waitProcessorPeriod, offpeak, timeouts
  std::chrono::milliseconds reporter_period{std::chrono::minutes(1)}; // -reporterPollPeriod
  int max_db_retry = 10; // -max_db_retry (accepted; retries are by backoff now)
  std::string stats_prefix = "ingester";
  std::optional<std::string> statsd_address; // STATSD_HOSTPORT
  ControlApiConfig control{
      .address = "localhost:8080"}; // --control-addr ("" disables), --control-token, …
  std::string queue_url; // --queue-url: the queue whose depth /control/status shows ("": none)
  // What POST /control/rejected/replay checks messages with, as metadatastorer does: the event
  // metadata (--event-metadata-url s3://bucket/key or file:///path; "": the endpoint answers
  // 501) and the --route rules.
  std::string event_metadata_url;
  std::vector<core::Route> routes;
  log::Config log;                  // --log-level, --env (else CLOUD_ENVIRONMENT)
  telemetry::RollbarConfig rollbar; // -rollbarToken, -rollbarEnvironment, --rollbar-endpoint
  http::AwsConfig aws;
  http::Environment env;
};

// Parse and validate; throws ConfigError (naming the setting) or HelpRequested.
RsloadmanagerConfig load_rsloadmanager(int argc, const char* const* argv, http::Environment env);

} // namespace rsi::config
