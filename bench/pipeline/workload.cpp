// The generated workload and the measuring helpers of the pipeline benchmark.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipeline_bench.hpp"
#include "spade_generator.hpp"

namespace rsi::bench {
namespace {

namespace fs = std::filesystem;

BenchFile describe(const GeneratedFile& generated, std::string table, const fs::path& text_dir) {
  return {.table = table,
          .key = fmt::format("{}/{}", table, generated.path.filename().string()),
          .path = generated.path,
          .text = value_or_die(convert_to_copy_text(generated.path, text_dir)),
          .gzip_bytes = fs::file_size(generated.path),
          .tsv_bytes = generated.uncompressed_bytes,
          .rows = generated.rows};
}

} // namespace

std::uint64_t Workload::rows_of(const std::string& table) const {
  std::uint64_t total = 0;
  for (const auto& file : files) {
    total += file.table == table ? file.rows : 0;
  }
  return total;
}

std::vector<std::string> Workload::keys_of(const std::string& table) const {
  std::vector<std::string> keys;
  for (const auto& file : files) {
    if (file.table == table) {
      keys.push_back(file.key);
    }
  }
  return keys;
}

std::vector<core::Operation> table_operations() { return bench_table_operations(); }

std::string latency_key(const std::string& table, int index) {
  return fmt::format("{}/latency-{:03}.gz", table, index);
}

void place_file(const fs::path& file, const fs::path& destination) {
  if (fs::exists(destination)) {
    if (fs::equivalent(file, destination)) {
      return;
    }
    fs::remove(destination); // A copy, or a link to a file generated again since.
  }
  fs::create_directories(destination.parent_path());
  std::error_code error;
  fs::create_hard_link(file, destination, error);
  if (error) {
    fs::copy_file(file, destination);
  }
}

Workload prepare_workload(const Options& options) {
  Workload workload;
  for (int table = 0; table < options.tables; ++table) {
    workload.tables.push_back(fmt::format("pipe_{:02}", table));
  }
  const auto generated = generate_spade_files(
      options.dir / "spade", options.tables * options.files_per_table, options.file_mib << 20U);
  // Round robin over the tables, so announcements interleave as a live stream's would.
  for (std::size_t index = 0; index < generated.size(); ++index) {
    BenchFile file = describe(generated[index], workload.tables[index % workload.tables.size()],
                              options.dir / "text");
    workload.rows += file.rows;
    workload.gzip_bytes += file.gzip_bytes;
    workload.tsv_bytes += file.tsv_bytes;
    workload.files.push_back(std::move(file));
  }
  const auto latency = generate_spade_files(options.dir / "latency", 1, options.latency_kib << 10U);
  workload.latency = describe(latency.front(), workload.tables.front(), options.dir / "latency");
  return workload;
}

double percentile(std::vector<double> values, double fraction) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  const auto rank =
      static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

namespace {

double cpu_seconds(const rusage& usage) {
  const auto seconds = [](const timeval& time) {
    return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

} // namespace

ChildRun in_child(const std::function<bool()>& body) {
  std::fflush(nullptr); // The child must not write the parent's buffered output again.
  const auto started = SteadyClock::now();
  const pid_t child = fork();
  if (child == 0) {
    bool ok = false;
    try {
      ok = body();
    } catch (const BenchFailure& failure) {
      std::fprintf(stderr, "pipeline_bench: %s\n", failure.message.c_str());
    }
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  rusage usage{};
  if (child < 0 || wait4(child, &status, 0, &usage) != child || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    die("a measured run failed");
  }
  return {seconds_since(started), cpu_seconds(usage)};
}

ChildRun run_psql(const std::string& conninfo, const std::vector<fs::path>& scripts) {
  std::fflush(nullptr);
  const auto started = SteadyClock::now();
  std::vector<pid_t> children;
  for (const auto& script : scripts) {
    const pid_t child = fork();
    if (child == 0) {
      execlp("psql", "psql", conninfo.c_str(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f",
             script.c_str(), nullptr);
      _exit(127);
    }
    children.push_back(child);
  }
  double cpu = 0;
  for (const pid_t child : children) {
    int status = 0;
    rusage usage{};
    if (child < 0 || wait4(child, &status, 0, &usage) != child || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      die("psql failed");
    }
    cpu += cpu_seconds(usage);
  }
  return {seconds_since(started), cpu};
}

long peak_rss_kib(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmHWM:")) {
      return std::strtol(line.c_str() + 6, nullptr, 10);
    }
  }
  return -1;
}

bool poll_until(std::chrono::milliseconds timeout, std::chrono::milliseconds period,
                const std::function<bool()>& done) {
  const auto deadline = SteadyClock::now() + timeout;
  while (!done()) {
    if (SteadyClock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(period);
  }
  return true;
}

Rates rates_of(const Workload& workload, double seconds) {
  constexpr double k_mib = 1 << 20;
  return {.files = static_cast<double>(workload.files.size()) / seconds,
          .rows = static_cast<double>(workload.rows) / seconds,
          .gzip_mib = static_cast<double>(workload.gzip_bytes) / k_mib / seconds,
          .tsv_mib = static_cast<double>(workload.tsv_bytes) / k_mib / seconds};
}

void print_rates(const char* what, const Workload& workload, double seconds,
                 const std::string& note) {
  const Rates rates = rates_of(workload, seconds);
  std::printf("  %-40s %6.2f s %6.1f files/s %8.0f rows/s %6.1f MiB/s gzip %6.1f MiB/s TSV%s\n",
              what, seconds, rates.files, rates.rows, rates.gzip_mib, rates.tsv_mib, note.c_str());
}

void print_throughput_summary(const char* pipeline_what, const char* floor_what,
                              const Workload& workload, const std::vector<PipelineRun>& pipeline,
                              const std::vector<double>& floor) {
  std::vector<double> commit;
  std::vector<double> first_batch;
  std::vector<double> loading;
  for (const auto& run : pipeline) {
    commit.push_back(run.commit_seconds);
    first_batch.push_back(run.first_batch_seconds);
    loading.push_back(run.commit_seconds - run.first_batch_seconds);
  }
  std::printf(" median of %zu runs each:\n", floor.size());
  print_rates(fmt::format("{}, start to last commit", pipeline_what).c_str(), workload,
              median(commit));
  print_rates("  of which first batch to last commit", workload, median(loading));
  print_rates(floor_what, workload, median(floor));
  std::printf(
      "  pipeline / floor: %.0f%% of the floor's rate from the start, %.0f%% from its first batch "
      "(which began %.2f s after the start)\n",
      100.0 * median(floor) / median(commit), 100.0 * median(floor) / median(loading),
      median(first_batch));
}

std::vector<std::chrono::milliseconds> announcement_phases(int count) {
  std::vector<std::chrono::milliseconds> phases;
  for (int index = 0; index < count; ++index) {
    phases.emplace_back((2 * index + 1) * k_worker_poll.count() / (2 * count));
  }
  std::mt19937 rng(20261127);
  std::shuffle(phases.begin(), phases.end(), rng);
  return phases;
}

void sleep_until_phase(SteadyClock::time_point reference, std::chrono::milliseconds phase) {
  auto target = reference + phase;
  while (target < SteadyClock::now()) {
    target += k_worker_poll;
  }
  std::this_thread::sleep_until(target);
}

void print_latency(const char* what, const std::vector<double>& committed,
                   const std::vector<double>& recorded, const std::vector<double>& floor,
                   const char* floor_what) {
  std::vector<double> after_record;
  for (std::size_t index = 0; index < committed.size(); ++index) {
    after_record.push_back(committed[index] - recorded[index]);
  }
  const auto line = [](const char* name, const std::vector<double>& values) {
    std::printf("  %-40s median %6.0f ms   p90 %6.0f ms   min %5.0f   max %5.0f\n", name,
                1000 * median(values), 1000 * percentile(values, 0.9),
                1000 * *std::min_element(values.begin(), values.end()),
                1000 * *std::max_element(values.begin(), values.end()));
  };
  std::printf(" %s, %zu files:\n", what, committed.size());
  line("announced -> rows committed", committed);
  line("  announced -> pointer recorded", recorded);
  line("  pointer recorded -> rows committed", after_record);
  line(floor_what, floor);
  std::printf("  pipeline - floor: %.0f ms at the median\n",
              1000 * (median(committed) - median(floor)));
}

} // namespace rsi::bench
