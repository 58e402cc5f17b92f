#include "config/rsloadmanager_config.hpp"

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>

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

// Flags resolved after parsing: where the warehouse and the registry are (several ways each),
// and the Redshift system-table switch.
struct LoadManagerSources {
  std::string config_file;
  std::string rs_url;
  std::string warehouse_url;
  std::string blueprint_host;
  std::string registry_url;
  std::string system_tables = "auto";
};

void add_source_flags(CLI::App& app, RsloadmanagerConfig& config, LoadManagerSources& sources) {
  app.add_option("--databaseURL", config.database_url,
                 "Ingester database: postgres://… or sqlite:///path/file.db");
  app.add_option("--maxDBConnections", config.max_db_connections, "Ingester database connections")
      ->check(CLI::Range(1, 1000));
  app.add_option("--config", sources.config_file,
                 "JSON file with a \"redshift\" object (url, physicalSchema, viewSchema, …); a "
                 "postgres:// url "
                 "names a Redshift cluster, as in the original");
  app.add_option("--rsURL", sources.rs_url,
                 "Redshift URL (the original's older flag; postgres:// names Redshift)");
  app.add_option(
      "--warehouse-url", sources.warehouse_url,
      "Warehouse: redshift://…, postgres://… or sqlite:///path (overrides the -config url)");
  app.add_option("--manifestBucket", config.manifest_bucket,
                 "S3 bucket for Redshift COPY manifests");
  app.add_option("--iam-role", config.iam_role,
                 "IAM role ARN for COPY instead of the process's keys; \"default\": the cluster's "
                 "default role");
  app.add_option(
         "--redshift-system-tables", sources.system_tables,
         "auto, on or off: look up loads the ledger lacks (started by the original) in Redshift's "
         "STL/STV tables; auto turns it off for Redshift Serverless hosts, which have none")
      ->check(CLI::IsMember({"auto", "on", "off"}));
  app.add_option("--objects-url", config.objects_url,
                 "Read batch files from file:///dir/<bucket>/<key> instead of S3 (PostgreSQL and "
                 "SQLite warehouses)");
  app.add_option("--blueprint_host", sources.blueprint_host,
                 "Blueprint host[:port] (schema registry)");
  app.add_option("--registry-url", sources.registry_url,
                 "Schema registry instead of -blueprint_host: http(s)://… or file:///dir");
}

void add_loader_flags(CLI::App& app, RsloadmanagerConfig& config) {
  ingestdb::ClaimPolicy& policy = config.loader.policy;
  app.add_option("--n_workers", config.workers, "Load workers; 0 turns loading off")
      ->check(CLI::Range(0, 256));
  app.add_option("--loadCountTrigger", policy.count_trigger,
                 "A table loads when more files than this wait")
      ->check(CLI::Range(0, 1'000'000));
  app.add_option_function<int>(
         "--loadAgeSeconds",
         [&policy](int seconds) { policy.age_trigger = std::chrono::seconds(seconds); },
         "…or when its oldest file is older than this")
      ->check(CLI::Range(0, 365 * 86400))
      ->default_str(std::to_string(policy.age_trigger.count()));
  add_duration_flag(app, "--no_work_delay", config.loader.no_work_delay,
                    "Idle worker wait (Go duration)", DurationRule::positive);
  app.add_option("--max_load_retry", config.loader.max_load_retry,
                 "Retries of a failed batch before it is stale")
      ->check(CLI::Range(0, 1000));
  app.add_option("--max_db_retry", config.max_db_retry,
                 "Accepted for compatibility; database calls back off instead");
  add_duration_flag(app, "--error_retry_delay", config.loader.error_retry_delay,
                    "Wait before a failed batch is retried", DurationRule::positive);
  add_duration_flag(app, "--failed_load_check_interval", config.loader.failed_load_check_interval,
                    "How often failed and orphaned batches are checked", DurationRule::positive);
  add_duration_flag(app, "--batch-lease", policy.lease,
                    "A batch whose loader stopped renewing it this long is an orphan",
                    DurationRule::positive);
  add_max_batch_files_flag(app, policy.max_files);
  add_max_bad_rows_flag(app, config.loader.max_bad_rows);
}

void add_migrator_flags(CLI::App& app, RsloadmanagerConfig& config) {
  migrator::MigratorConfig& migrator = config.migrator;
  add_duration_flag(app, "--migratorPollPeriod", migrator.poll_period,
                    "How often the migrator looks for new versions", DurationRule::positive);
  add_duration_flag(app, "--reporterPollPeriod", config.reporter_period,
                    "How often the waiting-file gauges are sent", DurationRule::positive);
  add_duration_flag(app, "--waitProcessorPeriod", migrator.wait_processor_period,
                    "Wait after first seeing a new version", DurationRule::positive);
  app.add_option("--offpeakStartHour", migrator.offpeak.start_hour,
                 "Off-peak window start, UTC hour")
      ->check(CLI::Range(0, 23));
  app.add_option("--offpeakDurationHours", migrator.offpeak.duration_hours,
                 "Off-peak window length, hours")
      ->check(CLI::Range(0, 24));
  for (auto [name, timeout, text] :
       {std::tuple{"--onpeakMigrationTimeoutMs", &migrator.onpeak_timeout,
                   "Statement timeout of on-peak migrations"},
        std::tuple{"--offpeakMigrationTimeoutMs", &migrator.offpeak_timeout,
                   "Statement timeout of off-peak migrations"}}) {
    app.add_option_function<int>(
           name, [timeout](int ms) { *timeout = std::chrono::milliseconds(ms); }, text)
        ->check(CLI::PositiveNumber)
        ->default_str(std::to_string(timeout->count()));
  }
  app.add_flag("--dry-run-migrations", migrator.dry_run,
               "Log the SQL of pending migrations, change nothing");
}

// The warehouse (the -config file's url, then -rsURL, then --warehouse-url) and the registry.
void resolve_sources(const LoadManagerSources& sources, RsloadmanagerConfig& config) {
  if (sources.system_tables != "auto") {
    config.redshift_system_tables = sources.system_tables == "on";
  }
  if (!sources.config_file.empty()) {
    read_config_file(sources.config_file, config);
  }
  if (!sources.rs_url.empty()) {
    config.warehouse_url = original_warehouse_url(sources.rs_url);
  }
  if (!sources.warehouse_url.empty()) {
    config.warehouse_url = sources.warehouse_url;
  }
  if (config.database_url.empty()) {
    throw ConfigError("-databaseURL is required (postgres://… or sqlite:///path/file.db)");
  }
  if (config.warehouse_url.empty()) {
    throw ConfigError("a warehouse is required: -config with redshift.url, or --warehouse-url");
  }
  if (!sources.blueprint_host.empty() && !sources.registry_url.empty()) {
    throw ConfigError("give -blueprint_host or --registry-url, not both");
  }
  config.registry_url =
      sources.registry_url.empty() ? sources.blueprint_host : sources.registry_url;
  if (config.registry_url.empty()) {
    throw ConfigError("a schema registry is required: -blueprint_host HOST or --registry-url URL");
  }
  if (config.warehouse_url.starts_with("redshift://") && config.manifest_bucket.empty()) {
    throw ConfigError("-manifestBucket is required for a Redshift warehouse");
  }
}

} // namespace

RsloadmanagerConfig load_rsloadmanager(int argc, const char* const* argv, http::Environment env) {
  // Every default comes from the components' own config types: the flags are bound to them.
  RsloadmanagerConfig config;
  LoadManagerSources sources;
  ControlApiFlags control_flags;
  CLI::App app{"rsloadmanager: loads batches of event files into the warehouse exactly once, "
               "migrates table\n"
               "schemas as the schema registry says, and serves the control API.\n"
               "Flags take one or two dashes, as the original's Go flags did."};
  app.option_defaults()->always_capture_default();
  add_source_flags(app, config, sources);
  add_loader_flags(app, config);
  add_migrator_flags(app, config);
  app.add_option("--statsPrefix", config.stats_prefix,
                 "Prefix of statsd names (statsd address: STATSD_HOSTPORT)");
  app.add_option("--control-addr", config.control.address,
                 "host:port of the control API and /health (\"\": none)");
  add_control_api_flags(app, control_flags, config.control);
  app.add_option(
      "--queue-url", config.queue_url,
      "The metadatastorer's queue (sqs://NAME, an SQS queue URL or dir:///inbox), only to show "
      "its depth in /control/status");
  app.add_option("--event-metadata-url", config.event_metadata_url,
                 "Event metadata (s3://bucket/key or file:///path, as metadatastorer's): lets "
                 "POST /control/rejected/replay check messages");
  std::vector<std::string> routes; // For the replay of rejected messages.
  add_route_flag(app, routes);
  add_reporting_options(app, config.log, config.rollbar);
  app.add_option("--aws-region", config.aws.region, "AWS region");
  app.add_option("--aws-endpoint", config.aws.endpoint, "Endpoint override for S3");
  parse_go_style(app, argc, argv);

  resolve_reporting(app, env, config.log, config.rollbar);
  resolve_sources(sources, config);
  if (config.loader.policy.lease < std::chrono::seconds(2)) {
    throw ConfigError("--batch-lease must be at least 2s");
  }
  finish_control_api(control_flags, env, config.control);
  config.routes = resolve_routes(routes);
  if (!config.routes.empty() && config.event_metadata_url.empty()) {
    throw ConfigError("--route is for the replay of rejected messages, which needs "
                      "--event-metadata-url");
  }
  config.statsd_address = http::env_value(env, "STATSD_HOSTPORT");
  config.env = std::move(env);
  return config;
}

} // namespace rsi::config
