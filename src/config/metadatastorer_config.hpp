#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "core/route.hpp"
#include "http/aws_settings.hpp"
#include "ingestdb/postgres_ingest_db.hpp"
#include "queue/local_queue.hpp"
#include "storer/storer.hpp"
#include "telemetry/rollbar.hpp"

namespace rsi::config {

// Everything metadatastorer needs, from flags (the original's names plus new ones) and the
// environment snapshot. docs/configuration.md describes each.
struct MetadatastorerConfig {
  std::string database_url; // -databaseURL: postgres://… or sqlite:///path
  std::size_t max_db_connections = ingestdb::PostgresConfig{}.max_connections; // -maxDBConnections
  std::string queue_url;                       // -sqsQueueName NAME (→ sqs://NAME) or --queue-url
  std::chrono::milliseconds poll_wait{30'000}; // -sqsPollWait (long polls are capped at 20 s)
  int listener_count = 1;                      // -listenerCount
  std::string stats_prefix = "metadatastorer"; // -statsPrefix
  std::optional<std::string> statsd_address;   // STATSD_HOSTPORT
  std::string event_metadata_url; // s3://bpConfigsBucket/bpMetadataConfigsKey or file:///…
  std::chrono::milliseconds metadata_reload{std::chrono::minutes(5)}; // -bpMetadataReloadFrequency
  std::chrono::milliseconds metadata_retry_delay{2'000};              // -bpMetadataRetryDelay
  bool keep_rejected_in_queue = false;                                // --keep-rejected-in-queue
  std::optional<std::chrono::seconds> visibility_timeout; // --visibility-timeout (else the queue's)
  std::chrono::hours loaded_key_history{24 * 7};          // --loaded-key-history
  std::chrono::seconds unknown_table_wait =
      storer::StorerConfig{}.unknown_table_wait; // --unknown-table-wait
  std::chrono::seconds unknown_table_retry =
      storer::StorerConfig{}.unknown_table_retry; // --unknown-table-retry
  // --max-message-bytes (a dir:// inbox; SQS has its own)
  std::size_t max_message_bytes = queue::LocalConfig{}.max_message_bytes;
  std::string health_addr = "127.0.0.1:7767"; // --health-addr host:port ("" disables)
  std::vector<core::Route> routes;            // --route, for S3's event notifications
  std::string registry_url;         // --registry-url: the current version for routes without one
  log::Config log;                  // --log-level, --env (else CLOUD_ENVIRONMENT)
  telemetry::RollbarConfig rollbar; // -rollbarToken, -rollbarEnvironment, --rollbar-endpoint
  http::AwsConfig aws;              // --aws-region, --aws-endpoint
  http::Environment env;            // The process environment at startup.
};

// Parse and validate; throws ConfigError (bad or missing settings, named) or HelpRequested.
MetadatastorerConfig load_metadatastorer(int argc, const char* const* argv, http::Environment env);

} // namespace rsi::config
