#pragma once

// The pipeline benchmark's shared pieces: options, the generated workload, and the measuring
// helpers both backends use. README.md has the method and the figures.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <sys/types.h>

#include "bench_support.hpp"
#include "common/error.hpp"
#include "core/operation.hpp"

namespace rsi::bench {

using SteadyClock = std::chrono::steady_clock;

struct Options {
  std::filesystem::path dir = "/tmp/rsi-pipeline-bench"; // Generated files, kept between runs.
  int runs = 5;                                          // Throughput runs per design.
  int tables = 4;
  int files_per_table = 8;
  std::uint64_t file_mib = 4; // Uncompressed Spade TSV per throughput file.
  int workers = 2;            // Load workers of both pipelines, psql processes of the baseline.
  int latency_files = 15;     // Announced one at a time, per backend.
  std::uint64_t latency_kib = 1024; // Uncompressed size of the announced file.
  int memory_runs = 3;              // rsloadmanager runs per worker count.
  bool embedded = true;
  bool postgres = true;
  bool throughput = true;
  bool latency = true;
  bool memory = true;
};

// One generated Spade file and where the pipelines find it.
struct BenchFile {
  std::string table;
  std::string key;            // Key inside the bucket: "<table>/part-NN.gz".
  std::filesystem::path path; // The gzip file as generated.
  std::filesystem::path text; // The same rows in PostgreSQL's COPY text format (psql's input).
  std::uint64_t gzip_bytes = 0;
  std::uint64_t tsv_bytes = 0; // Uncompressed.
  std::uint64_t rows = 0;
};

struct Workload {
  std::vector<std::string> tables; // Every table has the same 24 columns (bench_table_operations).
  std::vector<BenchFile> files;    // files_per_table per table, in announcement order.
  BenchFile latency;               // Announced again and again under fresh keys.
  std::uint64_t rows = 0;
  std::uint64_t gzip_bytes = 0;
  std::uint64_t tsv_bytes = 0;

  [[nodiscard]] std::uint64_t rows_of(const std::string& table) const;
  [[nodiscard]] std::vector<std::string> keys_of(const std::string& table) const;
};

// Generates (or reuses) the files under options.dir and converts them to COPY text.
Workload prepare_workload(const Options& options);

// The Blueprint steps every table is created with (its schema file: bench_schema_json()).
std::vector<core::Operation> table_operations();

// Key of the `index`-th announcement of the latency file in `table`.
std::string latency_key(const std::string& table, int index);

// Hard links (or copies) `file` to `destination` unless it is there already.
void place_file(const std::filesystem::path& file, const std::filesystem::path& destination);

inline double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// Nearest-rank percentile, `fraction` in (0, 1].
double percentile(std::vector<double> values, double fraction);

struct ChildRun {
  double seconds = 0;
  double cpu_seconds = 0; // User + system of the child and its waited-for children.
};

// Runs `body` in a forked child and measures it; dies when the child fails.
ChildRun in_child(const std::function<bool()>& body);

// Runs `psql -f <script>` for every script at once and waits for all of them; the wall time
// from the first fork to the last exit.
ChildRun run_psql(const std::string& conninfo, const std::vector<std::filesystem::path>& scripts);

// Peak resident set size of a running process (VmHWM of /proc/<pid>/status), in KiB.
long peak_rss_kib(pid_t pid);

// Polls `done` every `period` until it holds or `timeout` passes.
bool poll_until(std::chrono::milliseconds timeout, std::chrono::milliseconds period,
                const std::function<bool()>& done);

struct Rates {
  double files = 0; // Per second.
  double rows = 0;
  double gzip_mib = 0;
  double tsv_mib = 0;
};

Rates rates_of(const Workload& workload, double seconds);
void print_rates(const char* what, const Workload& workload, double seconds,
                 const std::string& note = "");

// The idle load workers' poll period in both pipelines (rs_ingester's, and rsloadmanager's
// -no_work_delay as the benchmark sets it).
inline constexpr std::chrono::milliseconds k_worker_poll{1000};

// `count` announcement phases, evenly spaced over one poll period ((k + 1/2) / count of it), in a
// seeded random order: a few samples then cover every phase of the idle workers' wait.
std::vector<std::chrono::milliseconds> announcement_phases(int count);

// Sleeps until `phase` after `reference` plus whole poll periods: the first such moment not past.
void sleep_until_phase(SteadyClock::time_point reference, std::chrono::milliseconds phase);

// Announcement-to-commit latencies of the pipeline, with the part until the pointer was
// recorded, against the floor's direct loads of the file.
void print_latency(const char* what, const std::vector<double>& committed,
                   const std::vector<double>& recorded, const std::vector<double>& floor,
                   const char* floor_what);

// One pipeline run: from the start of the processes to the last file's rows committed, and to
// the start of the first batch's load (the ledger's loaded_at, stamped when a load's transaction
// begins).
struct PipelineRun {
  double commit_seconds = 0;
  double first_batch_seconds = 0;
  double exit_seconds = 0;  // rs_ingester --until-idle only: to the process's exit.
  std::int64_t batches = 0; // Loads committed (ledger rows): how the files were batched.
};

// The medians of the pipeline's runs against the floor's, and the ratios.
void print_throughput_summary(const char* pipeline_what, const char* floor_what,
                              const Workload& workload, const std::vector<PipelineRun>& pipeline,
                              const std::vector<double>& floor);

// The sections: each prints its per-run lines and its medians.
void embedded_throughput(const Options& options, const Workload& workload);
void embedded_latency(const Options& options, const Workload& workload);
void postgres_sections(const Options& options, const Workload& workload);

} // namespace rsi::bench
