// Claim+complete throughput of the ingester database: our design (row locks, SKIP LOCKED, a
// per-table advisory lock) against the original's (LOCK TABLE + SERIALIZABLE), same schema,
// same server, same run. Each run starts from a fresh schema holding `tables` × `files`
// pending files and drains it with W workers; one batch = one table's files.
//
//   claim_bench [--runs N] [--tables N] [--files N] [--workers 1,4]   (RSI_TEST_PG = server)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/log.hpp"
#include "ingestdb/postgres_ingest_db.hpp"
#include "original_claimer.hpp"
#include "pg/connection.hpp"

namespace rsi::bench {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Options {
  int runs = 3;
  int tables = 500;
  int files = 20;
  std::vector<int> workers{1, 4};
};

ingestdb::VersionMap all_versions(int tables) {
  ingestdb::VersionMap versions;
  for (int table = 0; table < tables; ++table) {
    versions[fmt::format("t{:03}", table)] = 0;
  }
  return versions;
}

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "claim_bench: %s\n", message.c_str());
  std::exit(1);
}

// A fresh schema with the upgraded ingester tables and the pending files.
std::string prepare_schema(const std::string& base, const Options& options, int run_index) {
  const std::string schema = fmt::format("claim_bench_{}_{}", getpid(), run_index);
  auto admin = pg::Connection::connect(base);
  if (!admin) {
    die(admin.error().message);
  }
  if (auto made = admin->exec_script(
          fmt::format("DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0}", schema));
      !made) {
    die(made.error().message);
  }
  const std::string conninfo = fmt::format("{} options='-csearch_path={}'", base, schema);
  if (auto store = ingestdb::make_postgres_ingest_db({.conninfo = conninfo}); !store) {
    die(store.error().message);
  }
  auto conn = pg::Connection::connect(conninfo);
  if (!conn) {
    die(conn.error().message);
  }
  const auto filled = conn->exec(R"sql(
    INSERT INTO tsv (tablename, keyname, tableversion, ts)
    SELECT format('t%s', lpad(t::text, 3, '0')), format('bucket/t%s/f%s.gz', t, f), 0,
           now() AT TIME ZONE 'UTC' - interval '1 second' * (t * 100 + f)
      FROM generate_series(0, $1 - 1) t, generate_series(0, $2 - 1) f)sql",
                                 {std::to_string(options.tables), std::to_string(options.files)});
  if (!filled) {
    die(filled.error().message);
  }
  (void)conn->exec("ANALYZE");
  return conninfo;
}

void drop_schema(const std::string& base, int run_index) {
  if (auto admin = pg::Connection::connect(base)) {
    (void)admin->exec_script(
        fmt::format("DROP SCHEMA IF EXISTS claim_bench_{}_{} CASCADE", getpid(), run_index));
  }
}

// Batches per second of `workers` threads draining the schema; checks every table loaded.
double run_ours(const std::string& conninfo, const Options& options, int workers) {
  auto store = ingestdb::make_postgres_ingest_db(
      {.conninfo = conninfo, .max_connections = static_cast<std::size_t>(workers)});
  if (!store) {
    die(store.error().message);
  }
  const auto versions = all_versions(options.tables);
  const ingestdb::ClaimPolicy policy{.count_trigger = 5, .age_trigger = 3600s};
  std::atomic<int> batches{0};
  std::atomic<int> files{0};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int worker = 0; worker < workers; ++worker) {
    threads.emplace_back([&] {
      while (true) {
        const auto now = std::chrono::system_clock::now();
        auto claimed = (*store)->claim_batch(versions, policy, now);
        if (!claimed) {
          die(claimed.error().message);
        }
        if (!claimed->batch) {
          return; // Drained (each table is claimed exactly once).
        }
        if (auto done = (*store)->complete_batch(claimed->batch->manifest, now); !done || !*done) {
          die("complete failed");
        }
        batches.fetch_add(1);
        files.fetch_add(static_cast<int>(claimed->batch->keys.size()));
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (files.load() != options.tables * options.files) {
    die(fmt::format("ours: {} files loaded, expected {}", files.load(),
                    options.tables * options.files));
  }
  return batches.load() / seconds;
}

double run_original(const std::string& conninfo, const Options& options, int workers) {
  const auto versions = all_versions(options.tables);
  const ingestdb::ClaimPolicy policy{.count_trigger = 5, .age_trigger = 3600s};
  std::atomic<int> batches{0};
  std::atomic<int> files{0};
  std::atomic<int> retries{0};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int worker = 0; worker < workers; ++worker) {
    threads.emplace_back([&] {
      auto conn = pg::Connection::connect(conninfo);
      if (!conn) {
        die(conn.error().message);
      }
      OriginalClaimer claimer(std::move(*conn));
      while (true) {
        const auto now = std::chrono::system_clock::now();
        auto claimed = claimer.claim(versions, policy, now);
        if (!claimed && claimed.error().kind == ErrorKind::transient) {
          retries.fetch_add(1); // Serialization failure: the original retried.
          continue;
        }
        if (!claimed) {
          die(claimed.error().message);
        }
        if (!*claimed) {
          return;
        }
        while (true) {
          auto done = claimer.complete(**claimed, now);
          if (done) {
            break;
          }
          if (done.error().kind != ErrorKind::transient) {
            die(done.error().message);
          }
          retries.fetch_add(1);
        }
        batches.fetch_add(1);
        files.fetch_add(static_cast<int>((*claimed)->keys.size()));
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (files.load() != options.tables * options.files) {
    die(fmt::format("original: {} files loaded, expected {}", files.load(),
                    options.tables * options.files));
  }
  return batches.load() / seconds;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

Options parse(int argc, char** argv) {
  Options options;
  for (int index = 1; index + 1 < argc; index += 2) {
    const std::string flag = argv[index];
    const std::string value = argv[index + 1];
    if (flag == "--runs") {
      options.runs = std::stoi(value);
    } else if (flag == "--tables") {
      options.tables = std::stoi(value);
    } else if (flag == "--files") {
      options.files = std::stoi(value);
    } else if (flag == "--workers") {
      options.workers.clear();
      for (std::size_t start = 0; start < value.size();) {
        const std::size_t comma = value.find(',', start);
        options.workers.push_back(std::stoi(value.substr(start, comma - start)));
        start = comma == std::string::npos ? value.size() : comma + 1;
      }
    } else {
      die("unknown flag " + flag);
    }
  }
  return options;
}

} // namespace
} // namespace rsi::bench

int main(int argc, char** argv) {
  using namespace rsi::bench;
  rsi::log::init({.level = rsi::log::Level::warn});
  const char* base = std::getenv("RSI_TEST_PG");
  if (base == nullptr) {
    die("set RSI_TEST_PG to a PostgreSQL conninfo (scripts/bench starts one)");
  }
  const Options options = parse(argc, argv);
  std::printf("claim+complete over %d tables x %d files, %d runs each (median batches/s)\n",
              options.tables, options.files, options.runs);
  std::printf("%-8s %14s %14s %8s\n", "workers", "original", "ours", "ratio");
  int run_index = 0;
  for (const int workers : options.workers) {
    std::vector<double> original;
    std::vector<double> ours;
    for (int run = 0; run < options.runs; ++run) {
      // Alternate the designs so that drift on a shared machine hits both alike.
      std::string conninfo = prepare_schema(base, options, run_index);
      original.push_back(run_original(conninfo, options, workers));
      drop_schema(base, run_index++);
      conninfo = prepare_schema(base, options, run_index);
      ours.push_back(run_ours(conninfo, options, workers));
      drop_schema(base, run_index++);
    }
    const double original_median = median(original);
    const double ours_median = median(ours);
    std::printf("%-8d %14.1f %14.1f %7.2fx\n", workers, original_median, ours_median,
                ours_median / original_median);
    std::fflush(stdout);
  }
  return 0;
}
