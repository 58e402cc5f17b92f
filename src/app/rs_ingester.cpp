// rs_ingester: the embedded default. `run` wires the same services as the two daemons
// (StorerService, LoadManagerService) over embedded backends in one data directory.
#include "app/rs_ingester.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <stop_token>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include "app/backfill_command.hpp"
#include "app/data_dir_commands.hpp"
#include "app/embedded.hpp"
#include "app/load_manager_service.hpp"
#include "app/redshift_smoke.hpp"
#include "app/rejected_command.hpp"
#include "app/replay_setup.hpp"
#include "app/signals.hpp"
#include "app/startup.hpp"
#include "app/storer_service.hpp"
#include "common/log.hpp"
#include "common/sleep.hpp"
#include "config/cli.hpp"
#include "config/control_api_config.hpp"
#include "config/go_flags.hpp"
#include "core/route.hpp"
#include "http/curl_global.hpp"
#include "ingestdb/factory.hpp"
#include "ingestdb/migrator_lock.hpp"
#include "objectstore/local_object_store.hpp"
#include "queue/local_queue.hpp"
#include "registry/local_registry.hpp"
#include "status/status.hpp"
#include "storer/storer.hpp"
#include "warehouse/sqlite_warehouse.hpp"

namespace rsi::app {
namespace {

using namespace std::chrono_literals;

// `run`'s flags. The embedded default's own choices: two workers and listeners, and a 30 s age
// trigger (a laptop wants its rows soon); every other default is the daemons'.
struct RunOptions {
  int workers = 2;
  int listeners = 2;
  int load_age_seconds = 30;
  int load_count_trigger = static_cast<int>(ingestdb::ClaimPolicy{}.count_trigger);
  std::size_t max_batch_files = 0; // rsloadmanager's --max-batch-files.
  std::uint32_t max_bad_rows = 0;
  config::ControlApiConfig control{.address = "127.0.0.1:8080"};
  bool until_idle = false;
  std::size_t max_message_bytes = queue::LocalConfig{}.max_message_bytes;
  int unknown_table_retry_seconds =
      static_cast<int>(storer::StorerConfig{}.unknown_table_retry.count());
  int unknown_table_wait_seconds =
      static_cast<int>(storer::StorerConfig{}.unknown_table_wait.count());
  std::vector<std::string> route_specs; // --route
  std::vector<core::Route> routes;      // The same, parsed.
};

// --until-idle looks when work stops moving (Activity): once nothing moved for k_idle_quiet, and at
// least every k_idle_fallback while busy (what moves without telling, such as a lease running out
// or a migration); "idle" must then hold for k_idle_settle (data_dir_commands.hpp).
constexpr auto k_idle_quiet = 250ms;
constexpr auto k_idle_fallback = 2s;
constexpr auto k_inbox_wait = 1s;

// Work moving in this process: files recorded, batches' outcomes recorded, orphans resolved.
// --until-idle waits on it instead of reading the database on a timer. Thread-safe.
class Activity {
public:
  void note() {
    {
      const std::lock_guard lock(m_mutex);
      ++m_generation;
      m_last = std::chrono::steady_clock::now();
    }
    m_changed.notify_all();
  }

  [[nodiscard]] std::uint64_t generation() {
    const std::lock_guard lock(m_mutex);
    return m_generation;
  }

  // Until something is noted after `seen` (a generation()), `timeout` passes or a stop. false:
  // stopped.
  bool wait_change(std::stop_token stop, std::uint64_t seen, std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_mutex);
    m_changed.wait_for(lock, stop, timeout, [&] { return m_generation != seen; });
    return !stop.stop_requested();
  }

  // Until nothing was noted for `quiet`, or `limit` passed. false: stopped.
  bool wait_quiet(std::stop_token stop, std::chrono::milliseconds quiet,
                  std::chrono::milliseconds limit) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    std::unique_lock lock(m_mutex);
    while (!stop.stop_requested()) {
      const auto now = std::chrono::steady_clock::now();
      const auto quiet_at = m_last + quiet;
      if (now >= quiet_at || now >= give_up) {
        return true;
      }
      const std::uint64_t seen = m_generation;
      m_changed.wait_until(lock, stop, std::min(quiet_at, give_up),
                           [&] { return m_generation != seen; });
    }
    return false;
  }

private:
  std::mutex m_mutex;
  std::condition_variable_any m_changed;
  std::uint64_t m_generation = 0;
  std::chrono::steady_clock::time_point m_last;
};

// The embedded default's load policy: the daemons' defaults at a laptop's pace.
loader::LoaderConfig embedded_loader_config(const RunOptions& options, Activity& activity) {
  loader::LoaderConfig config;
  config.on_progress = [&activity] { activity.note(); };
  config.policy.count_trigger = options.load_count_trigger;
  config.policy.max_files = options.max_batch_files;
  // --until-idle: nothing more is coming that a batch could wait for, so whatever waits loads now.
  config.policy.age_trigger =
      options.until_idle ? 0s : std::chrono::seconds(options.load_age_seconds);
  // One process on one machine: after a crash, its batches are free again within a minute.
  config.policy.lease = 60s;
  config.no_work_delay = 1s;
  config.error_retry_delay = 60s;
  config.failed_load_check_interval = 5s;
  config.max_bad_rows = options.max_bad_rows;
  return config;
}

// What `run` opens in the data directory.
struct EmbeddedBackends {
  std::unique_ptr<ingestdb::IngestDb> store;
  std::unique_ptr<ingestdb::MigratorLock> lock;
  std::unique_ptr<objectstore::ObjectStore> objects;
  std::unique_ptr<registry::SchemaRegistry> registry;
};

Result<EmbeddedBackends> open_backends(const DataDir& dir) {
  std::filesystem::create_directories(dir.schemas());
  std::filesystem::create_directories(dir.objects());
  const ingestdb::Config ingest_db_config{ingestdb::SqliteConfig{.path = dir.ingester_db()}};
  EmbeddedBackends opened;
  RSI_TRY_ASSIGN(opened.store, ingestdb::make_ingest_db(ingest_db_config));
  RSI_TRY_ASSIGN(opened.lock, ingestdb::make_migrator_lock(ingest_db_config));
  RSI_TRY_ASSIGN(opened.objects, objectstore::make_local_object_store({.root = dir.objects()}));
  RSI_TRY_ASSIGN(opened.registry, registry::make_local_registry({.root = dir.schemas()}));
  return opened;
}

// Until a stop (Ctrl-C, or --until-idle's own once idle): a progress line on a terminal, and
// the --until-idle watch. Returns the snapshot that found the work done (nullopt: a signal).
//
// --until-idle reads a snapshot when work stops moving (nothing noted for k_idle_quiet), at least
// every k_idle_fallback (every second on a terminal); idle counts once a snapshot shows it, nothing
// moves for k_idle_settle, and a second snapshot still shows it.
std::optional<status::Snapshot> watch(const RunOptions& options,
                                      const std::function<Result<status::Snapshot>()>& take,
                                      Activity& activity, std::stop_source& stop_source) {
  const std::stop_token stop = stop_source.get_token();
  const bool terminal = isatty(STDOUT_FILENO) != 0;
  const auto show = [&](const Result<status::Snapshot>& snapshot) {
    if (terminal) {
      std::printf("\r\033[K%s", progress_line(snapshot).c_str());
      std::fflush(stdout);
    }
  };
  std::optional<status::Snapshot> last;
  if (!options.until_idle) {
    while (sleep_unless_stopped(stop, 1000ms)) {
      if (terminal) {
        show(take());
      }
    }
  } else {
    const std::chrono::milliseconds cap = terminal ? 1000ms : k_idle_fallback;
    bool look_now = true;
    std::uint64_t seen = 0;
    while (!stop.stop_requested()) {
      if (!look_now && (!activity.wait_change(stop, seen, cap) ||
                        !activity.wait_quiet(stop, k_idle_quiet, cap))) {
        break;
      }
      look_now = false;
      seen = activity.generation();
      auto snapshot = take();
      show(snapshot);
      if (!shows_idle(snapshot)) {
        continue;
      }
      if (!activity.wait_change(stop, seen, k_idle_settle)) {
        break;
      }
      if (activity.generation() != seen) {
        continue; // Work moved meanwhile: look again once it settles.
      }
      snapshot = take();
      show(snapshot);
      if (shows_idle(snapshot)) {
        last = std::move(*snapshot);
        stop_source.request_stop(); // Everything that could load did: stop like Ctrl-C would.
      }
    }
  }
  if (terminal) {
    std::printf("\n");
  }
  return last;
}

LoadManagerOptions embedded_manager_options(const RunOptions& options, Activity& activity) {
  return {.workers = options.workers,
          .loader = embedded_loader_config(options, activity),
          // A laptop has no peak hours: migrate whenever a new version is seen.
          .migrator = {.poll_period = 1s,
                       .wait_processor_period = 1s,
                       .offpeak = {.start_hour = 0, .duration_hours = 24}},
          .reporter_period = 10s};
}

// The storer of `dir`'s inbox. One process: a recorded file wakes the load workers at once.
StorerServiceOptions embedded_storer_options(const DataDir& dir, const RunOptions& options,
                                             registry::SchemaRegistry& registry,
                                             LoadManagerService& manager, Activity& activity) {
  return {
      .queue = queue::LocalConfig{.inbox = dir.inbox(),
                                  .visibility_timeout = 60s,
                                  .max_message_bytes = options.max_message_bytes},
      .listeners = options.listeners,
      .storer = {.wait = k_inbox_wait,
                 .on_recorded =
                     [&manager, &activity] {
                       manager.wake_loaders();
                       activity.note();
                     },
                 .unknown_table_retry = std::chrono::seconds(options.unknown_table_retry_seconds),
                 .unknown_table_wait = std::chrono::seconds(options.unknown_table_wait_seconds),
                 .routing = {.routes = options.routes,
                             .current_version =
                                 [&registry](std::string_view table) {
                                   return registry.current_version(table);
                                 }}},
      .metadata_retry_delay = 1s};
}

void announce_running(const DataDir& dir, const RunOptions& options) {
  std::fprintf(stderr, "rs_ingester: running on %s (control API %s%s); Ctrl-C stops\n",
               dir.root.c_str(),
               options.control.address.empty() ? "off" : options.control.address.c_str(),
               options.control.address.empty() || !options.control.token ? "" : ", with a token");
  for (const auto& route : options.routes) {
    std::fprintf(stderr, "rs_ingester: S3 keys routed by --route '%s'\n", route.text().c_str());
  }
}

int run(const DataDir& dir, const RunOptions& options, std::stop_source& stop_source) {
  const std::stop_token stop = stop_source.get_token();
  SystemClock clock;
  const TimePoint run_started = clock.now();
  const std::int64_t set_aside_before =
      queue::local_inbox_depth(dir.inbox(), run_started).value_or(queue::QueueDepth{}).set_aside;
  telemetry::Metrics metrics("rs_ingester");
  Activity activity;
  auto opened = open_backends(dir);
  if (!opened) {
    report_error("cannot open the data directory", opened.error());
    return k_exit_startup_error;
  }
  EmbeddedBackends& backends = *opened;
  registry::EventMetadataCache tables(embedded_metadata_fetcher(dir), clock,
                                      {.reload_every = 10s, .min_forced_interval = 2s});
  const warehouse::SqliteConfig warehouse_config{
      .path = dir.warehouse_db(), .files = warehouse::locate_in_bucket_folders(*backends.objects)};
  LoadManagerService manager(
      *backends.store, *backends.registry, *backends.lock,
      [&] { return warehouse::make_sqlite_warehouse(warehouse_config); }, metrics, clock,
      embedded_manager_options(options, activity));
  if (!manager.prepare(stop)) {
    return stop.stop_requested() ? 0 : k_exit_startup_error;
  }
  StorerService storer(
      *backends.store, tables, metrics, clock,
      embedded_storer_options(dir, options, *backends.registry, manager, activity));
  const auto replayer = make_replayer(*backends.store, tables, backends.registry.get(),
                                      options.routes, clock, metrics);
  http::Server control(control_server_options(options.control));
  if (!options.control.address.empty()) {
    manager.install_control(
        control, [&] { return queue::local_inbox_depth(dir.inbox(), clock.now()); },
        core::route_texts(options.routes), replay_function(*replayer));
    if (auto started = start_server(control, options.control.address); !started) {
      report_error("cannot serve the control API on " + options.control.address, started.error());
      return k_exit_startup_error;
    }
  }
  manager.start(stop);
  if (!storer.start(stop)) {
    return 0;
  }
  announce_running(dir, options);
  const auto last = watch(
      options,
      [&] {
        return status::take_snapshot(
            snapshot_sources(dir, *backends.store, manager.versions().snapshot(), clock),
            clock.now());
      },
      activity, stop_source);
  storer.join();
  manager.join();
  control.stop();
  if (!last) {
    return 0; // Stopped by a signal.
  }
  auto rejected = backends.store->count_rejected(run_started);
  return report_left_behind(*last, rejected.value_or(0),
                            last->queue ? last->queue->set_aside - set_aside_before : 0);
}

void add_run_flags(CLI::App& command, RunOptions& options, config::ControlApiFlags& control_flags) {
  command.add_option("--workers", options.workers, "Load workers")->check(CLI::Range(0, 64));
  command.add_option("--listeners", options.listeners, "Inbox listeners")->check(CLI::Range(1, 64));
  command.add_option("--load-age", options.load_age_seconds,
                     "Seconds before a table's files load anyway");
  command.add_option("--load-count", options.load_count_trigger,
                     "A table loads when more files wait");
  config::add_max_batch_files_flag(command, options.max_batch_files);
  config::add_max_bad_rows_flag(command, options.max_bad_rows);
  command.add_option("--control-addr", options.control.address, "Control API address (\"\": none)");
  config::add_control_api_flags(command, control_flags, options.control);
  command
      .add_option("--max-message-bytes", options.max_message_bytes,
                  "Larger inbox files are set aside in inbox/rejected, unread")
      ->check(CLI::Range(std::size_t{1}, std::size_t{64} * 1024 * 1024));
  command.add_option("--unknown-table-retry", options.unknown_table_retry_seconds,
                     "Seconds before a message of a table without a schema is tried again");
  command.add_option("--unknown-table-wait", options.unknown_table_wait_seconds,
                     "Seconds such a message waits for its schema before it is rejected");
  config::add_route_flag(command, options.route_specs);
  command.add_flag("--until-idle", options.until_idle,
                   "Load what waits at once and exit when nothing is left (docs/configuration.md)");
}

// The subcommands that work on a data directory (run, status, wait, load) and what their flags
// set.
struct DataDirCommands {
  std::string data_dir;
  RunOptions run_options;
  config::ControlApiFlags control_flags;
  int wait_seconds = 600;
  std::string file; // load's
  std::string table;
  int version = 0;
  CLI::App* run = nullptr;
  CLI::App* status = nullptr;
  CLI::App* wait = nullptr;
  CLI::App* load = nullptr;
};

void add_data_dir_commands(CLI::App& app, DataDirCommands& commands) {
  commands.run = app.add_subcommand("run", "Record announced files and load them, until Ctrl-C");
  commands.run->add_option("--data-dir", commands.data_dir, "Data directory")->required();
  add_run_flags(*commands.run, commands.run_options, commands.control_flags);

  commands.status =
      app.add_subcommand("status", "Inbox, pending files, batches and versions per table");
  commands.status->add_option("--data-dir", commands.data_dir, "Data directory")->required();

  commands.wait = app.add_subcommand(
      "wait", "Wait until a running `run` has loaded everything announced (the --until-idle rule)");
  commands.wait->add_option("--data-dir", commands.data_dir, "Data directory")->required();
  commands.wait->add_option("--timeout", commands.wait_seconds, "Give up after this many seconds")
      ->check(CLI::PositiveNumber);

  commands.load =
      app.add_subcommand("load", "Copy a local gzip TSV into the object store and announce it");
  commands.load->add_option("file", commands.file, "A gzip TSV file (Spade format)")
      ->required()
      ->check(CLI::ExistingFile);
  commands.load->add_option("--table", commands.table, "Table it feeds")->required();
  commands.load->add_option("--version", commands.version, "Schema version it was written for")
      ->check(CLI::NonNegativeNumber);
  commands.load->add_option("--data-dir", commands.data_dir, "Data directory")->required();
}

// The chosen one of the data directory's subcommands, to its exit status.
int run_data_dir_command(DataDirCommands& commands, StopOnSignals& signals) {
  RunOptions& run_options = commands.run_options;
  const DataDir dir{std::filesystem::absolute(commands.data_dir)};
  if (auto timing = storer::check_unknown_table_timing(
          std::chrono::seconds(run_options.unknown_table_wait_seconds),
          std::chrono::seconds(run_options.unknown_table_retry_seconds));
      !timing) {
    std::fprintf(stderr, "rs_ingester: %s\n", timing.error().message.c_str());
    return k_exit_config_error;
  }
  if (*commands.run) {
    try {
      config::finish_control_api(commands.control_flags, http::process_environment(),
                                 run_options.control);
      run_options.routes = config::resolve_routes(run_options.route_specs);
    } catch (const config::ConfigError& error) {
      std::fprintf(stderr, "rs_ingester: %s\n", error.what());
      return k_exit_config_error;
    }
    warn_if_exposed("rs_ingester", run_options.control);
    return run(dir, run_options, signals.source());
  }
  if (*commands.status) {
    return status_command(dir);
  }
  if (*commands.wait) {
    return wait_command(dir, std::chrono::seconds(commands.wait_seconds),
                        signals.source().get_token());
  }
  return load_command(dir, commands.file, commands.table, commands.version);
}

} // namespace

int run_rs_ingester(int argc, char** argv) {
  keep_new_files_private();
  StopOnSignals signals;
  http::CurlGlobal curl;
  CLI::App app{"rs_ingester: the embedded default — event files to warehouse rows on one machine, "
               "no services.\n"
               "DIR holds ingester.db, warehouse.db (SQLite), objects/, inbox/ and "
               "schemas/<table>/v<N>.json."};
  app.require_subcommand(1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "debug, info, warn or error (JSON lines on stderr)");
  DataDirCommands data_dir_commands;
  add_data_dir_commands(app, data_dir_commands);
  RejectedCommand rejected(app);
  RedshiftSmokeCommand redshift_smoke(app);
  BackfillFlags backfill_flags;
  auto* backfill_command = add_backfill_command(app, backfill_flags);

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
  if (rejected.chosen()) {
    return rejected.run();
  }
  if (redshift_smoke.chosen()) {
    return redshift_smoke.run(std::cout);
  }
  if (*backfill_command) {
    return run_backfill_command(backfill_flags, signals.token());
  }
  return run_data_dir_command(data_dir_commands, signals);
}

} // namespace rsi::app
