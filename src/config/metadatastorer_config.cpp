#include "config/metadatastorer_config.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "config/cli.hpp"
#include "config/go_flags.hpp"
#include "storer/storer.hpp"

namespace rsi::config {
MetadatastorerConfig load_metadatastorer(int argc, const char* const* argv, http::Environment env) {
  MetadatastorerConfig config;
  std::string sqs_queue_name;
  std::string poll_wait = "30s";
  std::string reload = "5m";
  std::string retry_delay = "2s";
  std::string bp_bucket;
  std::string bp_key;
  std::string log_level = "info";
  int history_hours = 24 * 7;

  CLI::App app{"metadatastorer: records the file pointers announced on a queue in the ingester database.\n"
               "Flags take one or two dashes, as the original's Go flags did."};
  app.option_defaults()->always_capture_default();
  app.add_option("--databaseURL", config.database_url, "Ingester database: postgres://… or sqlite:///path/file.db");
  app.add_option("--maxDBConnections", config.max_db_connections, "Ingester database connections to open")
      ->check(CLI::Range(1, 1000));
  app.add_option("--sqsQueueName", sqs_queue_name, "Name of the SQS queue to listen on");
  app.add_option("--queue-url", config.queue_url,
                 "Queue instead of -sqsQueueName: sqs://NAME, an SQS queue URL, or dir:///path/to/inbox");
  app.add_option("--sqsPollWait", poll_wait, "Long-poll wait per receive (Go duration; capped at 20s)");
  app.add_option("--listenerCount", config.listener_count, "Queue listeners (threads)")->check(CLI::Range(1, 256));
  app.add_option("--statsPrefix", config.stats_prefix, "Prefix of statsd metric names");
  app.add_option("--bpConfigsBucket", bp_bucket, "S3 bucket of Blueprint's event metadata");
  app.add_option("--bpMetadataConfigsKey", bp_key, "S3 key of Blueprint's event metadata (gzip JSON)");
  app.add_option("--event-metadata-url", config.event_metadata_url,
                 "Event metadata instead of the bp flags: s3://bucket/key or file:///path (gzip or plain JSON)");
  app.add_option("--bpMetadataReloadFrequency", reload, "How often to reload the event metadata (Go duration)");
  app.add_option("--bpMetadataRetryDelay", retry_delay, "Delay between attempts to load the event metadata");
  app.add_flag("--keep-rejected-in-queue", config.keep_rejected_in_queue,
               "Leave rejected messages in the queue for its redrive policy (they are recorded either way)");
  std::string visibility;
  app.add_option("--visibility-timeout", visibility,
                 "How long a received message stays hidden before it is delivered again (Go duration; "
                 "default: the SQS queue's setting, 5m for a local inbox)");
  app.add_option("--loaded-key-history", history_hours,
                 "Hours a loaded file's key is remembered, so a redelivered pointer is not loaded twice")
      ->check(CLI::Range(1, 24 * 365));
  std::string unknown_wait = "24h";
  std::string unknown_retry = "1m";
  app.add_option("--unknown-table-wait", unknown_wait,
                 "How long a message whose table is not in the event metadata waits in the queue for it "
                 "before it is rejected (Go duration, from the message's send time)");
  app.add_option("--unknown-table-retry", unknown_retry,
                 "How often such a message is tried again (the event metadata is reloaded then)");
  app.add_option("--max-message-bytes", config.max_message_bytes,
                 "dir:// inbox: larger message files are set aside in <inbox>/rejected, unread")
      ->check(CLI::Range(std::size_t{1}, std::size_t{64} * 1024 * 1024));
  app.add_option("--health-addr", config.health_addr, "host:port of the /health endpoint (empty: none)");
  app.add_option("--log-level", log_level, "debug, info, warn or error");
  add_reporting_options(app, config.log, config.rollbar);
  app.add_option("--aws-region", config.aws.region, "AWS region (else AWS_REGION, AWS_DEFAULT_REGION, profile)");
  app.add_option("--aws-endpoint", config.aws.endpoint,
                 "Endpoint override for S3 and SQS (else AWS_ENDPOINT_URL_S3/_SQS, AWS_ENDPOINT_URL)");

  parse_go_style(app, argc, argv);

  if (!log::parse_level(log_level, config.log.level)) {
    throw ConfigError(fmt::format("--log-level: unknown level \"{}\"", log_level));
  }
  resolve_reporting(app, env, config.log, config.rollbar);
  config.poll_wait = go_duration("sqsPollWait", poll_wait);
  config.metadata_reload = go_duration("bpMetadataReloadFrequency", reload);
  config.metadata_retry_delay = go_duration("bpMetadataRetryDelay", retry_delay);
  config.loaded_key_history = std::chrono::hours(history_hours);
  if (!visibility.empty()) {
    const auto parsed = go_duration("visibility-timeout", visibility);
    if (parsed < std::chrono::seconds(1) || parsed > std::chrono::hours(12)) {
      throw ConfigError("--visibility-timeout must be between 1s and 12h (SQS's range)");
    }
    config.visibility_timeout = std::chrono::duration_cast<std::chrono::seconds>(parsed);
  }
  config.unknown_table_wait =
      std::chrono::duration_cast<std::chrono::seconds>(go_duration("unknown-table-wait", unknown_wait));
  config.unknown_table_retry =
      std::chrono::duration_cast<std::chrono::seconds>(go_duration("unknown-table-retry", unknown_retry));
  if (auto checked = storer::check_unknown_table_timing(config.unknown_table_wait, config.unknown_table_retry);
      !checked) {
    throw ConfigError(checked.error().message);
  }
  if (config.database_url.empty()) {
    throw ConfigError("-databaseURL is required (postgres://… or sqlite:///path/file.db)");
  }
  if (!sqs_queue_name.empty() && !config.queue_url.empty()) {
    throw ConfigError("give -sqsQueueName or --queue-url, not both");
  }
  if (!sqs_queue_name.empty()) {
    config.queue_url = "sqs://" + sqs_queue_name;
  }
  if (config.queue_url.empty()) {
    throw ConfigError("a queue is required: -sqsQueueName NAME or --queue-url URL");
  }
  if (!bp_bucket.empty() || !bp_key.empty()) {
    if (bp_bucket.empty() || bp_key.empty()) {
      throw ConfigError("-bpConfigsBucket and -bpMetadataConfigsKey go together");
    }
    if (!config.event_metadata_url.empty()) {
      throw ConfigError("give -bpConfigsBucket/-bpMetadataConfigsKey or --event-metadata-url, not both");
    }
    config.event_metadata_url = fmt::format("s3://{}/{}", bp_bucket, bp_key);
  }
  if (config.event_metadata_url.empty()) {
    throw ConfigError("event metadata is required: -bpConfigsBucket and -bpMetadataConfigsKey, or "
                      "--event-metadata-url");
  }
  if (config.metadata_reload.count() <= 0 || config.metadata_retry_delay.count() < 0) {
    throw ConfigError("-bpMetadataReloadFrequency must be positive and -bpMetadataRetryDelay not negative");
  }
  config.statsd_address = http::env_value(env, "STATSD_HOSTPORT");
  config.env = std::move(env);
  return config;
}

} // namespace rsi::config
