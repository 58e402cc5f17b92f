// `rs_ingester backfill SOURCE`: the flags, what they resolve to (a listing, an ingester
// database, the intake rules), and the summary. The listing itself is backfill() (backfill.hpp).
#include "app/backfill_command.hpp"

#include <chrono>
#include <cstdio>
#include <memory>
#include <variant>

#include <fmt/format.h>
#include <unistd.h>

#include "app/embedded.hpp"
#include "app/event_metadata_source.hpp"
#include "app/startup.hpp"
#include "core/route.hpp"
#include "http/credentials.hpp"
#include "http/time_format.hpp"
#include "ingestdb/factory.hpp"
#include "objectstore/factory.hpp"
#include "registry/factory.hpp"
#include "storer/message_check.hpp"
#include "telemetry/metrics.hpp"

namespace rsi::app {
namespace {

using namespace std::chrono_literals;

// Without --route, a data directory's objects are taken to be laid out as `rs_ingester load`
// stores them: <bucket>/<table>/v<version>/<file>.
constexpr std::string_view k_embedded_route = "{table}/v{version}/*";

// Pages are recorded one after the other: one database connection is enough.
constexpr std::size_t k_database_connections = 1;

// How often the progress line is redrawn at most.
constexpr auto k_progress_period = 200ms;

// Everything the flags name, resolved before anything is opened: a mistake here exits 2.
struct BackfillPlan {
  objectstore::Config store;
  std::string prefix;
  std::string bucket; // S3: the bucket; empty for a local objects root (one folder per bucket).
  std::string source; // As the summary names it.
  std::optional<ingestdb::Config> ingest_db; // nullopt for a dry run.
  registry::MetadataFetcher event_metadata;  // Empty: the registry stands in.
  std::optional<registry::Config> registry;  // For routes without a version.
  std::vector<core::Route> routes;
  BackfillOptions options;
};

ingestdb::StoreOptions store_options(const BackfillFlags& flags) {
  return {.loaded_key_history = std::chrono::hours(flags.loaded_key_history_hours)};
}

std::unexpected<Error> invalid(std::string message) {
  return fail(ErrorKind::permanent, std::move(message));
}

// SOURCE as a store, a prefix and a bucket. `objects_root`: the folder local sources must lie in
// (nullopt: local sources are refused, with `local_hint` saying why).
Result<void> plan_source(const BackfillFlags& flags, const http::Environment& env,
                         const std::optional<std::filesystem::path>& objects_root,
                         std::string_view local_hint, BackfillPlan& plan) {
  const std::string& source = flags.source;
  if (source.starts_with("s3://")) {
    RSI_TRY_ASSIGN(plan.store, objectstore::config_from_url(source, env));
    auto& s3 = std::get<objectstore::S3Config>(plan.store.backend);
    plan.prefix = std::exchange(s3.prefix, std::string()); // Listed keys stay whole.
    plan.bucket = s3.bucket;
    s3.aws = flags.aws;
    plan.source = source;
    return {};
  }
  std::filesystem::path path = source;
  if (source.starts_with("file://")) {
    RSI_TRY_ASSIGN(const auto local, objectstore::config_from_url(source));
    path = std::get<objectstore::LocalConfig>(local.backend).root;
  } else if (source.find("://") != std::string::npos) {
    return invalid(
        fmt::format("SOURCE {:?}: expected s3://bucket/prefix, file:///path or a path", source));
  }
  if (!objects_root) {
    return invalid(fmt::format("SOURCE {:?}: {}", source, local_hint));
  }
  RSI_TRY_ASSIGN(plan.prefix, local_source_prefix(*objects_root, path));
  plan.store = {objectstore::LocalConfig{.root = *objects_root, .create_root = false}};
  plan.source = std::filesystem::absolute(path).lexically_normal().string();
  return {};
}

// --data-dir: the embedded default's ingester database, event metadata and schemas; objects in
// DIR/objects.
Result<void> plan_embedded(const BackfillFlags& flags, const http::Environment& env,
                           BackfillPlan& plan) {
  const DataDir dir{std::filesystem::absolute(flags.data_dir)};
  if (flags.source.starts_with("s3://")) {
    return invalid(fmt::format(
        "SOURCE {:?}: with --data-dir the loader reads objects from {}/<bucket>/<key> only: copy "
        "them there (aws s3 sync s3://BUCKET/PREFIX {}/BUCKET/PREFIX) and backfill that folder",
        flags.source, dir.objects().string(), dir.objects().string()));
  }
  RSI_TRY(plan_source(flags, env, dir.objects(), "", plan));
  if (!flags.dry_run) {
    plan.ingest_db = ingestdb::Config{
        ingestdb::SqliteConfig{.path = dir.ingester_db(), .options = store_options(flags)}};
  }
  plan.event_metadata = embedded_metadata_fetcher(dir);
  plan.registry = registry::Config{registry::LocalConfig{.root = dir.schemas()}};
  return {};
}

// --database-url: the daemons' ingester database; event metadata and registry by URL.
Result<void> plan_daemons(const BackfillFlags& flags, const http::Environment& env,
                          std::shared_ptr<http::CredentialsProvider> credentials,
                          BackfillPlan& plan) {
  std::optional<std::filesystem::path> objects_root;
  if (!flags.objects_url.empty()) {
    RSI_TRY_ASSIGN(const auto objects,
                   with_context(objectstore::config_from_url(flags.objects_url), "--objects-url"));
    const auto* local = std::get_if<objectstore::LocalConfig>(&objects.backend);
    if (local == nullptr || flags.source.starts_with("s3://")) {
      return invalid("--objects-url file:///ROOT names the objects root of a local SOURCE "
                     "(rsloadmanager's --objects-url)");
    }
    objects_root = local->root;
  }
  RSI_TRY(plan_source(flags, env, objects_root,
                      "a local SOURCE needs --objects-url file:///ROOT, the folder of bucket "
                      "folders rsloadmanager reads (its --objects-url)",
                      plan));
  if (!flags.dry_run) {
    RSI_TRY_ASSIGN(const auto url, with_tls_default(flags.database_url, env));
    RSI_TRY_ASSIGN(
        plan.ingest_db,
        with_context(ingestdb::config_from_url(url, k_database_connections, store_options(flags)),
                     "--database-url"));
  }
  if (!flags.registry_url.empty()) {
    RSI_TRY_ASSIGN(plan.registry,
                   with_context(registry::config_from_url(flags.registry_url), "--registry-url"));
  }
  if (!flags.event_metadata_url.empty()) {
    RSI_TRY_ASSIGN(plan.event_metadata,
                   with_context(make_metadata_fetcher(flags.event_metadata_url, flags.aws, env,
                                                      std::move(credentials)),
                                "--event-metadata-url"));
  } else if (!plan.registry) {
    return invalid("which tables load: give --event-metadata-url (Blueprint's event metadata), or "
                   "--registry-url (then every table the registry knows loads)");
  }
  return {};
}

Result<BackfillPlan> make_plan(const BackfillFlags& flags, const http::Environment& env,
                               std::shared_ptr<http::CredentialsProvider> credentials) {
  BackfillPlan plan;
  if (flags.data_dir.empty() == flags.database_url.empty()) {
    return invalid("give --data-dir DIR (the embedded default's database) or --database-url URL "
                   "(the daemons'), one of them");
  }
  if (!flags.data_dir.empty()) {
    RSI_TRY(plan_embedded(flags, env, plan));
  } else {
    RSI_TRY(plan_daemons(flags, env, std::move(credentials), plan));
  }
  std::vector<std::string> routes = flags.routes;
  if (routes.empty() && !flags.data_dir.empty()) {
    routes.emplace_back(k_embedded_route);
  } else if (routes.empty()) {
    return invalid("--route is required: which table (and version) each key feeds, e.g. --route "
                   "'logs/{table}/v{version}/**'");
  }
  RSI_TRY_ASSIGN(plan.routes, core::parse_routes(routes));
  if (storer::needs_current_version(plan.routes) && !plan.registry) {
    return invalid("a --route without a version takes the registry's current version: give "
                   "--registry-url, or version=N in the route");
  }
  if (!flags.since.empty()) {
    RSI_TRY_ASSIGN(plan.options.since, with_context(parse_backfill_time(flags.since), "--since"));
  }
  if (!flags.until.empty()) {
    RSI_TRY_ASSIGN(plan.options.until, with_context(parse_backfill_time(flags.until), "--until"));
  }
  if (plan.options.since && plan.options.until && *plan.options.since >= *plan.options.until) {
    return invalid("--since must be before --until");
  }
  plan.options.page_size = flags.page_size;
  plan.options.dry_run = flags.dry_run;
  return plan;
}

void print_error(const std::string& what, const Error& error) {
  std::fprintf(stderr, "rs_ingester backfill: %s: %s\n", what.c_str(), error.message.c_str());
}

// One line for a terminal, redrawn in place.
class ProgressLine {
public:
  explicit ProgressLine(bool dry_run)
      : m_terminal(isatty(STDOUT_FILENO) != 0), m_dry_run(dry_run) {}

  void update(const BackfillSummary& summary) {
    const auto now = std::chrono::steady_clock::now();
    if (!m_terminal || now - m_drawn < k_progress_period) {
      return;
    }
    m_drawn = now;
    const auto totals = summary.totals();
    std::printf("\r\033[Klisted %lld (%lld pages) | %s %lld | already recorded %lld | unrouted "
                "%lld | unknown tables %lld",
                static_cast<long long>(summary.listed), static_cast<long long>(summary.pages),
                m_dry_run ? "would record" : "recorded", static_cast<long long>(totals.recorded),
                static_cast<long long>(totals.already_recorded),
                static_cast<long long>(summary.unrouted), static_cast<long long>(totals.unknown));
    std::fflush(stdout);
  }

  void finish() {
    if (m_terminal && m_drawn != std::chrono::steady_clock::time_point{}) {
      std::printf("\r\033[K");
    }
  }

private:
  bool m_terminal;
  bool m_dry_run;
  std::chrono::steady_clock::time_point m_drawn{};
};

int exit_status(const BackfillSummary& summary) {
  if (summary.error) {
    return k_exit_startup_error;
  }
  if (summary.interrupted) {
    return k_exit_interrupted;
  }
  return summary.complete() ? 0 : k_exit_left_behind;
}

// The backends of `plan`, opened, and the backfill run over them.
int execute(BackfillPlan& plan, const http::Environment& env,
            std::shared_ptr<http::CredentialsProvider> credentials, const Clock& clock,
            std::stop_token stop) {
  if (auto* s3 = std::get_if<objectstore::S3Config>(&plan.store.backend)) {
    s3->environment = env;
    s3->credentials = std::move(credentials);
  }
  // Neither contacts anything yet: what fails here is configuration (a region, a folder).
  auto objects = objectstore::make_object_store(plan.store);
  if (!objects) {
    print_error("cannot open " + plan.source, objects.error());
    return k_exit_config_error;
  }
  std::unique_ptr<registry::SchemaRegistry> registry;
  if (plan.registry) {
    auto opened = registry::make_schema_registry(*plan.registry);
    if (!opened) {
      print_error("cannot open the schema registry", opened.error());
      return k_exit_config_error;
    }
    registry = std::move(*opened);
  }
  std::unique_ptr<registry::TableDirectory> tables;
  if (plan.event_metadata) {
    auto cache = std::make_unique<registry::EventMetadataCache>(
        plan.event_metadata, clock,
        registry::EventMetadataOptions{.reload_every = 5min, .min_forced_interval = 10s});
    if (auto loaded = with_retries<void>(plan.options.retry, stop, "event metadata",
                                         [&] { return cache->reload(); });
        !loaded) {
      print_error("cannot read the event metadata", loaded.error());
      return k_exit_startup_error;
    }
    tables = std::move(cache);
  } else {
    tables = std::make_unique<RegistryTableDirectory>(*registry);
  }
  std::unique_ptr<ingestdb::IngestDb> store;
  if (plan.ingest_db) {
    auto opened = with_retries<std::unique_ptr<ingestdb::IngestDb>>(
        plan.options.retry, stop, "ingester database",
        [&] { return ingestdb::make_ingest_db(*plan.ingest_db); });
    if (!opened) {
      print_error("cannot open the ingester database", opened.error());
      return k_exit_startup_error;
    }
    store = std::move(*opened);
  }
  storer::RoutingConfig routing{.routes = plan.routes};
  if (registry) {
    routing.current_version = [&registry](std::string_view table) {
      return registry->current_version(table);
    };
  }
  telemetry::Metrics metrics("rs_ingester");
  storer::MessageCheck check(*tables, clock, metrics, std::move(routing));
  ProgressLine progress(plan.options.dry_run);
  const BackfillSummary summary =
      backfill({.store = objects->get(), .prefix = plan.prefix, .bucket = plan.bucket}, check,
               store.get(), clock, plan.options, stop,
               [&progress](const BackfillSummary& so_far) { progress.update(so_far); });
  progress.finish();
  std::fputs(format_backfill_summary(summary, plan.source, plan.options.dry_run).c_str(), stdout);
  std::fflush(stdout);
  if (summary.error) {
    print_error("stopped", *summary.error);
  }
  if (summary.error || summary.interrupted) {
    std::fprintf(stderr, "rs_ingester backfill: what was recorded stays recorded; run the same "
                         "command again to finish\n");
  }
  return exit_status(summary);
}

} // namespace

CLI::App* add_backfill_command(CLI::App& app, BackfillFlags& flags) {
  auto* command = app.add_subcommand(
      "backfill", "Record a pointer for every object already in a bucket or folder "
                  "(docs/configuration.md, \"rs_ingester backfill\")");
  command
      ->add_option("source", flags.source,
                   "s3://bucket/prefix, or a folder inside the objects root (DIR/objects with "
                   "--data-dir, --objects-url with --database-url)")
      ->required();
  auto* data_dir =
      command->add_option("--data-dir", flags.data_dir, "The embedded default's data directory");
  auto* database = command->add_option("--database-url", flags.database_url,
                                       "The daemons' ingester database: postgres://… or "
                                       "sqlite:///path/file.db");
  data_dir->excludes(database);
  for (auto* option :
       {command->add_option("--event-metadata-url", flags.event_metadata_url,
                            "With --database-url: s3://bucket/key or file:///path (else the "
                            "registry's tables load)"),
        command->add_option("--registry-url", flags.registry_url,
                            "With --database-url: schema registry, http(s)://… or file:///dir"),
        command->add_option("--objects-url", flags.objects_url,
                            "With --database-url and a local SOURCE: file:///ROOT, the folder of "
                            "bucket folders rsloadmanager reads")}) {
    option->excludes(data_dir);
  }
  command
      ->add_option("--loaded-key-history", flags.loaded_key_history_hours,
                   "Hours back a loaded key counts as already recorded (metadatastorer's flag)")
      ->check(CLI::Range(1, 24 * 365 * 10))
      ->capture_default_str();
  command
      ->add_option("--route", flags.routes,
                   "'PATTERN [table=NAME] [version=N|current] [bucket=NAME]', repeatable, first "
                   "match wins")
      ->allow_extra_args(false); // One rule per --route: SOURCE may follow.
  command->add_option("--since", flags.since,
                      "Only objects last modified at or after: 2024-05-01, 2024-05-01T12:00:00Z "
                      "or 2024-05-01T14:00:00+02:00");
  command->add_option("--until", flags.until, "Only objects last modified before (same forms)");
  command->add_flag("--dry-run", flags.dry_run,
                    "Count what would be recorded per table; record nothing");
  command->add_option("--page-size", flags.page_size, "Keys per listing call (and transaction)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000}))
      ->capture_default_str();
  command->add_option("--aws-region", flags.aws.region,
                      "AWS region (else AWS_REGION, AWS_DEFAULT_REGION, profile)");
  command->add_option("--aws-endpoint", flags.aws.endpoint,
                      "S3 endpoint override (else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL)");
  return command;
}

int run_backfill_command(const BackfillFlags& flags, std::stop_token stop) {
  const http::Environment env = http::process_environment();
  SystemClock clock;
  auto credentials = http::make_default_credentials_provider(env, clock);
  auto plan = make_plan(flags, env, credentials);
  if (!plan) {
    std::fprintf(stderr, "rs_ingester backfill: %s\n", plan.error().message.c_str());
    return k_exit_config_error;
  }
  return execute(*plan, env, std::move(credentials), clock, stop);
}

Result<TimePoint> parse_backfill_time(std::string_view text) {
  const bool date_only = text.size() == 10;
  const auto parsed =
      http::parse_iso8601(date_only ? fmt::format("{}T00:00:00Z", text) : std::string(text));
  if (!parsed) {
    return fail(ErrorKind::permanent,
                fmt::format("{:?}: expected a date (2024-05-01, midnight UTC) or a time with its "
                            "zone (2024-05-01T12:00:00Z, 2024-05-01T14:00:00+02:00)",
                            text));
  }
  return *parsed;
}

Result<std::string> local_source_prefix(const std::filesystem::path& objects_root,
                                        const std::filesystem::path& source) {
  std::error_code root_error;
  std::error_code error;
  const auto root =
      std::filesystem::weakly_canonical(std::filesystem::absolute(objects_root), root_error);
  const auto path = std::filesystem::weakly_canonical(std::filesystem::absolute(source), error);
  if (root_error || error) {
    return fail(ErrorKind::permanent, fmt::format("SOURCE {}: {}", source.string(),
                                                  (error ? error : root_error).message()));
  }
  const auto relative = path.lexically_relative(root).lexically_normal();
  const std::string text = relative.generic_string();
  if (relative.empty() || text == ".." || text.starts_with("../")) {
    return fail(ErrorKind::permanent,
                fmt::format("SOURCE {}: a local source must lie inside the objects root {} (one "
                            "folder per bucket), where the loader reads it",
                            source.string(), root.string()));
  }
  if (text == "." || text == "./") {
    return std::string();
  }
  std::string prefix = text;
  while (prefix.ends_with('/')) {
    prefix.pop_back();
  }
  if (std::filesystem::is_directory(path, error)) {
    prefix += '/';
  }
  return prefix;
}

std::string format_backfill_summary(const BackfillSummary& summary, const std::string& source,
                                    bool dry_run) {
  const auto totals = summary.totals();
  std::string out =
      fmt::format("backfill{} of {}: {} objects listed in {} page{}{}\n",
                  dry_run ? " (dry run)" : "", source, summary.listed, summary.pages,
                  summary.pages == 1 ? "" : "s", summary.interrupted ? ", interrupted" : "");
  const auto line = [&out](std::string_view label, std::int64_t count, std::string_view note) {
    out += fmt::format("  {:<20}{:>10}{}{}\n", label, count, note.empty() ? "" : "  ", note);
  };
  if (dry_run) {
    line("would record", totals.recorded, "(pending or loaded keys are not looked up)");
  } else {
    line("recorded", totals.recorded, "");
    line("already recorded", totals.already_recorded,
         "(pending, or loaded within the loaded-key history)");
    line("quarantined", totals.quarantined, "(set aside earlier: /control/quarantine)");
  }
  line("skipped", totals.skipped, "(tables the warehouse does not load: no \"ace\")");
  line("unknown tables", totals.unknown, "(not in the event metadata or the registry)");
  line("unrouted", summary.unrouted, summary.unrouted > 0 ? "(no --route matches), e.g.:" : "");
  for (const auto& example : summary.unrouted_examples) {
    out += fmt::format("    {}\n", example);
  }
  line("outside the window", summary.outside_window, "(--since/--until)");
  line("folder markers", summary.folder_markers, "(empty keys ending in '/')");
  if (summary.tables.empty()) {
    return out;
  }
  if (dry_run) {
    out +=
        fmt::format("  {:<32}{:>13}{:>12}{:>9}\n", "table", "would record", "skipped", "unknown");
    for (const auto& [table, counts] : summary.tables) {
      out += fmt::format("  {:<32}{:>13}{:>12}{:>9}\n", table, counts.recorded, counts.skipped,
                         counts.unknown);
    }
    return out;
  }
  out += fmt::format("  {:<32}{:>10}{:>10}{:>13}{:>12}{:>9}\n", "table", "recorded", "already",
                     "quarantined", "skipped", "unknown");
  for (const auto& [table, counts] : summary.tables) {
    out += fmt::format("  {:<32}{:>10}{:>10}{:>13}{:>12}{:>9}\n", table, counts.recorded,
                       counts.already_recorded, counts.quarantined, counts.skipped, counts.unknown);
  }
  return out;
}

} // namespace rsi::app
