#include "config/metadatastorer_config.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "config/cli.hpp"
#include "config/go_flags.hpp"
#include "storer/storer.hpp"

namespace rsi::config {
namespace {

// Flags that name one setting between them, resolved after parsing.
struct StorerSources {
  std::vector<std::string> routes;
  std::string sqs_queue_name;
  std::string bp_bucket;
  std::string bp_key;
};

void add_flags(CLI::App& app, MetadatastorerConfig& config, StorerSources& sources) {
  app.option_defaults()->always_capture_default();
  app.add_option("--databaseURL", config.database_url,
                 "Ingester database: postgres://… or sqlite:///path/file.db");
  app.add_option("--maxDBConnections", config.max_db_connections,
                 "Ingester database connections to open")
      ->check(CLI::Range(1, 1000));
  app.add_option("--sqsQueueName", sources.sqs_queue_name, "Name of the SQS queue to listen on");
  app.add_option(
      "--queue-url", config.queue_url,
      "Queue instead of -sqsQueueName: sqs://NAME, an SQS queue URL, or dir:///path/to/inbox");
  add_duration_flag(app, "--sqsPollWait", config.poll_wait,
                    "Long-poll wait per receive (Go duration; capped at 20s)");
  app.add_option("--listenerCount", config.listener_count, "Queue listeners (threads)")
      ->check(CLI::Range(1, 256));
  app.add_option("--statsPrefix", config.stats_prefix, "Prefix of statsd metric names");
  app.add_option("--bpConfigsBucket", sources.bp_bucket, "S3 bucket of Blueprint's event metadata");
  app.add_option("--bpMetadataConfigsKey", sources.bp_key,
                 "S3 key of Blueprint's event metadata (gzip JSON)");
  app.add_option("--event-metadata-url", config.event_metadata_url,
                 "Event metadata instead of the bp flags: s3://bucket/key or file:///path (gzip or "
                 "plain JSON)");
  add_duration_flag(app, "--bpMetadataReloadFrequency", config.metadata_reload,
                    "How often to reload the event metadata (Go duration)", DurationRule::positive);
  add_duration_flag(app, "--bpMetadataRetryDelay", config.metadata_retry_delay,
                    "Delay between attempts to load the event metadata");
  app.add_flag(
      "--keep-rejected-in-queue", config.keep_rejected_in_queue,
      "Leave rejected messages in the queue for its redrive policy (they are recorded either way)");
  app.add_option_function<std::string>(
      "--visibility-timeout",
      [&config](const std::string& text) {
        const auto parsed = go_duration("visibility-timeout", text);
        if (parsed < std::chrono::seconds(1) || parsed > std::chrono::hours(12)) {
          throw ConfigError("--visibility-timeout must be between 1s and 12h (SQS's range)");
        }
        config.visibility_timeout = std::chrono::duration_cast<std::chrono::seconds>(parsed);
      },
      "How long a received message stays hidden before it is delivered again (Go duration; "
      "default: the SQS queue's setting, 5m for a local inbox)");
  app.add_option_function<int>(
         "--loaded-key-history",
         [&config](int hours) { config.loaded_key_history = std::chrono::hours(hours); },
         "Hours a loaded file's key is remembered, so a redelivered pointer is not loaded twice")
      ->check(CLI::Range(1, 24 * 365))
      ->default_str(std::to_string(config.loaded_key_history.count()));
  add_duration_flag(
      app, "--unknown-table-wait", config.unknown_table_wait,
      "How long a message whose table is not in the event metadata waits in the queue for it "
      "before it is rejected (Go duration, from the message's send time)");
  add_duration_flag(
      app, "--unknown-table-retry", config.unknown_table_retry,
      "How often such a message is tried again (the event metadata is reloaded then)");
  app.add_option("--max-message-bytes", config.max_message_bytes,
                 "dir:// inbox: larger message files are set aside in <inbox>/rejected, unread")
      ->check(CLI::Range(std::size_t{1}, std::size_t{64} * 1024 * 1024));
  app.add_option("--health-addr", config.health_addr,
                 "host:port of the /health endpoint (empty: none)");
  add_route_flag(app, sources.routes);
  app.add_option("--registry-url", config.registry_url,
                 "Schema registry for --route rules without a version: Blueprint http(s)://… or "
                 "file:///dir");
  add_reporting_options(app, config.log, config.rollbar);
  app.add_option("--aws-region", config.aws.region,
                 "AWS region (else AWS_REGION, AWS_DEFAULT_REGION, profile)");
  app.add_option(
      "--aws-endpoint", config.aws.endpoint,
      "Endpoint override for S3 and SQS (else AWS_ENDPOINT_URL_S3/_SQS, AWS_ENDPOINT_URL)");
}

// The queue and the event metadata: each named one way or the other, never both.
void resolve_sources(const StorerSources& sources, MetadatastorerConfig& config) {
  if (!sources.sqs_queue_name.empty() && !config.queue_url.empty()) {
    throw ConfigError("give -sqsQueueName or --queue-url, not both");
  }
  if (!sources.sqs_queue_name.empty()) {
    config.queue_url = "sqs://" + sources.sqs_queue_name;
  }
  if (config.queue_url.empty()) {
    throw ConfigError("a queue is required: -sqsQueueName NAME or --queue-url URL");
  }
  if (!sources.bp_bucket.empty() || !sources.bp_key.empty()) {
    if (sources.bp_bucket.empty() || sources.bp_key.empty()) {
      throw ConfigError("-bpConfigsBucket and -bpMetadataConfigsKey go together");
    }
    if (!config.event_metadata_url.empty()) {
      throw ConfigError(
          "give -bpConfigsBucket/-bpMetadataConfigsKey or --event-metadata-url, not both");
    }
    config.event_metadata_url = fmt::format("s3://{}/{}", sources.bp_bucket, sources.bp_key);
  }
  if (config.event_metadata_url.empty()) {
    throw ConfigError("event metadata is required: -bpConfigsBucket and -bpMetadataConfigsKey, or "
                      "--event-metadata-url");
  }
}

} // namespace

MetadatastorerConfig load_metadatastorer(int argc, const char* const* argv, http::Environment env) {
  MetadatastorerConfig config;
  StorerSources sources;
  CLI::App app{
      "metadatastorer: records the file pointers announced on a queue in the ingester database.\n"
      "Flags take one or two dashes, as the original's Go flags did."};
  add_flags(app, config, sources);
  parse_go_style(app, argc, argv);

  resolve_reporting(app, env, config.log, config.rollbar);
  if (auto checked =
          storer::check_unknown_table_timing(config.unknown_table_wait, config.unknown_table_retry);
      !checked) {
    throw ConfigError(checked.error().message);
  }
  if (config.database_url.empty()) {
    throw ConfigError("-databaseURL is required (postgres://… or sqlite:///path/file.db)");
  }
  resolve_sources(sources, config);
  config.routes = resolve_routes(sources.routes);
  require_registry_for_routes(config.routes, !config.registry_url.empty());
  if (config.metadata_retry_delay.count() < 0) {
    throw ConfigError("-bpMetadataRetryDelay must not be negative");
  }
  config.statsd_address = http::env_value(env, "STATSD_HOSTPORT");
  config.env = std::move(env);
  return config;
}

} // namespace rsi::config
