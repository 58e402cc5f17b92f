#include "config/rsloadmanager_config.hpp"

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/cli.hpp"
#include "config/go_flags.hpp"
#include "warehouse/factory.hpp"

namespace rsi::config {
namespace {

// The original spoke only to Redshift, through Go's lib/pq, so the URL of its -config file (and
// of -rsURL) is a postgres:// URL that names a Redshift cluster: it selects the Redshift backend.
// (--warehouse-url postgres://… selects a PostgreSQL warehouse.)
std::string original_warehouse_url(const std::string& url) {
  for (const std::string_view scheme : {"postgres://", "postgresql://"}) {
    if (url.starts_with(scheme)) {
      return "redshift://" + url.substr(scheme.size());
    }
  }
  return url;
}

// The original's -config file: {"redshift": {"url": …, "physicalSchema": …, …}}.
void read_config_file(const std::string& path, RsloadmanagerConfig& config) {
  std::ifstream in(path);
  if (!in) {
    throw ConfigError(fmt::format("-config {}: cannot read the file", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  const auto document = nlohmann::json::parse(text.str(), nullptr, false);
  if (!document.is_object()) {
    throw ConfigError(fmt::format("-config {}: not a JSON object", path));
  }
  if (!document.contains("redshift")) {
    return;
  }
  auto section = warehouse::parse_redshift_section(document["redshift"].dump());
  if (!section) {
    throw ConfigError(fmt::format("-config {}: {}", path, section.error().message));
  }
  config.warehouse_url = original_warehouse_url(section->url);
  config.layout = section->layout;
}

} // namespace

RsloadmanagerConfig load_rsloadmanager(int argc, const char* const* argv, http::Environment env) {
  RsloadmanagerConfig config;
  std::string config_file;
  std::string rs_url;
  std::string warehouse_url;
  std::string blueprint_host;
  std::string registry_url;
  // Every default comes from the components' own config types.
  const loader::LoaderConfig& loader = config.loader;
  auto load_count_trigger = static_cast<int>(loader.policy.count_trigger);
  auto load_age_seconds = static_cast<int>(loader.policy.age_trigger.count());
  std::string no_work_delay = format_go_duration(loader.no_work_delay);
  std::string error_retry_delay = format_go_duration(loader.error_retry_delay);
  std::string failed_check = format_go_duration(loader.failed_load_check_interval);
  std::string migrator_poll = format_go_duration(config.migrator.poll_period);
  std::string reporter_poll = format_go_duration(config.reporter_period);
  std::string wait_processor = format_go_duration(config.migrator.wait_processor_period);
  std::string batch_lease = format_go_duration(loader.policy.lease);
  auto onpeak_ms = static_cast<int>(config.migrator.onpeak_timeout.count());
  auto offpeak_ms = static_cast<int>(config.migrator.offpeak_timeout.count());
  std::size_t max_batch_files = loader.policy.max_files;
  ControlApiFlags control_flags;
  std::string log_level = "info";

  CLI::App app{"rsloadmanager: loads batches of event files into the warehouse exactly once, migrates table\n"
               "schemas as the schema registry says, and serves the control API.\n"
               "Flags take one or two dashes, as the original's Go flags did."};
  app.option_defaults()->always_capture_default();
  app.add_option("--databaseURL", config.database_url, "Ingester database: postgres://… or sqlite:///path/file.db");
  app.add_option("--maxDBConnections", config.max_db_connections, "Ingester database connections")
      ->check(CLI::Range(1, 1000));
  app.add_option("--config", config_file,
                 "JSON file with a \"redshift\" object (url, physicalSchema, viewSchema, …); a postgres:// url "
                 "names a Redshift cluster, as in the original");
  app.add_option("--rsURL", rs_url, "Redshift URL (the original's older flag; postgres:// names Redshift)");
  app.add_option("--warehouse-url", warehouse_url,
                 "Warehouse: redshift://…, postgres://… or sqlite:///path (overrides the -config url)");
  app.add_option("--manifestBucket", config.manifest_bucket, "S3 bucket for Redshift COPY manifests");
  app.add_option("--iam-role", config.iam_role, "IAM role ARN for COPY instead of the process's keys");
  std::string system_tables = "auto";
  app.add_option("--redshift-system-tables", system_tables,
                 "auto, on or off: look up loads the ledger lacks (started by the original) in Redshift's "
                 "STL/STV tables; auto turns it off for Redshift Serverless hosts, which have none")
      ->check(CLI::IsMember({"auto", "on", "off"}));
  app.add_option("--objects-url", config.objects_url,
                 "Read batch files from file:///dir/<bucket>/<key> instead of S3 (PostgreSQL and SQLite warehouses)");
  app.add_option("--blueprint_host", blueprint_host, "Blueprint host[:port] (schema registry)");
  app.add_option("--registry-url", registry_url, "Schema registry instead of -blueprint_host: http(s)://… or file:///dir");
  app.add_option("--n_workers", config.workers, "Load workers; 0 turns loading off")->check(CLI::Range(0, 256));
  app.add_option("--loadCountTrigger", load_count_trigger, "A table loads when more files than this wait")
      ->check(CLI::Range(0, 1'000'000));
  app.add_option("--loadAgeSeconds", load_age_seconds, "…or when its oldest file is older than this")
      ->check(CLI::Range(0, 365 * 86400));
  app.add_option("--no_work_delay", no_work_delay, "Idle worker wait (Go duration)");
  app.add_option("--max_load_retry", config.loader.max_load_retry, "Retries of a failed batch before it is stale")
      ->check(CLI::Range(0, 1000));
  app.add_option("--max_db_retry", config.max_db_retry, "Accepted for compatibility; database calls back off instead");
  app.add_option("--error_retry_delay", error_retry_delay, "Wait before a failed batch is retried");
  app.add_option("--failed_load_check_interval", failed_check, "How often failed and orphaned batches are checked");
  app.add_option("--batch-lease", batch_lease, "A batch whose loader stopped renewing it this long is an orphan");
  app.add_option("--max-batch-files", max_batch_files, "Files per batch; 0 = every waiting file of the table");
  app.add_option("--migratorPollPeriod", migrator_poll, "How often the migrator looks for new versions");
  app.add_option("--reporterPollPeriod", reporter_poll, "How often the waiting-file gauges are sent");
  app.add_option("--waitProcessorPeriod", wait_processor, "Wait after first seeing a new version");
  app.add_option("--offpeakStartHour", config.migrator.offpeak.start_hour, "Off-peak window start, UTC hour")
      ->check(CLI::Range(0, 23));
  app.add_option("--offpeakDurationHours", config.migrator.offpeak.duration_hours, "Off-peak window length, hours")
      ->check(CLI::Range(0, 24));
  app.add_option("--onpeakMigrationTimeoutMs", onpeak_ms, "Statement timeout of on-peak migrations")
      ->check(CLI::PositiveNumber);
  app.add_option("--offpeakMigrationTimeoutMs", offpeak_ms, "Statement timeout of off-peak migrations")
      ->check(CLI::PositiveNumber);
  app.add_flag("--dry-run-migrations", config.migrator.dry_run, "Log the SQL of pending migrations, change nothing");
  app.add_option("--statsPrefix", config.stats_prefix, "Prefix of statsd names (statsd address: STATSD_HOSTPORT)");
  app.add_option("--control-addr", config.control.address, "host:port of the control API and /health (\"\": none)");
  add_control_api_flags(app, control_flags, config.control);
  app.add_option("--queue-url", config.queue_url,
                 "The metadatastorer's queue (sqs://NAME, an SQS queue URL or dir:///inbox), only to show "
                 "its depth in /control/status");
  app.add_option("--log-level", log_level, "debug, info, warn or error");
  add_reporting_options(app, config.log, config.rollbar);
  app.add_option("--aws-region", config.aws.region, "AWS region");
  app.add_option("--aws-endpoint", config.aws.endpoint, "Endpoint override for S3");

  parse_go_style(app, argc, argv);
  if (system_tables != "auto") {
    config.redshift_system_tables = system_tables == "on";
  }

  if (!log::parse_level(log_level, config.log.level)) {
    throw ConfigError(fmt::format("--log-level: unknown level \"{}\"", log_level));
  }
  resolve_reporting(app, env, config.log, config.rollbar);
  if (!config_file.empty()) {
    read_config_file(config_file, config);
  }
  if (!rs_url.empty()) {
    config.warehouse_url = original_warehouse_url(rs_url);
  }
  if (!warehouse_url.empty()) {
    config.warehouse_url = warehouse_url;
  }
  if (config.database_url.empty()) {
    throw ConfigError("-databaseURL is required (postgres://… or sqlite:///path/file.db)");
  }
  if (config.warehouse_url.empty()) {
    throw ConfigError("a warehouse is required: -config with redshift.url, or --warehouse-url");
  }
  if (!blueprint_host.empty() && !registry_url.empty()) {
    throw ConfigError("give -blueprint_host or --registry-url, not both");
  }
  config.registry_url = registry_url.empty() ? blueprint_host : registry_url;
  if (config.registry_url.empty()) {
    throw ConfigError("a schema registry is required: -blueprint_host HOST or --registry-url URL");
  }
  if (config.warehouse_url.starts_with("redshift://") && config.manifest_bucket.empty()) {
    throw ConfigError("-manifestBucket is required for a Redshift warehouse");
  }
  config.loader.policy.count_trigger = load_count_trigger;
  config.loader.policy.age_trigger = std::chrono::seconds(load_age_seconds);
  config.loader.policy.max_files = max_batch_files;
  config.loader.policy.lease = std::chrono::duration_cast<std::chrono::seconds>(positive_duration("batch-lease", batch_lease));
  if (config.loader.policy.lease < std::chrono::seconds(2)) {
    throw ConfigError("--batch-lease must be at least 2s");
  }
  config.loader.no_work_delay = positive_duration("no_work_delay", no_work_delay);
  config.loader.error_retry_delay = positive_duration("error_retry_delay", error_retry_delay);
  config.loader.failed_load_check_interval = positive_duration("failed_load_check_interval", failed_check);
  config.migrator.poll_period = positive_duration("migratorPollPeriod", migrator_poll);
  config.migrator.wait_processor_period = positive_duration("waitProcessorPeriod", wait_processor);
  config.migrator.onpeak_timeout = std::chrono::milliseconds(onpeak_ms);
  config.migrator.offpeak_timeout = std::chrono::milliseconds(offpeak_ms);
  config.reporter_period = positive_duration("reporterPollPeriod", reporter_poll);
  finish_control_api(control_flags, env, config.control);
  config.statsd_address = http::env_value(env, "STATSD_HOSTPORT");
  config.env = std::move(env);
  return config;
}

} // namespace rsi::config
