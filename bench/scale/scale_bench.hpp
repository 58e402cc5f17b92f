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
#include "server_cpu.hpp"

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

// VACUUM ANALYZE of every table of the schema `conninfo` selects; returns the CPU seconds its
// backend spent.
double vacuum_schema(const std::string& conninfo);

// `waiting` unclaimed files over `tables` tables (file i belongs to table i % tables, key
// key_name(table, i)), one millisecond apart, the last one now; then VACUUM ANALYZE (PostgreSQL)
// or ANALYZE (SQLite).
void fill_postgres(const std::string& conninfo, std::int64_t waiting, int tables);
void fill_sqlite(const std::filesystem::path& path, std::int64_t waiting, int tables);

void claim_section(const Options& options);
void drain_section(const Options& options);
void startup_section(const Options& options);

} // namespace rsi::bench
