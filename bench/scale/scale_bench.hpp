#pragma once

// bench/scale: what one file costs as the backlog grows (README.md has the method and figures).
// Shared pieces of its sections.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "bench_support.hpp"
#include "common/error.hpp"

namespace rsi::bench {

using SteadyClock = std::chrono::steady_clock;

struct Options {
  std::string section;                           // claim, drain or startup.
  std::vector<std::string> backends{"postgres"}; // postgres, sqlite.
  std::vector<std::int64_t> waiting{20'000, 100'000};
  std::vector<int> tables{1000};
  int runs = 3;
  int claims = 20; // claim: claims timed per run.
  // Files per batch (--max-batch-files), whatever the group's size; 0: the whole group (drain: the
  // flag is not passed to rs_ingester, as a binary from before it needs).
  int batch_files = 20;
  int rows = 200;                                     // drain: rows per file.
  int workers = 2;                                    // drain: load workers.
  std::filesystem::path dir = "/tmp/rsi-scale-bench"; // drain, startup: data directories.
};

inline double ms_since(SteadyClock::time_point start) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
}

// "t00042": table `index` of the benchmark.
std::string table_name(std::int64_t index);
// Key of file `index` of table `table`.
std::string key_name(std::int64_t table, std::int64_t index);

// A fresh schema of the PostgreSQL server RSI_TEST_PG (dropped at exit by drop_schemas());
// returns the conninfo that selects it.
std::string fresh_schema(const std::string& tag);
void drop_schemas();

// CPU seconds (user + system) the PostgreSQL server whose data directory is RSI_TEST_PG_DATA
// spent, by kind of process. Backends are told apart by the database they serve; processes that
// ended between two snapshots (an autovacuum worker that finished, a backend that disconnected)
// count through the postmaster's reaped children.
struct ServerCpu {
  double ingest = 0;     // Backends of the ingester database (any database but the warehouse).
  double warehouse = 0;  // Backends of the warehouse database.
  double autovacuum = 0; // Autovacuum workers, children that ended, vacuum_schema().
  double background = 0; // The postmaster, checkpointer, writers, launchers.

  [[nodiscard]] double total() const { return ingest + warehouse + autovacuum + background; }
};

// Every process of the server now: pid -> (kind, CPU seconds), and its reaped children's CPU.
// Empty when RSI_TEST_PG_DATA is not set or not readable.
struct ServerSnapshot {
  enum Kind { ingest, warehouse, autovacuum, background };
  std::map<long, std::pair<Kind, double>> processes;
  double reaped = 0;
};
// VACUUM ANALYZE of every table of the schema `conninfo` selects; returns the CPU seconds its
// backend spent.
double vacuum_schema(const std::string& conninfo);
// `warehouse_db`: the name of the warehouse database.
ServerSnapshot postgres_server_snapshot(const std::string& warehouse_db);
// What the server spent from `before` to `after`; a process that is new counts from zero.
ServerCpu server_cpu_between(const ServerSnapshot& before, const ServerSnapshot& after);

// `waiting` unclaimed files over `tables` tables (file i belongs to table i % tables, key
// key_name(table, i)), one millisecond apart, the last one now; then VACUUM ANALYZE (PostgreSQL)
// or ANALYZE (SQLite).
void fill_postgres(const std::string& conninfo, std::int64_t waiting, int tables);
void fill_sqlite(const std::filesystem::path& path, std::int64_t waiting, int tables);

void claim_section(const Options& options);
void drain_section(const Options& options);
void startup_section(const Options& options);

} // namespace rsi::bench
