// The whole pipeline, each figure against a baseline measured in the same run, the designs
// alternating run by run (README.md has the method and the figures):
//   throughput   files/s, rows/s, MiB/s of the embedded default (rs_ingester run --until-idle)
//                against the SQLite backend's direct load of the same files, and of
//                metadatastorer + rsloadmanager (s3rver, fauxqs, PostgreSQL) against psql \copy;
//   latency      one file announced to the idle pipeline until its rows are committed, against
//                the direct load of that file;
//   memory       rsloadmanager's peak RSS with 1 and 4 workers on the same files.
//
//   pipeline_bench [--dir DIR] [--runs N] [--tables N] [--files-per-table N] [--file-mib M]
//                  [--workers N] [--latency-files N] [--latency-kib K] [--memory-runs N]
//                  [--backends embedded,postgres] [--only throughput,latency,memory]
//   (postgres: RSI_TEST_PG, RSI_TEST_S3_ENDPOINT, RSI_TEST_SQS_ENDPOINT; scripts/bench pipeline)
#include "pipeline_bench.hpp"

#include <cstdio>

#include <fmt/format.h>

#include "common/log.hpp"
#include "http/curl_global.hpp"

namespace rsi::bench {
namespace {

bool listed(const std::string& list, const std::string& name) {
  return fmt::format(",{},", list).find(fmt::format(",{},", name)) != std::string::npos;
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int index = 1; index < argc; index += 2) {
    const std::string flag = argv[index];
    if (index + 1 >= argc) {
      die("missing value for " + flag);
    }
    const std::string value = argv[index + 1];
    if (flag == "--dir") {
      options.dir = std::filesystem::absolute(value);
    } else if (flag == "--runs") {
      options.runs = std::stoi(value);
    } else if (flag == "--tables") {
      options.tables = std::stoi(value);
    } else if (flag == "--files-per-table") {
      options.files_per_table = std::stoi(value);
    } else if (flag == "--file-mib") {
      options.file_mib = std::stoull(value);
    } else if (flag == "--workers") {
      options.workers = std::stoi(value);
    } else if (flag == "--latency-files") {
      options.latency_files = std::stoi(value);
    } else if (flag == "--latency-kib") {
      options.latency_kib = std::stoull(value);
    } else if (flag == "--memory-runs") {
      options.memory_runs = std::stoi(value);
    } else if (flag == "--backends") {
      options.embedded = listed(value, "embedded");
      options.postgres = listed(value, "postgres");
    } else if (flag == "--only") {
      options.throughput = listed(value, "throughput");
      options.latency = listed(value, "latency");
      options.memory = listed(value, "memory");
    } else {
      die("unknown flag " + flag);
    }
  }
  if (options.tables < 1 || options.tables > 100 || options.files_per_table < 1 ||
      options.runs < 1 || options.workers < 1 || options.latency_files < 1 ||
      options.memory_runs < 1) {
    die("--tables 1..100; --files-per-table, --runs, --workers, --latency-files and --memory-runs "
        ">= 1");
  }
  return options;
}

int run(int argc, char** argv) {
  const http::CurlGlobal curl; // Before anything uses libcurl (the S3 uploads, the test queue).
  log::init({.level = log::Level::warn});
  const Options options = parse_options(argc, argv);

  const auto started = SteadyClock::now();
  const Workload workload = prepare_workload(options);
  std::printf(
      "data: %d tables x %d files = %zu files, %llu rows, %.1f MiB Spade TSV (%.1f MiB gzip); "
      "latency file %llu rows; ready in %.0f s (generated once into %s)\n",
      options.tables, options.files_per_table, workload.files.size(),
      static_cast<unsigned long long>(workload.rows),
      static_cast<double>(workload.tsv_bytes) / (1 << 20),
      static_cast<double>(workload.gzip_bytes) / (1 << 20),
      static_cast<unsigned long long>(workload.latency.rows), seconds_since(started),
      options.dir.c_str());
  if (options.embedded) {
    if (options.throughput) {
      embedded_throughput(options, workload);
    }
    if (options.latency) {
      embedded_latency(options, workload);
    }
  }
  if (options.postgres && (options.throughput || options.latency || options.memory)) {
    postgres_sections(options, workload);
  }
  std::printf("\npipeline_bench: %.0f s in all\n", seconds_since(started));
  return 0;
}

} // namespace
} // namespace rsi::bench

int main(int argc, char** argv) {
  return rsi::bench::run_main("pipeline_bench", [&] { return rsi::bench::run(argc, argv); });
}
