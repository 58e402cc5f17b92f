// Load rate into PostgreSQL: our PostgreSQL warehouse (stream gzip Spade TSV from the object
// store, apply Redshift's COPY rules, COPY FROM STDIN with the ledger row, one transaction per
// batch) against `psql \copy` of the same rows already converted to PostgreSQL's text format
// and uncompressed, with the same number of connections, in the same run, alternating. Also the
// peak RSS of our loader for batches and files of different sizes. bench/warehouse/README.md has
// the method and figures.
//
//   load_bench [--dir DIR] [--files N] [--file-mib M] [--runs R] [--workers 1,2] [--text 1]
//              [--socket tcp|unix]
//   (RSI_TEST_PG = server; --text 1 adds our loader with COPY's text format to the rotation;
//   --socket unix: every loader reaches the server through its Unix-domain socket instead)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_support.hpp"
#include "common/log.hpp"
#include "common/uuid.hpp"
#include "objectstore/local_object_store.hpp"
#include "pg/connection.hpp"
#include "server_cpu.hpp"
#include "spade_generator.hpp"
#include "support/services.hpp"
#include "warehouse/postgres_warehouse.hpp"

namespace rsi::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct Options {
  fs::path dir = "build-bench-warehouse";
  int files = 16;
  std::uint64_t file_mib = 64;
  int runs = 3;
  std::vector<int> workers{1, 2};
  bool text = false;        // Also measure our loader sending COPY text instead of binary.
  bool unix_socket = false; // Reach the server through its Unix-domain socket, not RSI_TEST_PG's.
};

Options parse_options(int argc, char** argv) {
  Options options;
  for (int index = 1; index + 1 < argc; index += 2) {
    const std::string flag = argv[index];
    const std::string value = argv[index + 1];
    if (flag == "--dir") {
      options.dir = value;
    } else if (flag == "--files") {
      options.files = std::stoi(value);
    } else if (flag == "--file-mib") {
      options.file_mib = std::stoull(value);
    } else if (flag == "--runs") {
      options.runs = std::stoi(value);
    } else if (flag == "--socket") {
      if (value != "tcp" && value != "unix") {
        die("--socket takes tcp or unix");
      }
      options.unix_socket = value == "unix";
    } else if (flag == "--text") {
      options.text = value == "1";
    } else if (flag == "--workers") {
      options.workers.clear();
      for (std::size_t start = 0; start < value.size();) {
        const auto comma = value.find(',', start);
        options.workers.push_back(std::stoi(value.substr(start, comma - start)));
        start = comma == std::string::npos ? value.size() : comma + 1;
      }
    } else {
      die("unknown flag " + flag);
    }
  }
  return options;
}

struct Measurement {
  double seconds = 0;
  double cpu_seconds = 0; // User + system time of the client process(es), not the server's.
  long max_rss_kib = 0;
  double server_cpu_seconds = 0; // The server's processes over the run (RSI_TEST_PG_DATA).
};

// The table worker `worker` loads: each connection loads a table of its own, as in production,
// where a table never has two batches in flight (two COPYs into one table wait for each other
// on extending it, the faster the more).
std::string bench_table(int worker) { return fmt::format("bench_events_{}", worker); }

// Runs `body` in a child process (so its peak RSS is its own) and measures its wall time.
template <class Body> Measurement in_child(Body body) {
  const ServerSnapshot server_before = postgres_server_snapshot("");
  const auto started = SteadyClock::now();
  const pid_t child = fork();
  if (child == 0) {
    int code = 1;
    try {
      code = body() ? 0 : 1;
    } catch (const BenchFailure& failure) { // The parent's objects stay untouched: _exit.
      std::fprintf(stderr, "load_bench: %s\n", failure.message.c_str());
    }
    _exit(code);
  }
  int status = 0;
  rusage usage{};
  if (wait4(child, &status, 0, &usage) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    die("a measured run failed");
  }
  const auto seconds = [](const timeval& time) {
    return static_cast<double>(time.tv_sec) + time.tv_usec / 1e6;
  };
  const double wall = std::chrono::duration<double>(SteadyClock::now() - started).count();
  // The loader's backends ended with its connections: their CPU counts through the postmaster's
  // reaped children.
  return {.seconds = wall,
          .cpu_seconds = seconds(usage.ru_utime) + seconds(usage.ru_stime),
          .max_rss_kib = usage.ru_maxrss,
          .server_cpu_seconds =
              server_cpu_between(server_before, postgres_server_snapshot("")).total()};
}

// Our loader: `workers` threads, each with its own warehouse (connection) loading its share of
// `urls` as one batch.
Measurement load_ours(const std::string& conninfo, objectstore::ObjectStore& store,
                      const std::vector<std::string>& urls, int workers,
                      warehouse::CopyFormat format = warehouse::CopyFormat::binary) {
  return in_child([&] {
    std::vector<std::vector<core::ObjectLocation>> shares(static_cast<std::size_t>(workers));
    for (std::size_t index = 0; index < urls.size(); ++index) {
      shares[index % shares.size()].push_back(value_or_die(core::parse_s3_url(urls[index])));
    }
    std::vector<std::unique_ptr<warehouse::Warehouse>> warehouses;
    for (int worker = 0; worker < workers; ++worker) {
      warehouses.push_back(value_or_die(
          warehouse::make_postgres_warehouse({.conninfo = conninfo,
                                              .layout = {},
                                              .files = warehouse::locate_in_bucket_folders(store),
                                              .copy_format = format})));
    }
    std::vector<std::thread> threads;
    std::vector<int> failed(static_cast<std::size_t>(workers), 0);
    for (int worker = 0; worker < workers; ++worker) {
      threads.emplace_back([&, worker] {
        const auto loaded = warehouses[static_cast<std::size_t>(worker)]->load_batch(
            {.manifest = new_uuid(),
             .table = bench_table(worker),
             .version = 0,
             .files = shares[static_cast<std::size_t>(worker)]});
        if (!loaded) {
          std::fprintf(stderr, "load_bench: %s\n", loaded.error().message.c_str());
          failed[static_cast<std::size_t>(worker)] = 1;
        }
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    return std::count(failed.begin(), failed.end(), 1) == 0;
  });
}

// The baseline: `workers` psql processes, each running \copy for its share of the text files
// over one connection.
Measurement load_psql(const std::string& conninfo, const std::vector<fs::path>& texts, int workers,
                      const fs::path& dir) {
  std::vector<fs::path> scripts;
  for (int worker = 0; worker < workers; ++worker) {
    const fs::path script = dir / fmt::format("copy-{}-of-{}.sql", worker, workers);
    std::ofstream out(script);
    for (std::size_t index = static_cast<std::size_t>(worker); index < texts.size();
         index += workers) {
      out << "\\copy logs." << bench_table(worker) << " FROM '"
          << fs::absolute(texts[index]).string() << "'\n";
    }
    scripts.push_back(script);
  }
  return in_child([&] {
    std::vector<pid_t> children;
    for (const auto& script : scripts) {
      const pid_t child = fork();
      if (child == 0) {
        execlp("psql", "psql", conninfo.c_str(), "-q", "-v", "ON_ERROR_STOP=1", "-f",
               script.c_str(), nullptr);
        _exit(127);
      }
      children.push_back(child);
    }
    bool ok = true;
    for (const pid_t child : children) {
      int status = 0;
      ok = waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
           ok;
    }
    return ok;
  });
}

int run(int argc, char** argv) {
  log::init({.level = log::Level::warn});
  const Options options = parse_options(argc, argv);
  const char* base = std::getenv("RSI_TEST_PG");
  if (base == nullptr) {
    die("set RSI_TEST_PG (scripts/bench starts a server)");
  }
  const fs::path objects = options.dir / "objects";
  const fs::path texts_dir = options.dir / "text";
  fs::create_directories(texts_dir);

  auto started = SteadyClock::now();
  const auto files =
      generate_spade_files(objects / "spade" / "bench", options.files, options.file_mib << 20U);
  std::uint64_t total_bytes = 0;
  std::uint64_t total_rows = 0;
  std::uint64_t compressed_bytes = 0;
  std::vector<std::string> urls;
  std::vector<fs::path> texts;
  for (const auto& file : files) {
    total_bytes += file.uncompressed_bytes;
    total_rows += file.rows;
    compressed_bytes += fs::file_size(file.path);
    urls.push_back("s3://spade/bench/" + file.path.filename().string());
    texts.push_back(value_or_die(convert_to_copy_text(file.path, texts_dir)));
  }
  // One big file for the RSS check: the gzip members of four files, concatenated (again when
  // one of them was generated since).
  const fs::path big = objects / "spade" / "bench-big" / "four-in-one.gz";
  const auto parts = std::span(files).first(std::min<std::size_t>(4, files.size()));
  if (!fs::exists(big) || std::ranges::any_of(parts, [&](const GeneratedFile& part) {
        return fs::last_write_time(part.path) > fs::last_write_time(big);
      })) {
    fs::create_directories(big.parent_path());
    std::ofstream out(big, std::ios::binary | std::ios::trunc);
    for (const GeneratedFile& part : parts) {
      out << std::ifstream(part.path, std::ios::binary).rdbuf();
    }
  }
  std::uint64_t text_bytes = 0;
  for (const auto& text : texts) {
    text_bytes += fs::file_size(text);
  }
  std::printf("data: %zu files, %.0f MiB Spade TSV (%.0f MiB gzip, %.0f MiB as COPY text), %llu "
              "rows; ready in %.0f s\n",
              files.size(), static_cast<double>(total_bytes) / (1 << 20),
              static_cast<double>(compressed_bytes) / (1 << 20),
              static_cast<double>(text_bytes) / (1 << 20),
              static_cast<unsigned long long>(total_rows),
              std::chrono::duration<double>(SteadyClock::now() - started).count());

  const std::string database = fmt::format("load_bench_{}", getpid());
  auto admin = value_or_die(pg::Connection::connect(base));
  value_or_die(admin.exec(fmt::format("CREATE DATABASE {}", database)));
  std::string server = base;
  if (options.unix_socket) {
    const auto socket = test::through_unix_socket(base);
    if (!socket) {
      die("the server listens on no Unix-domain socket (or RSI_TEST_PG is a URI)");
    }
    server = *socket;
    std::printf("connection: the server's Unix-domain socket\n");
  } else {
    std::printf("connection: as RSI_TEST_PG says\n");
  }
  const std::string conninfo = fmt::format("{} dbname={}", server, database);
  auto store = value_or_die(objectstore::make_local_object_store({.root = objects}));
  std::vector<std::string> tables; // One per worker.
  {
    auto setup = value_or_die(
        warehouse::make_postgres_warehouse({.conninfo = conninfo,
                                            .layout = {},
                                            .files = warehouse::locate_in_bucket_folders(*store)}));
    for (int worker = 0; worker < std::ranges::max(options.workers); ++worker) {
      if (auto created = setup->apply_migration(bench_table(worker), 0, bench_table_operations(),
                                                std::chrono::minutes(1));
          !created) {
        die(created.error().message);
      }
      tables.push_back("logs." + bench_table(worker));
    }
  }
  auto conn = value_or_die(pg::Connection::connect(conninfo));
  const auto reset = [&] {
    value_or_die(conn.exec(fmt::format("TRUNCATE {}", fmt::join(tables, ", "))));
    value_or_die(conn.exec("CHECKPOINT"));
  };
  const auto check_rows = [&](const char* who) {
    std::vector<std::string> counts;
    for (const auto& table : tables) {
      counts.push_back(fmt::format("(SELECT count(*) FROM {})", table));
    }
    const auto rows =
        value_or_die(conn.exec(fmt::format("SELECT {}", fmt::join(counts, " + ")))).integer(0, 0);
    if (rows != static_cast<std::int64_t>(total_rows)) {
      die(fmt::format("{} loaded {} rows, expected {}", who, rows, total_rows));
    }
  };

  const double mib = static_cast<double>(total_bytes) / (1 << 20);
  std::printf("\n%-8s %-4s %-9s %10s %12s %12s %12s %10s\n", "workers", "run", "loader", "seconds",
              "MiB/s (TSV)", "client CPU s", "server CPU s", "peak RSS");
  const std::vector<std::string> loaders =
      options.text ? std::vector<std::string>{"ours", "psql", "ours-text"}
                   : std::vector<std::string>{"ours", "psql"};
  for (const int workers : options.workers) {
    std::map<std::string, std::vector<double>> rates;
    for (int run = 0; run < options.runs; ++run) {
      // Rotate which goes first, so drift on the shared machine hits all alike.
      for (std::size_t turn = 0; turn < loaders.size(); ++turn) {
        const std::string& loader =
            loaders[(turn + static_cast<std::size_t>(run)) % loaders.size()];
        reset();
        const Measurement measured =
            loader == "psql" ? load_psql(conninfo, texts, workers, options.dir)
                             : load_ours(conninfo, *store, urls, workers,
                                         loader == "ours" ? warehouse::CopyFormat::binary
                                                          : warehouse::CopyFormat::text);
        check_rows(loader.c_str());
        rates[loader].push_back(mib / measured.seconds);
        const std::string rss =
            loader != "psql" ? fmt::format("{} MiB", measured.max_rss_kib / 1024) : "-";
        std::printf("%-8d %-4d %-9s %10.2f %12.1f %12.2f %12.2f %10s\n", workers, run,
                    loader.c_str(), measured.seconds, mib / measured.seconds, measured.cpu_seconds,
                    measured.server_cpu_seconds, rss.c_str());
        std::fflush(stdout);
      }
    }
    std::printf(
        "workers %d: median ours %.1f MiB/s (%.0f rows/s), psql \\copy %.1f MiB/s: %.0f%% of psql",
        workers, median(rates["ours"]),
        median(rates["ours"]) / mib * static_cast<double>(total_rows), median(rates["psql"]),
        100.0 * median(rates["ours"]) / median(rates["psql"]));
    if (options.text) {
      std::printf("; ours with COPY text %.1f MiB/s: %.0f%%", median(rates["ours-text"]),
                  100.0 * median(rates["ours-text"]) / median(rates["psql"]));
    }
    std::printf("\n\n");
  }

  // Peak RSS of one worker for batches and files of different sizes.
  std::printf("peak RSS of one loader (own process):\n");
  const auto file_mib = static_cast<double>(files.front().uncompressed_bytes) / (1 << 20);
  const std::vector<std::pair<std::string, std::vector<std::string>>> batches = {
      {fmt::format("1 file of {:.0f} MiB", file_mib), {urls.front()}},
      {fmt::format("{} files, {:.0f} MiB", urls.size(), mib), urls},
      {fmt::format("1 file of {:.0f} MiB", file_mib * std::min(4, options.files)),
       {"s3://spade/bench-big/four-in-one.gz"}},
  };
  for (const auto& [what, batch] : batches) {
    reset();
    const Measurement measured = load_ours(conninfo, *store, batch, 1);
    std::printf("  %-26s %7ld MiB\n", what.c_str(), measured.max_rss_kib / 1024);
  }
  reset();
  (void)admin.exec(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", database));
  return 0;
}

} // namespace
} // namespace rsi::bench

int main(int argc, char** argv) {
  return rsi::bench::run_main("load_bench", [&] { return rsi::bench::run(argc, argv); });
}
