// rs_ingester: the embedded default. `run` wires the same services as the two daemons
// (StorerService, LoadManagerService) over embedded backends in one data directory.
#include "app/rs_ingester.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <array>
#include <map>
#include <set>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/embedded.hpp"
#include "app/load_manager_service.hpp"
#include "app/signals.hpp"
#include "app/startup.hpp"
#include "app/storer_service.hpp"
#include "common/log.hpp"
#include "common/sleep.hpp"
#include "core/file_pointer.hpp"
#include "core/table_name.hpp"
#include "http/curl_global.hpp"
#include "metadata/factory.hpp"
#include "metadata/migrator_lock.hpp"
#include "objectstore/local_object_store.hpp"
#include "queue/local_queue.hpp"
#include "registry/local_registry.hpp"
#include "warehouse/sqlite_warehouse.hpp"

namespace rsi::app {
namespace {

using namespace std::chrono_literals;

struct RunOptions {
  int workers = 2;
  int listeners = 2;
  int load_age_seconds = 30;
  int load_count_trigger = 5;
  std::string control_addr = "127.0.0.1:8080";
  bool until_idle = false;
};

void report_error(const std::string& what, const Error& error) {
  std::fprintf(stderr, "rs_ingester: %s: %s\n", what.c_str(), error.message.c_str());
}

// Files pending per kind, in flight and stale batches: one line for a terminal.
std::string progress_line(metadata::MetadataStore& store, const metadata::VersionMap& versions, TimePoint now) {
  auto stats = store.pending_stats(versions, 5);
  auto in_flight = store.in_flight_batches(now);
  if (!stats || !in_flight) {
    return "(ingester database unavailable)";
  }
  std::int64_t queued = 0;
  std::int64_t stale = 0;
  std::int64_t migrating = 0;
  double lag = 0;
  for (const auto& stat : *stats) {
    (stat.kind == metadata::PendingKind::stale       ? stale
     : stat.kind == metadata::PendingKind::in_queue ? queued
                                                     : migrating) += stat.count;
    lag = std::max(lag, std::chrono::duration<double>(now - stat.oldest).count());
  }
  return fmt::format("files waiting {} | loading {} batches | awaiting migration {} | stale {} | lag {:.0f}s", queued,
                     in_flight->size(), migrating, stale, lag);
}

bool idle(const DataDir& dir, metadata::MetadataStore& store) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir.inbox(), error)) {
    if (entry.is_regular_file() && !entry.path().filename().string().starts_with(".")) {
      return false;
    }
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir.inbox() / "inflight", error)) {
    if (entry.is_regular_file()) {
      return false;
    }
  }
  auto pending = store.pending_versions();
  return pending && pending->empty();
}

int run(const DataDir& dir, const RunOptions& options, std::stop_source& stop_source) {
  const std::stop_token stop = stop_source.get_token();
  SystemClock clock;
  std::filesystem::create_directories(dir.schemas());
  std::filesystem::create_directories(dir.objects());
  telemetry::Metrics metrics("rs_ingester");
  const metadata::Config metadata_config{metadata::SqliteConfig{.path = dir.ingester_db()}};
  auto store = metadata::make_metadata_store(metadata_config);
  auto lock = metadata::make_migrator_lock(metadata_config);
  auto objects = objectstore::make_local_object_store({.root = dir.objects()});
  auto registry = registry::make_local_registry({.root = dir.schemas()});
  for (const Error* error : {store ? nullptr : &store.error(), lock ? nullptr : &lock.error(),
                             objects ? nullptr : &objects.error(), registry ? nullptr : &registry.error()}) {
    if (error != nullptr) {
      report_error("cannot open the data directory", *error);
      return k_exit_startup_error;
    }
  }
  registry::EventMetadataCache tables(embedded_metadata_fetcher(dir), clock, {.reload_every = 10s,
                                                                              .min_forced_interval = 2s});
  const warehouse::SqliteConfig warehouse_config{.path = dir.warehouse_db(),
                                                 .files = warehouse::locate_in_bucket_folders(**objects)};
  loader::LoaderConfig loader_config{
      .policy = {.count_trigger = options.load_count_trigger,
                 .age_trigger = std::chrono::seconds(options.load_age_seconds),
                 .lease = 60s},
      .no_work_delay = 1s,
      .error_retry_delay = 60s,
      .failed_load_check_interval = 5s};
  LoadManagerService manager(**store, **registry, **lock, [&] { return warehouse::make_sqlite_warehouse(warehouse_config); },
                             metrics, clock,
                             {.workers = options.workers,
                              .loader = loader_config,
                              // A laptop has no peak hours: migrate whenever a new version is seen.
                              .migrator = {.poll_period = 1s,
                                           .wait_processor_period = 1s,
                                           .offpeak = {.start_hour = 0, .duration_hours = 24}},
                              .reporter_period = 10s});
  if (!manager.prepare(stop)) {
    return stop.stop_requested() ? 0 : k_exit_startup_error;
  }
  // One process: a recorded file wakes the load workers at once.
  StorerService storer(**store, tables, metrics, clock,
                       {.queue = queue::LocalConfig{.inbox = dir.inbox(), .visibility_timeout = 60s},
                        .listeners = options.listeners,
                        .storer = {.wait = 1s, .on_recorded = [&manager] { manager.wake_loaders(); }},
                        .metadata_retry_delay = 1s});
  http::Server control;
  if (!options.control_addr.empty()) {
    manager.install_control(control, std::nullopt);
    if (auto started = start_server(control, options.control_addr); !started) {
      report_error("cannot serve the control API on " + options.control_addr, started.error());
      return k_exit_startup_error;
    }
  }
  manager.start(stop);
  if (!storer.start(stop)) {
    return 0;
  }
  const bool terminal = isatty(STDOUT_FILENO) != 0;
  std::fprintf(stderr, "rs_ingester: running on %s (control API %s); Ctrl-C stops\n", dir.root.c_str(),
               options.control_addr.empty() ? "off" : options.control_addr.c_str());
  int idle_polls = 0;
  // --until-idle looks more often, so that the run ends soon after the last commit.
  const auto tick = options.until_idle ? 250ms : 1000ms;
  while (sleep_unless_stopped(stop, tick)) {
    if (terminal) {
      std::printf("\r\033[K%s", progress_line(**store, manager.versions().snapshot(), clock.now()).c_str());
      std::fflush(stdout);
    }
    if (!options.until_idle) {
      continue;
    }
    // Nothing left in the inbox: load what waits now instead of waiting for the age trigger.
    if (auto pending = (*store)->pending_versions(); pending && !pending->empty()) {
      for (const auto& [table, version] : *pending) {
        (void)(*store)->request_force_load(table, "rs_ingester --until-idle", clock.now());
      }
      manager.wake_loaders();
    }
    idle_polls = idle(dir, **store) ? idle_polls + 1 : 0;
    if (idle_polls >= 2) {
      stop_source.request_stop(); // Everything loaded: stop like Ctrl-C would.
    }
  }
  if (terminal) {
    std::printf("\n");
  }
  storer.join();
  manager.join();
  control.stop();
  return 0;
}

int status(const DataDir& dir) {
  auto store = metadata::make_metadata_store(metadata::Config{metadata::SqliteConfig{.path = dir.ingester_db()}});
  auto objects = objectstore::make_local_object_store({.root = dir.objects()});
  if (!objects) {
    report_error("cannot open the data directory", objects.error());
    return k_exit_startup_error;
  }
  auto warehouse = warehouse::make_sqlite_warehouse(
      {.path = dir.warehouse_db(), .files = warehouse::locate_in_bucket_folders(**objects)});
  if (!store || !warehouse) {
    report_error("cannot open the data directory", store ? warehouse.error() : store.error());
    return k_exit_startup_error;
  }
  const TimePoint now = std::chrono::system_clock::now();
  const auto versions = (*warehouse)->table_versions().value_or(warehouse::TableVersions{});
  auto stats = (*store)->pending_stats(versions, 5);
  auto pending_versions = (*store)->pending_versions();
  auto in_flight = (*store)->in_flight_batches(now);
  auto stale = (*store)->stale_batches(5);
  if (!stats || !pending_versions || !in_flight || !stale) {
    std::fprintf(stderr, "rs_ingester: cannot read the ingester database\n");
    return k_exit_startup_error;
  }
  std::map<std::string, std::array<std::int64_t, 3>> files; // in queue, stale, pending migration
  std::map<std::string, double> oldest;
  for (const auto& stat : *stats) {
    files[stat.table][static_cast<std::size_t>(stat.kind)] += stat.count;
    oldest[stat.table] = std::max(oldest[stat.table], std::chrono::duration<double>(now - stat.oldest).count());
  }
  std::set<std::string> names;
  for (const auto& [table, version] : versions) {
    names.insert(table);
  }
  for (const auto& [table, counts] : files) {
    names.insert(table);
  }
  std::printf("%-32s %8s %8s %8s %8s %8s %10s %9s\n", "table", "version", "pending", "waiting", "migrate", "stale",
              "oldest(s)", "loading");
  for (const auto& table : names) {
    const auto version = versions.find(table);
    const auto pending = pending_versions->find(table);
    const auto counts = files[table];
    const auto loading = std::count_if(in_flight->begin(), in_flight->end(),
                                       [&](const metadata::Batch& batch) { return batch.table == table; });
    std::printf("%-32s %8s %8s %8lld %8lld %8lld %10.0f %9ld\n", table.c_str(),
                version == versions.end() ? "-" : std::to_string(version->second).c_str(),
                pending == pending_versions->end() ? "-" : std::to_string(pending->second).c_str(),
                static_cast<long long>(counts[0]), static_cast<long long>(counts[2]),
                static_cast<long long>(counts[1]), oldest[table], static_cast<long>(loading));
  }
  for (const auto& batch : *stale) {
    std::printf("stale batch %s (%s, %zu files, %d retries): %s\n", batch.manifest.c_str(), batch.table.c_str(),
                batch.keys.size(), batch.retry_count, batch.last_error.value_or("").c_str());
  }
  return 0;
}

int load(const DataDir& dir, const std::filesystem::path& file, const std::string& table, int version) {
  if (auto valid = core::validate_table_name(table); !valid) {
    report_error("--table", valid.error());
    return k_exit_config_error;
  }
  auto objects = objectstore::make_local_object_store({.root = dir.objects()});
  if (!objects) {
    report_error("cannot open the object store", objects.error());
    return k_exit_startup_error;
  }
  const std::string key = fmt::format("{}/{}/v{}/{}", DataDir::k_local_bucket, table, version, file.filename().string());
  if (auto stored = (*objects)->put_file(key, file); !stored) {
    report_error("cannot store " + file.string(), stored.error());
    return k_exit_startup_error;
  }
  const auto message = core::encode_file_pointer({.key_name = key, .table = table, .version = version});
  std::filesystem::create_directories(dir.inbox());
  if (auto published = queue::publish_local_message(dir.inbox(), message); !published) {
    report_error("cannot announce " + key, published.error());
    return k_exit_startup_error;
  }
  std::printf("stored %s as %s and announced it\n", file.c_str(), key.c_str());
  return 0;
}

} // namespace

int run_rs_ingester(int argc, char** argv) {
  StopOnSignals signals;
  http::CurlGlobal curl;
  CLI::App app{"rs_ingester: the embedded default — event files to warehouse rows on one machine, no services.\n"
               "DIR holds ingester.db, warehouse.db (SQLite), objects/, inbox/ and schemas/<table>/v<N>.json."};
  app.require_subcommand(1);
  std::string data_dir;
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "debug, info, warn or error (JSON lines on stderr)");

  RunOptions run_options;
  auto* run_command = app.add_subcommand("run", "Record announced files and load them, until Ctrl-C");
  run_command->add_option("--data-dir", data_dir, "Data directory")->required();
  run_command->add_option("--workers", run_options.workers, "Load workers")->check(CLI::Range(0, 64));
  run_command->add_option("--listeners", run_options.listeners, "Inbox listeners")->check(CLI::Range(1, 64));
  run_command->add_option("--load-age", run_options.load_age_seconds, "Seconds before a table's files load anyway");
  run_command->add_option("--load-count", run_options.load_count_trigger, "A table loads when more files wait");
  run_command->add_option("--control-addr", run_options.control_addr, "Control API address (\"\": none)");
  run_command->add_flag("--until-idle", run_options.until_idle, "Load what waits and exit once nothing is left");

  auto* status_command = app.add_subcommand("status", "Pending files, batches and versions per table");
  status_command->add_option("--data-dir", data_dir, "Data directory")->required();

  std::string file;
  std::string table;
  int version = 0;
  auto* load_command = app.add_subcommand("load", "Copy a local gzip TSV into the object store and announce it");
  load_command->add_option("file", file, "A gzip TSV file (Spade format)")->required()->check(CLI::ExistingFile);
  load_command->add_option("--table", table, "Table it feeds")->required();
  load_command->add_option("--version", version, "Schema version it was written for")->check(CLI::NonNegativeNumber);
  load_command->add_option("--data-dir", data_dir, "Data directory")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : k_exit_config_error;
  }
  log::Config log_config;
  if (!log::parse_level(log_level, log_config.level)) {
    std::fprintf(stderr, "rs_ingester: --log-level: unknown level \"%s\"\n", log_level.c_str());
    return k_exit_config_error;
  }
  log::init(log_config);
  const DataDir dir{std::filesystem::absolute(data_dir)};
  if (*run_command) {
    return run(dir, run_options, signals.source());
  }
  if (*status_command) {
    return status(dir);
  }
  return load(dir, file, table, version);
}

} // namespace rsi::app
