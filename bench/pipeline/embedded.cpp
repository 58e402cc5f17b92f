// The embedded default (`rs_ingester run`: SQLite ingester database and warehouse, local object
// store and inbox) against the SQLite warehouse backend's own load of the same files.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/uuid.hpp"
#include "core/file_pointer.hpp"
#include "objectstore/local_object_store.hpp"
#include "pipeline_bench.hpp"
#include "queue/local_queue.hpp"
#include "spade_generator.hpp"
#include "sqlite/database.hpp"
#include "support/process.hpp"
#include "warehouse/batch_files.hpp"
#include "warehouse/sqlite_warehouse.hpp"

namespace rsi::bench {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto k_inbox_bucket = "spade"; // The bucket folder under objects/.

void remove_database(const fs::path& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    fs::remove(path.string() + suffix);
  }
}

// Every table at version 0, as the migrator would leave it: both designs load into existing
// tables, and table creation is timed in neither.
void create_tables(const fs::path& objects_root, const fs::path& db_path,
                   const Workload& workload) {
  auto objects = value_or_die(objectstore::make_local_object_store({.root = objects_root}));
  auto warehouse = value_or_die(warehouse::make_sqlite_warehouse(
      {.path = db_path, .files = warehouse::locate_in_bucket_folders(*objects)}));
  for (const auto& table : workload.tables) {
    value_or_die(warehouse->apply_migration(table, 0, table_operations(), 1min));
  }
}

// A data directory for `rs_ingester run`: the objects in place, one schema per table, and
// fresh databases and inbox.
void reset_data_dir(const fs::path& root, const Workload& workload) {
  for (const auto& table : workload.tables) {
    fs::create_directories(root / "schemas" / table);
    std::ofstream(root / "schemas" / table / "v0.json") << bench_schema_json();
  }
  fs::remove(root / "run.log");
  remove_database(root / "ingester.db");
  remove_database(root / "warehouse.db");
  fs::remove_all(root / "inbox");
  fs::create_directories(root / "inbox");
  create_tables(root / "objects", root / "warehouse.db", workload);
}

std::int64_t scalar(sqlite::Database& db, const std::string& sql) {
  auto* statement = value_or_die(db.cached(sql));
  const bool row = value_or_die(statement->step());
  const std::int64_t value = row ? statement->integer(0) : -1;
  statement->reset(); // Ends the read transaction: the next poll sees the newest commit.
  return value;
}

std::int64_t files_committed(sqlite::Database& db) {
  return scalar(db, R"(SELECT coalesce(sum(file_count), 0) FROM "infra.load_manifest")");
}

std::int64_t loads_committed(sqlite::Database& db) {
  return scalar(db, R"(SELECT count(*) FROM "infra.load_manifest")");
}

std::int64_t rows_in(sqlite::Database& db, const std::string& table) {
  return scalar(db,
                fmt::format("SELECT count(*) FROM {}", sqlite::Database::quote_identifier(table)));
}

void check_rows(const fs::path& db_path, const std::string& table, std::uint64_t expected,
                const char* who) {
  auto db = value_or_die(sqlite::Database::open(db_path));
  if (const auto rows = rows_in(db, table); rows != static_cast<std::int64_t>(expected)) {
    die(fmt::format("{}: {} holds {} rows, expected {}", who, table, rows, expected));
  }
}

void announce(const fs::path& inbox, const std::string& key, const std::string& table) {
  value_or_die(queue::publish_local_message(
      inbox,
      core::encode_file_pointer(
          {.key_name = fmt::format("{}/{}", k_inbox_bucket, key), .table = table, .version = 0})));
}

PipelineRun run_pipeline(const Options& options, const Workload& workload, const fs::path& root) {
  reset_data_dir(root, workload);
  for (const auto& file : workload.files) {
    announce(root / "inbox", file.key, file.table);
  }
  auto db = value_or_die(sqlite::Database::open(root / "warehouse.db"));
  const auto total = static_cast<std::int64_t>(workload.files.size());

  const auto started = SteadyClock::now();
  test::Process daemon(RSI_RS_INGESTER_BIN,
                       {"--log-level", "info", "run", "--data-dir", root.string(), "--until-idle",
                        "--control-addr", "", "--workers", std::to_string(options.workers)},
                       root / "run.log");
  if (!poll_until(300s, 10ms, [&] { return files_committed(db) >= total || !daemon.running(); }) ||
      files_committed(db) != total) {
    die("rs_ingester did not load every file; its log:\n" + daemon.log_text());
  }
  PipelineRun run{.commit_seconds = seconds_since(started)};
  run.first_batch_seconds =
      seconds_since(started) -
      static_cast<double>(
          scalar(db, R"(SELECT CAST((julianday('now') - julianday(min(loaded_at))) * 86400000 )"
                     R"(AS INTEGER) FROM "infra.load_manifest")")) /
          1000;
  const auto status = daemon.wait(120s);
  run.exit_seconds = seconds_since(started);
  if (!status || *status != 0) {
    die("rs_ingester --until-idle did not exit cleanly; its log:\n" + daemon.log_text());
  }
  for (const auto& table : workload.tables) {
    check_rows(root / "warehouse.db", table, workload.rows_of(table), "rs_ingester");
  }
  return run;
}

core::ObjectLocation url_of(const std::string& key) { return {k_inbox_bucket, key}; }

// The floor: the SQLite warehouse backend in a process of its own loads the same files from the
// same object store, one batch (one transaction) per table, one table after the other (SQLite
// has one writer at a time).
bool load_directly(const fs::path& objects_root, const fs::path& db_path,
                   const std::vector<warehouse::LoadRequest>& batches) {
  auto objects = objectstore::make_local_object_store({.root = objects_root});
  if (!objects) {
    return false;
  }
  auto warehouse = warehouse::make_sqlite_warehouse(
      {.path = db_path, .files = warehouse::locate_in_bucket_folders(**objects)});
  if (!warehouse) {
    return false;
  }
  for (auto batch : batches) {
    batch.manifest = new_uuid();
    if (auto loaded = (*warehouse)->load_batch(batch); !loaded) {
      std::fprintf(stderr, "pipeline_bench: direct load: %s\n", loaded.error().message.c_str());
      return false;
    }
  }
  return true;
}

double run_floor(const Workload& workload, const fs::path& objects_root, const fs::path& root) {
  fs::create_directories(root);
  remove_database(root / "warehouse.db");
  create_tables(objects_root, root / "warehouse.db", workload);
  std::vector<warehouse::LoadRequest> batches;
  for (const auto& table : workload.tables) {
    warehouse::LoadRequest batch{.table = table, .version = 0};
    for (const auto& key : workload.keys_of(table)) {
      batch.files.push_back(url_of(key));
    }
    batches.push_back(std::move(batch));
  }
  const ChildRun run =
      in_child([&] { return load_directly(objects_root, root / "warehouse.db", batches); });
  for (const auto& table : workload.tables) {
    check_rows(root / "warehouse.db", table, workload.rows_of(table), "direct load");
  }
  return run.seconds;
}

// The baseline: the sqlite3 shell's `.import` of the same rows already converted to text (tabs
// between fields; bench/warehouse's conversion, not timed), into the same tables created by our
// DDL, all in one transaction, process start included. It cannot load what our loader loads
// (NULL stays the text \\N, escapes stay as they are, booleans and timestamps stay text), but
// it is the fastest way SQLite's own tool puts these rows into a database.
double run_import(const Workload& workload, const fs::path& objects_root, const fs::path& root) {
  fs::create_directories(root);
  remove_database(root / "warehouse.db");
  create_tables(objects_root, root / "warehouse.db", workload);
  const fs::path script = root / "import.sql";
  {
    std::ofstream out(script);
    out << ".mode tabs\nBEGIN;\n";
    for (const auto& file : workload.files) {
      out << fmt::format(".import '{}' {}\n", fs::absolute(file.text).string(),
                         sqlite::Database::quote_identifier(file.table));
    }
    out << "COMMIT;\n";
  }
  std::fflush(nullptr);
  const auto started = SteadyClock::now();
  const pid_t child = fork();
  if (child == 0) {
    const std::string read = ".read " + script.string();
    execlp("sqlite3", "sqlite3", "-batch", "-bail", (root / "warehouse.db").c_str(), read.c_str(),
           nullptr);
    _exit(127);
  }
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    die("sqlite3 .import failed (is the sqlite3 shell installed? scripts/setup installs it)");
  }
  const double seconds = seconds_since(started);
  for (const auto& table : workload.tables) {
    check_rows(root / "warehouse.db", table, workload.rows_of(table), "sqlite3 .import");
  }
  return seconds;
}

} // namespace

void embedded_throughput(const Options& options, const Workload& workload) {
  const fs::path root = options.dir / "embedded";
  for (const auto& file : workload.files) {
    place_file(file.path, root / "objects" / k_inbox_bucket / file.key);
  }
  std::printf("\n[embedded] throughput: rs_ingester run --until-idle --workers %d against the "
              "SQLite backend's direct load of the same files and sqlite3's .import of the same "
              "rows pre-converted\n",
              options.workers);
  std::vector<PipelineRun> pipeline;
  std::vector<double> exits;
  std::vector<double> floor;
  std::vector<double> imports;
  for (int run = 0; run < options.runs; ++run) {
    for (int turn = 0; turn < 3; ++turn) { // Rotate which design goes first.
      if ((run + turn) % 3 == 2) {
        imports.push_back(run_import(workload, root / "objects", options.dir / "sqlite-import"));
        print_rates(fmt::format("run {} sqlite3 .import", run).c_str(), workload, imports.back());
      } else if ((run + turn) % 3 == 0) {
        pipeline.push_back(run_pipeline(options, workload, root));
        exits.push_back(pipeline.back().exit_seconds);
        print_rates(fmt::format("run {} rs_ingester", run).c_str(), workload,
                    pipeline.back().commit_seconds,
                    fmt::format("  (first batch {:.2f} s, exit {:.2f} s)",
                                pipeline.back().first_batch_seconds, pipeline.back().exit_seconds));
      } else {
        floor.push_back(run_floor(workload, root / "objects", options.dir / "sqlite-floor"));
        print_rates(fmt::format("run {} direct SQLite load", run).c_str(), workload, floor.back());
      }
      std::fflush(stdout);
    }
  }
  print_throughput_summary("rs_ingester", "direct SQLite load (floor)", workload, pipeline, floor);
  print_rates("sqlite3 .import of the rows pre-converted (baseline)", workload, median(imports));
  std::vector<double> commits;
  for (const auto& run : pipeline) {
    commits.push_back(run.commit_seconds);
  }
  std::printf("  rs_ingester / sqlite3 .import: %.2fx its rate from the start\n",
              median(imports) / median(commits));
  std::printf("  rs_ingester --until-idle exited %.2f s after the start\n", median(exits));
}

void embedded_latency(const Options& options, const Workload& workload) {
  const fs::path root = options.dir / "embedded-latency";
  const fs::path floor_root = options.dir / "sqlite-floor-latency";
  const std::string& table = workload.latency.table;
  for (int index = 0; index < options.latency_files; ++index) {
    place_file(workload.latency.path,
               root / "objects" / k_inbox_bucket / latency_key(table, index));
  }
  reset_data_dir(root, workload);
  fs::create_directories(floor_root);
  remove_database(floor_root / "warehouse.db");
  create_tables(root / "objects", floor_root / "warehouse.db", workload);
  const std::vector<warehouse::LoadRequest> floor_batch{
      {.table = table, .version = 0, .files = {url_of(latency_key(table, 0))}}};

  std::printf("\n[embedded] notification-to-commit latency: one file of %llu rows (%.0f KiB gzip) "
              "announced to an idle rs_ingester run --load-count 0 (inbox watched with inotify; "
              "idle load workers poll every 1 s)\n",
              static_cast<unsigned long long>(workload.latency.rows),
              static_cast<double>(workload.latency.gzip_bytes) / 1024);
  test::Process daemon(RSI_RS_INGESTER_BIN,
                       {"--log-level", "info", "run", "--data-dir", root.string(), "--load-count",
                        "0", "--control-addr", "", "--workers", std::to_string(options.workers)},
                       root / "run.log");
  if (!poll_until(60s, 50ms,
                  [&] {
                    return daemon.log_text().find("running on") != std::string::npos ||
                           !daemon.running();
                  }) ||
      !daemon.running()) {
    die("rs_ingester did not start; its log:\n" + daemon.log_text());
  }
  std::this_thread::sleep_for(2s); // Past the workers' first idle poll.
  auto db = value_or_die(sqlite::Database::open(root / "warehouse.db"));
  auto ingester = value_or_die(sqlite::Database::open(root / "ingester.db"));

  // Each announcement at an even share of the poll period after the previous commit: the idle
  // workers' next look is locked to their last one, so this spreads the samples over the wait.
  const auto phases = announcement_phases(options.latency_files);
  auto last_commit = SteadyClock::now();
  std::vector<double> pipeline;
  std::vector<double> recorded; // Announcement to the pointer in the ingester database.
  std::vector<double> floor;
  for (int index = 0; index < options.latency_files; ++index) {
    for (int turn = 0; turn < 2; ++turn) {
      if ((index + turn) % 2 == 0) {
        sleep_until_phase(last_commit, phases[static_cast<std::size_t>(index)]);
        const auto started = SteadyClock::now();
        announce(root / "inbox", latency_key(table, index), table);
        std::optional<double> recorded_at;
        if (!poll_until(120s, 2ms, [&] {
              const bool loaded = loads_committed(db) > index;
              if (!recorded_at && (loaded || scalar(ingester, "SELECT count(*) FROM tsv") > 0)) {
                recorded_at = seconds_since(started);
              }
              return loaded;
            })) {
          die("the announced file was not loaded; rs_ingester's log:\n" + daemon.log_text());
        }
        last_commit = SteadyClock::now();
        pipeline.push_back(seconds_since(started));
        recorded.push_back(*recorded_at);
      } else {
        floor.push_back(in_child([&] {
                          return load_directly(root / "objects", floor_root / "warehouse.db",
                                               floor_batch);
                        }).seconds);
      }
    }
  }
  daemon.signal(SIGTERM);
  if (const auto status = daemon.wait(30s); !status || *status != 0) {
    die("rs_ingester did not stop cleanly; its log:\n" + daemon.log_text());
  }
  check_rows(root / "warehouse.db", table,
             workload.latency.rows * static_cast<std::uint64_t>(options.latency_files),
             "rs_ingester");
  print_latency("rs_ingester", pipeline, recorded, floor, "direct SQLite load (floor)");
}

} // namespace rsi::bench
