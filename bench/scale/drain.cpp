// The drain and start-up sections.
//
// drain: N files wait over T tables (recorded beforehand, every table created at version 0);
// the loaders drain them into the warehouse. Files/s, CPU per file (the process's, plus on
// PostgreSQL the server's) and peak RSS, per N: the cost of a file should not depend on how many
// wait behind it.
//   - postgres: rsloadmanager's loader (loader::Loader: W workers, the lease keeper, versions from
//     a migrator::VersionCache) in a process of its own, against a PostgreSQL ingester schema
//     and a PostgreSQL warehouse database; the files come from a local object store.
//   - sqlite: the embedded default itself, `rs_ingester run --until-idle` on a data directory
//     whose ingester.db holds the backlog and whose warehouse.db holds the tables.
// Every file is one hard link to the same small generated Spade file (bench/warehouse's
// generator, --rows rows).
//
// startup: T tables created at version 0 one after the other, as the migrator creates the tables
// of a new deployment; the time per table of the first and of the last tenth (linear in T when
// they match). postgres: the PostgreSQL warehouse's apply_migration; sqlite: `rs_ingester run
// --until-idle` on T tables with one file each and no table yet (its migrator creates them, then
// the files load), the creations timed through infra.table_version.
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.hpp"
#include "common/gzip.hpp"
#include "common/log.hpp"
#include "ingestdb/postgres_ingest_db.hpp"
#include "ingestdb/sqlite_ingest_db.hpp"
#include "loader/loader.hpp"
#include "migrator/version_cache.hpp"
#include "objectstore/local_object_store.hpp"
#include "pg/connection.hpp"
#include "scale_bench.hpp"
#include "spade_generator.hpp"
#include "sqlite/database.hpp"
#include "telemetry/metrics.hpp"
#include "warehouse/batch_files.hpp"
#include "warehouse/postgres_warehouse.hpp"
#include "warehouse/sqlite_warehouse.hpp"

namespace rsi::bench {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto k_physical_schema = "scale";

struct DrainRun {
  double seconds = 0;     // The drain alone (postgres), or first to last load (sqlite).
  double cpu_seconds = 0; // The process's, start to exit.
  ServerCpu server;       // PostgreSQL's, over the drain.
  long max_rss_kib = 0;
};

double cpu_seconds(const rusage& usage) {
  const auto seconds = [](const timeval& time) {
    return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Waits for `child`; dies unless it exited with 0.
rusage wait_for(pid_t child, const std::string& what) {
  int status = 0;
  rusage usage{};
  if (child < 0 || wait4(child, &status, 0, &usage) != child || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    die(what + " failed");
  }
  return usage;
}

// The file every object links to: whole rows of the benchmark table, about 330 bytes each, until
// --rows rows (written once per --rows).
fs::path source_file(const Options& options, std::uint64_t& rows) {
  const fs::path path = options.dir / fmt::format("source-{}.gz", options.rows);
  const std::string text =
      spade_text(static_cast<std::uint64_t>(std::max(options.rows - 1, 0)) * 330 + 1, 7, rows);
  if (!fs::exists(path)) {
    const fs::path making = path.string() + ".making";
    std::ofstream(making, std::ios::binary) << value_or_die(gzip(text));
    fs::rename(making, path);
  }
  return path;
}

// objects/scale/<table>/v0/f<i>.gz for i < waiting, hard links to copies of `source` (made once,
// kept).
void link_objects(const fs::path& root, const fs::path& source, int tables, std::int64_t waiting) {
  const fs::path marker = root / fmt::format(".linked-{}", tables);
  std::int64_t done = 0;
  std::ifstream(marker) >> done;
  if (done >= waiting) {
    return;
  }
  for (int table = 0; table < tables; ++table) {
    fs::create_directories(root / "scale" / table_name(table) / "v0");
  }
  // A file takes at most 65,000 links (ext4): a copy of the source for every 60,000 objects.
  constexpr std::int64_t k_links_per_copy = 60'000;
  fs::path copy;
  for (std::int64_t index = done; index < waiting; ++index) {
    if (index == done || index % k_links_per_copy == 0) {
      copy = root / fmt::format(".source-{}.{}", tables, index / k_links_per_copy);
      if (!fs::exists(copy)) {
        fs::copy_file(source, copy);
      }
    }
    const fs::path link = root / key_name(index % tables, index);
    if (::link(copy.c_str(), link.c_str()) != 0 && errno != EEXIST) {
      die(fmt::format("link {}: {}", link.string(), std::strerror(errno)));
    }
  }
  std::ofstream(marker) << waiting;
}

// --- PostgreSQL ---------------------------------------------------------------------------

// A warehouse database of this process with `tables` tables at version 0 (created once, emptied
// before each run).
class PostgresWarehouseDb {
public:
  PostgresWarehouseDb(const std::string& base, fs::path objects_root)
      : m_base(base), m_objects_root(std::move(objects_root)) {
    m_name = fmt::format("scale_wh_{}", getpid());
    auto admin = value_or_die(pg::Connection::connect(m_base));
    value_or_die(admin.exec_script(fmt::format("DROP DATABASE IF EXISTS {}", m_name)));
    value_or_die(admin.exec_script(fmt::format("CREATE DATABASE {}", m_name)));
    m_conninfo = fmt::format("{} dbname={}", m_base, m_name);
  }
  ~PostgresWarehouseDb() {
    if (auto admin = pg::Connection::connect(m_base)) {
      (void)admin->exec_script(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", m_name));
    }
  }
  PostgresWarehouseDb(const PostgresWarehouseDb&) = delete;
  PostgresWarehouseDb& operator=(const PostgresWarehouseDb&) = delete;

  [[nodiscard]] const std::string& conninfo() const { return m_conninfo; }
  [[nodiscard]] const std::string& name() const { return m_name; }

  warehouse::PostgresConfig config(warehouse::FileLocator files) const {
    return {.conninfo = m_conninfo,
            .layout = {.physical_schema = k_physical_schema},
            .files = std::move(files)};
  }

  // Tables up to `tables` exist; returns the seconds each creation took, in order.
  std::vector<double> ensure_tables(int tables) {
    std::vector<double> seconds;
    if (m_tables >= tables) {
      return seconds;
    }
    auto objects = value_or_die(objectstore::make_local_object_store({.root = m_objects_root}));
    auto warehouse = value_or_die(
        warehouse::make_postgres_warehouse(config(warehouse::locate_in_bucket_folders(*objects))));
    const auto operations = bench_table_operations();
    for (int table = m_tables; table < tables; ++table) {
      const auto started = SteadyClock::now();
      value_or_die(warehouse->apply_migration(table_name(table), 0, operations, 10min));
      seconds.push_back(ms_since(started) / 1000);
    }
    m_tables = tables;
    return seconds;
  }

  // The benchmark's tables are left out of autovacuum: vacuuming and analysing the loaded rows
  // is PostgreSQL's work for any loader of them, not a cost of the ingester's (which the
  // drain's figures are about), and its timing (a minute's naptime) would land inside a long
  // drain but after a short one.
  void without_autovacuum(int tables) {
    auto conn = value_or_die(pg::Connection::connect(m_conninfo));
    for (int table = 0; table < tables; ++table) {
      value_or_die(conn.exec_script(fmt::format("ALTER TABLE {}.{} SET (autovacuum_enabled = off)",
                                                k_physical_schema, table_name(table))));
    }
  }

  void empty(int tables) {
    auto conn = value_or_die(pg::Connection::connect(m_conninfo));
    std::string names;
    for (int table = 0; table < tables; ++table) {
      names +=
          fmt::format("{}{}.{}", names.empty() ? "" : ", ", k_physical_schema, table_name(table));
    }
    value_or_die(conn.exec_script(fmt::format("TRUNCATE {}; TRUNCATE infra.load_manifest; "
                                              "CHECKPOINT",
                                              names)));
  }

private:
  std::string m_base;
  fs::path m_objects_root; // Unused by table creation; a warehouse needs a store.
  std::string m_name;
  std::string m_conninfo;
  int m_tables = 0;
};

loader::LoaderConfig drain_loader_config(const Options& options) {
  loader::LoaderConfig config;
  // Everything waiting is due (as under --until-idle): a backlog drains whatever its groups' size.
  config.policy = {.count_trigger = 5,
                   .age_trigger = 0s,
                   .lease = 60s,
                   .max_files = static_cast<std::size_t>(options.batch_files)};
  config.no_work_delay = 100ms;
  return config;
}

// In the child: W workers drain the ingester schema; true when every file loaded. `drained` is
// called with the drain's seconds while the connections are still open (their backends' CPU is
// then read by database).
bool drain_postgres(const Options& options, const std::string& ingest_conninfo,
                    const PostgresWarehouseDb& warehouse_db, const fs::path& objects_root,
                    int tables, const std::function<void(double)>& drained) {
  auto store = value_or_die(ingestdb::make_postgres_ingest_db(
      {.conninfo = ingest_conninfo,
       .max_connections = static_cast<std::size_t>(options.workers) + 1}));
  auto objects = value_or_die(objectstore::make_local_object_store({.root = objects_root}));
  migrator::VersionCache versions;
  ingestdb::VersionMap all;
  for (int table = 0; table < tables; ++table) {
    all[table_name(table)] = 0;
  }
  versions.merge(all);
  SystemClock clock;
  telemetry::Metrics metrics("scale");
  loader::Loader loader(
      *store, [&] { return versions.shared(); }, clock, metrics, drain_loader_config(options));
  std::vector<std::unique_ptr<warehouse::Warehouse>> warehouses;
  for (int worker = 0; worker < options.workers; ++worker) {
    warehouses.push_back(value_or_die(warehouse::make_postgres_warehouse(
        warehouse_db.config(warehouse::locate_in_bucket_folders(*objects)))));
  }
  std::stop_source stop;
  std::jthread keeper([&](std::stop_token token) { loader.run_lease_keeper(token); });
  std::atomic<bool> failed{false};
  const auto started = SteadyClock::now();
  std::vector<std::thread> workers;
  for (int worker = 0; worker < options.workers; ++worker) {
    workers.emplace_back([&, worker] {
      while (!failed) {
        if (loader.work_once(*warehouses[static_cast<std::size_t>(worker)], stop.get_token())) {
          continue;
        }
        auto pending = store->pending_versions();
        if (!pending) {
          failed = true;
          return;
        }
        if (pending->empty()) {
          return;
        }
        std::this_thread::sleep_for(5ms); // The other workers hold what is left.
      }
    });
  }
  for (auto& worker : workers) {
    worker.join();
  }
  keeper.request_stop();
  keeper.join();
  drained(ms_since(started) / 1000);
  return !failed;
}

DrainRun run_postgres(const Options& options, PostgresWarehouseDb& warehouse_db,
                      const fs::path& objects_root, int tables, std::int64_t waiting) {
  warehouse_db.empty(tables);
  const std::string ingest = fresh_schema("drain");
  value_or_die(ingestdb::make_postgres_ingest_db({.conninfo = ingest}));
  fill_postgres(ingest, waiting, tables);
  // The child reports the drain's seconds on `report`, then waits for `resume` to close before
  // it disconnects: the server's CPU is read while the drain's backends are still there.
  int report[2];
  int resume[2];
  if (pipe(report) != 0 || pipe(resume) != 0) {
    die(fmt::format("pipe: {}", std::strerror(errno)));
  }
  std::fflush(nullptr);
  // The child's peak RSS is the loader's: what this process freed (making the tables, the fill)
  // goes back to the system first rather than into the child's resident pages.
  malloc_trim(0);
  const ServerSnapshot server_before = postgres_server_snapshot(warehouse_db.name());
  const pid_t child = fork();
  if (child == 0) {
    close(report[0]);
    close(resume[1]);
    bool ok = false;
    try {
      ok = drain_postgres(options, ingest, warehouse_db, objects_root, tables, [&](double seconds) {
        (void)!write(report[1], &seconds, sizeof seconds);
        char ignored = 0;
        (void)!read(resume[0], &ignored, 1);
      });
    } catch (const BenchFailure& failure) {
      std::fprintf(stderr, "scale_bench: %s\n", failure.message.c_str());
    }
    _exit(ok ? 0 : 1);
  }
  close(report[1]);
  close(resume[0]);
  DrainRun run;
  const bool reported = read(report[0], &run.seconds, sizeof run.seconds) == sizeof run.seconds;
  const ServerSnapshot server_after = postgres_server_snapshot(warehouse_db.name());
  // What the drain left for autovacuum to clean in the ingester's tables is part of its cost:
  // done now, so that a drain shorter than autovacuum's naptime pays it too.
  const double vacuum_after = vacuum_schema(ingest);
  close(resume[1]);
  close(report[0]);
  const rusage usage = wait_for(child, "the PostgreSQL drain");
  if (!reported) {
    die("the PostgreSQL drain did not report its time");
  }
  run.cpu_seconds = cpu_seconds(usage);
  run.server = server_cpu_between(server_before, server_after);
  run.server.autovacuum += vacuum_after;
  run.max_rss_kib = usage.ru_maxrss;
  auto conn = value_or_die(pg::Connection::connect(warehouse_db.conninfo()));
  const auto loaded =
      value_or_die(conn.exec("SELECT COALESCE(sum(file_count), 0) FROM infra.load_manifest"));
  if (loaded.integer(0, 0) != waiting) {
    die(fmt::format("postgres drain: {} files loaded, expected {}", loaded.integer(0, 0), waiting));
  }
  drop_schemas();
  return run;
}

// --- The embedded default -------------------------------------------------------------------

void remove_database(const fs::path& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    fs::remove(path.string() + suffix);
  }
}

// DIR/schemas/<table>/v0.json for every table (kept).
void write_schemas(const fs::path& root, int tables) {
  const std::string json = bench_schema_json();
  for (int table = 0; table < tables; ++table) {
    const fs::path path = root / "schemas" / table_name(table) / "v0.json";
    if (!fs::exists(path)) {
      fs::create_directories(path.parent_path());
      std::ofstream(path) << json;
    }
  }
}

// A data directory of `rs_ingester run` at `root`: `files` objects over `tables` tables linked to
// `source`, a schema file per table, an empty inbox, no database yet.
void prepare_data_dir(const fs::path& root, const fs::path& source, int tables,
                      std::int64_t files) {
  link_objects(root / "objects", source, tables, files);
  write_schemas(root, tables);
  fs::remove_all(root / "inbox");
  fs::create_directories(root / "inbox");
  remove_database(root / "ingester.db");
  remove_database(root / "warehouse.db");
}

// A warehouse.db with `tables` tables at version 0, made once and copied for each run.
fs::path warehouse_template(const Options& options, const fs::path& objects_root, int tables) {
  const fs::path path = options.dir / fmt::format("warehouse-{}.db", tables);
  if (fs::exists(path)) {
    return path;
  }
  const fs::path making = path.string() + ".making";
  remove_database(making);
  {
    auto objects = value_or_die(objectstore::make_local_object_store({.root = objects_root}));
    auto warehouse = value_or_die(warehouse::make_sqlite_warehouse(
        {.path = making, .files = warehouse::locate_in_bucket_folders(*objects)}));
    const auto operations = bench_table_operations();
    for (int table = 0; table < tables; ++table) {
      value_or_die(warehouse->apply_migration(table_name(table), 0, operations, 10min));
    }
  }
  auto db = value_or_die(sqlite::Database::open(making));
  value_or_die(db.exec_script("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE"));
  fs::rename(making, path);
  return path;
}

std::int64_t sqlite_scalar(sqlite::Database& db, const std::string& sql) {
  auto query = value_or_die(db.prepare(sql));
  if (!value_or_die(query.step())) {
    return 0;
  }
  return query.integer(0);
}

// `max_batch_files` 0: the flag is not given (a binary from before it).
pid_t start_rs_ingester(const fs::path& root, int workers, int max_batch_files) {
  std::fflush(nullptr);
  const pid_t child = fork();
  if (child == 0) {
    const fs::path log = root / "run.log";
    std::freopen(log.c_str(), "w", stdout);
    std::freopen(log.c_str(), "a", stderr);
    const std::string dir = root.string();
    const std::string worker_count = std::to_string(workers);
    // RSI_SCALE_RS_INGESTER: another build's binary (a measurement before a change).
    const char* binary = std::getenv("RSI_SCALE_RS_INGESTER");
    binary = binary != nullptr ? binary : RSI_RS_INGESTER_BIN;
    const std::string batch_files = std::to_string(max_batch_files);
    if (max_batch_files > 0) {
      execl(binary, binary, "--log-level", "warn", "run", "--data-dir", dir.c_str(), "--until-idle",
            "--control-addr", "", "--workers", worker_count.c_str(), "--max-batch-files",
            batch_files.c_str(), nullptr);
    } else {
      execl(binary, binary, "--log-level", "warn", "run", "--data-dir", dir.c_str(), "--until-idle",
            "--control-addr", "", "--workers", worker_count.c_str(), nullptr);
    }
    _exit(127);
  }
  return child;
}

DrainRun run_embedded(const Options& options, const fs::path& source, int tables,
                      std::int64_t waiting) {
  const fs::path root = options.dir / "embedded";
  prepare_data_dir(root, source, tables, waiting);
  fs::copy_file(warehouse_template(options, root / "objects", tables), root / "warehouse.db");
  value_or_die(ingestdb::make_sqlite_ingest_db({.path = root / "ingester.db"}));
  fill_sqlite(root / "ingester.db", waiting, tables);
  const pid_t child = start_rs_ingester(root, options.workers, options.batch_files);
  const rusage usage = wait_for(child, "rs_ingester run --until-idle (see its run.log)");
  DrainRun run{.cpu_seconds = cpu_seconds(usage), .max_rss_kib = usage.ru_maxrss};
  auto db = value_or_die(sqlite::Database::open(root / "warehouse.db"));
  const auto loaded =
      sqlite_scalar(db, R"(SELECT COALESCE(sum(file_count), 0) FROM "infra.load_manifest")");
  if (loaded != waiting) {
    die(fmt::format("embedded drain: {} files loaded, expected {}", loaded, waiting));
  }
  run.seconds = static_cast<double>(sqlite_scalar(
                    db, R"(SELECT CAST((julianday(max(loaded_at)) - julianday(min(loaded_at))) )"
                        R"(* 86400000000 AS INTEGER) FROM "infra.load_manifest")")) /
                1e6;
  return run;
}

// Medians over the runs, per file: the client process's CPU, the server's by kind (the ingester
// database's backends, the warehouse's, autovacuum and the background processes) and in all.
void print_drain(const std::string& backend, int tables, std::int64_t waiting,
                 const std::vector<DrainRun>& runs) {
  std::vector<double> rates, client, ingest, warehouse, maintenance, total, rss;
  const auto per_file = [&](double seconds) {
    return seconds / static_cast<double>(waiting) * 1e6;
  };
  for (const auto& run : runs) {
    rates.push_back(static_cast<double>(waiting) / run.seconds);
    client.push_back(per_file(run.cpu_seconds));
    ingest.push_back(per_file(run.server.ingest));
    warehouse.push_back(per_file(run.server.warehouse));
    maintenance.push_back(per_file(run.server.autovacuum + run.server.background));
    total.push_back(per_file(run.cpu_seconds + run.server.total()));
    rss.push_back(static_cast<double>(run.max_rss_kib) / 1024);
  }
  std::printf("%-9s %7d %9lld %9.0f %9.0f %9.0f %9.0f %9.0f %9.0f %8.1f\n", backend.c_str(), tables,
              static_cast<long long>(waiting), median(rates), median(client), median(ingest),
              median(warehouse), median(maintenance), median(total), median(rss));
  std::fflush(stdout);
}

} // namespace

void drain_section(const Options& options) {
  fs::create_directories(options.dir);
  std::uint64_t rows = 0;
  const fs::path source = source_file(options, rows);
  std::printf("drain: %d workers, files of %llu rows (%llu bytes gzip); medians of %d runs\n",
              options.workers, static_cast<unsigned long long>(rows),
              static_cast<unsigned long long>(fs::file_size(source)), options.runs);
  std::printf("µs of CPU per file: the client process, PostgreSQL's backends of the ingester\n"
              "database and of the warehouse, its autovacuum and background processes (every\n"
              "one's, over the drain), and the total\n");
  std::printf("%-9s %7s %9s %9s %9s %9s %9s %9s %9s %8s\n", "backend", "tables", "waiting",
              "files/s", "client", "ingestdb", "wh_db", "maint", "total", "rss_mib");
  for (const auto& backend : options.backends) {
    std::unique_ptr<PostgresWarehouseDb> warehouse_db;
    if (backend == "postgres") {
      const char* base = std::getenv("RSI_TEST_PG");
      if (base == nullptr) {
        die("set RSI_TEST_PG");
      }
      warehouse_db = std::make_unique<PostgresWarehouseDb>(base, options.dir / "objects");
    }
    for (const int tables : options.tables) {
      if (warehouse_db) {
        warehouse_db->ensure_tables(tables);
        warehouse_db->without_autovacuum(tables);
      }
      for (const std::int64_t waiting : options.waiting) {
        std::vector<DrainRun> runs;
        for (int run = 0; run < options.runs; ++run) {
          if (warehouse_db) {
            const fs::path objects = options.dir / "objects";
            link_objects(objects, source, tables, waiting);
            runs.push_back(run_postgres(options, *warehouse_db, objects, tables, waiting));
          } else {
            runs.push_back(run_embedded(options, source, tables, waiting));
          }
        }
        print_drain(backend, tables, waiting, runs);
      }
    }
  }
}

// The seconds each of `tables` creations took, in creation order, creating them one after the
// other into a fresh SQLite warehouse in this process.
std::vector<double> create_sqlite_tables(const Options& options, int tables) {
  const fs::path path = options.dir / "startup-warehouse.db";
  remove_database(path);
  auto objects =
      value_or_die(objectstore::make_local_object_store({.root = options.dir / "objects"}));
  auto warehouse = value_or_die(warehouse::make_sqlite_warehouse(
      {.path = path, .files = warehouse::locate_in_bucket_folders(*objects)}));
  const auto operations = bench_table_operations();
  std::vector<double> seconds;
  for (int table = 0; table < tables; ++table) {
    const auto started = SteadyClock::now();
    value_or_die(warehouse->apply_migration(table_name(table), 0, operations, 10min));
    seconds.push_back(ms_since(started) / 1000);
  }
  return seconds;
}

// SQLite's own cost of the same growth, the baseline of create_sqlite_tables: a CREATE TABLE of
// as many columns, one transaction each, nothing else.
std::vector<double> create_bare_sqlite_tables(const Options& options, int tables) {
  const fs::path path = options.dir / "startup-bare.db";
  remove_database(path);
  auto db = value_or_die(sqlite::Database::open(path));
  std::string columns;
  for (const auto& operation : bench_table_operations()) {
    columns += fmt::format("{}{} TEXT", columns.empty() ? "" : ", ",
                           sqlite::Database::quote_identifier(operation.name));
  }
  std::vector<double> seconds;
  for (int table = 0; table < tables; ++table) {
    const auto started = SteadyClock::now();
    value_or_die(db.exec_script(fmt::format("BEGIN IMMEDIATE; CREATE TABLE {} ({}); COMMIT",
                                            sqlite::Database::quote_identifier(table_name(table)),
                                            columns)));
    seconds.push_back(ms_since(started) / 1000);
  }
  return seconds;
}

// rs_ingester run --until-idle on `tables` tables with one file each and no table yet: its
// migrator creates them and its loaders load the files. The time between
// consecutive creations, from infra.table_version; `wall` is the whole run.
std::vector<double> embedded_startup(const Options& options, int tables, double& wall) {
  std::uint64_t rows = 0;
  const fs::path source = source_file(options, rows);
  const fs::path root = options.dir / "startup";
  prepare_data_dir(root, source, tables, tables);
  value_or_die(ingestdb::make_sqlite_ingest_db({.path = root / "ingester.db"}));
  fill_sqlite(root / "ingester.db", tables, tables);
  const auto started = SteadyClock::now();
  const pid_t child = start_rs_ingester(root, options.workers, 0);
  wait_for(child, "rs_ingester run --until-idle (see its run.log)");
  wall = ms_since(started) / 1000;
  auto db = value_or_die(sqlite::Database::open(root / "warehouse.db"));
  auto query = value_or_die(
      db.prepare(R"(SELECT (julianday(ts) - julianday(lag(ts) OVER (ORDER BY rowid))) * 86400 )"
                 R"(FROM "infra.table_version" ORDER BY rowid)"));
  std::vector<double> seconds;
  while (value_or_die(query.step())) {
    if (!query.is_null(0)) {
      seconds.push_back(query.real(0));
    }
  }
  if (static_cast<int>(seconds.size()) != tables - 1) {
    die(fmt::format("startup: {} tables created, expected {}", seconds.size() + 1, tables));
  }
  return seconds;
}

void startup_section(const Options& options) {
  fs::create_directories(options.dir);
  std::printf("startup: tables created at version 0 one after the other; ms per table of the "
              "first and the last tenth\n");
  std::printf("%-16s %7s %12s %12s %8s %10s\n", "what", "tables", "first_10%", "last_10%", "ratio",
              "total_s");
  std::vector<std::string> what;
  for (const auto& backend : options.backends) {
    if (backend == "postgres") {
      what.emplace_back("postgres-wh");
    } else {
      what.emplace_back("sqlite-bare-ddl");
      what.emplace_back("sqlite-wh");
      what.emplace_back("rs_ingester");
    }
  }
  for (const auto& name : what) {
    for (const int tables : options.tables) {
      std::vector<double> first;
      std::vector<double> last;
      std::vector<double> total;
      for (int run = 0; run < options.runs; ++run) {
        std::vector<double> seconds; // Per table, in creation order.
        double wall = 0;
        if (name == "postgres-wh") {
          const char* base = std::getenv("RSI_TEST_PG");
          if (base == nullptr) {
            die("set RSI_TEST_PG");
          }
          PostgresWarehouseDb warehouse_db(base, options.dir / "objects");
          seconds = warehouse_db.ensure_tables(tables);
        } else if (name == "sqlite-wh") {
          seconds = create_sqlite_tables(options, tables);
        } else if (name == "sqlite-bare-ddl") {
          seconds = create_bare_sqlite_tables(options, tables);
        } else {
          seconds = embedded_startup(options, tables, wall);
        }
        const std::size_t tenth = std::max<std::size_t>(seconds.size() / 10, 1);
        double head = 0;
        double tail = 0;
        double sum = 0;
        for (std::size_t index = 0; index < tenth; ++index) {
          head += seconds[index];
          tail += seconds[seconds.size() - 1 - index];
        }
        for (const double value : seconds) {
          sum += value;
        }
        first.push_back(head / static_cast<double>(tenth) * 1000);
        last.push_back(tail / static_cast<double>(tenth) * 1000);
        total.push_back(wall > 0 ? wall : sum);
      }
      std::printf("%-16s %7d %12.2f %12.2f %7.2fx %10.1f\n", name.c_str(), tables, median(first),
                  median(last), median(last) / median(first), median(total));
      std::fflush(stdout);
    }
  }
}

} // namespace rsi::bench
