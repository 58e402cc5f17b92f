// Backfill throughput against the listing it rides on: N objects in one s3rver prefix; each run
// times (1) the bare listing, ListObjectsV2 page after page through the same S3 object store
// client, nothing else (the baseline); (2) backfill() as a dry run: the listing plus every
// object's intake check (routes, event metadata); (3) backfill() into a fresh PostgreSQL ingester
// database: the same plus one record_files transaction per page. Objects per second, median of
// the runs, the series alternating their order run by run.
//
//   backfill_bench [--objects N] [--runs R] [--page-size P]    (RSI_TEST_S3_ENDPOINT, RSI_TEST_PG)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <sys/resource.h>

#include "app/backfill.hpp"
#include "bench_support.hpp"
#include "common/log.hpp"
#include "core/event_metadata.hpp"
#include "ingestdb/postgres_ingest_db.hpp"
#include "objectstore/s3_object_store.hpp"
#include "s3_test_support.hpp"
#include "support/services.hpp"

namespace {

using rsi::bench::median;

using namespace std::chrono_literals;

constexpr int k_tables = 10;
constexpr int k_upload_threads = 8;

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "backfill_bench: %s\n", message.c_str());
  std::exit(1);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// CPU seconds this process (every thread) has used.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& time) { return time.tv_sec + time.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// One timed pass: objects per second, and this process's CPU milliseconds per 1,000 objects
// (the client's own cost; the emulator's and the database's are not in it).
struct Sample {
  double rate = 0;
  double cpu_ms_per_1000 = 0;
};

class Timer {
public:
  [[nodiscard]] Sample stop(int objects) const {
    return {.rate = objects / seconds_since(m_wall),
            .cpu_ms_per_1000 = (cpu_seconds() - m_cpu) * 1e6 / objects};
  }

private:
  std::chrono::steady_clock::time_point m_wall = std::chrono::steady_clock::now();
  double m_cpu = cpu_seconds();
};

struct Setup {
  rsi::objectstore::ObjectStore& objects;
  std::string bucket;
  std::string prefix;
  std::size_t page_size = 1000;
  int expected = 0;
  std::string postgres;
};

// The bare listing.
Sample list_only(const Setup& setup) {
  const Timer timer;
  std::optional<std::string> token;
  std::size_t listed = 0;
  do {
    auto page = setup.objects.list(setup.prefix, token, setup.page_size);
    if (!page) {
      die("list: " + page.error().message);
    }
    listed += page->objects.size();
    token = std::move(page->next_token);
  } while (token);
  const Sample sample = timer.stop(setup.expected);
  if (listed != static_cast<std::size_t>(setup.expected)) {
    die(fmt::format("listed {} objects, expected {}", listed, setup.expected));
  }
  return sample;
}

// backfill(), recording into a fresh schema unless `dry_run`.
Sample backfill(const Setup& setup, bool dry_run) {
  rsi::SystemClock clock;
  rsi::telemetry::Metrics metrics("bench");
  rsi::core::EventMetadata metadata;
  for (int table = 0; table < k_tables; ++table) {
    metadata.events[fmt::format("t{:02}", table)]["datastores"] = {.value = "ace"};
  }
  rsi::registry::EventMetadataCache tables(
      [json = rsi::core::encode_event_metadata(metadata)] {
        return rsi::Result<std::string>(json);
      },
      clock, {});
  if (auto loaded = tables.reload(); !loaded) {
    die(loaded.error().message);
  }
  auto routes = rsi::core::parse_routes(std::vector<std::string>{"events/{table}/v{version}/*"});
  rsi::storer::MessageCheck check(tables, clock, metrics, {.routes = routes.value()});
  std::optional<rsi::test::PostgresSchema> schema;
  std::unique_ptr<rsi::ingestdb::IngestDb> store;
  if (!dry_run) {
    schema.emplace(setup.postgres);
    auto opened = rsi::ingestdb::make_postgres_ingest_db(
        {.conninfo = schema->conninfo(), .max_connections = 1});
    if (!opened) {
      die(opened.error().message);
    }
    store = std::move(*opened);
  }

  const Timer timer;
  const auto summary = rsi::app::backfill(
      {.store = &setup.objects, .prefix = setup.prefix, .bucket = setup.bucket}, check, store.get(),
      clock, {.page_size = setup.page_size, .dry_run = dry_run}, {});
  const Sample sample = timer.stop(setup.expected);
  if (summary.error || summary.totals().recorded != setup.expected) {
    die(fmt::format("backfill recorded {} of {}: {}", summary.totals().recorded, setup.expected,
                    summary.error ? summary.error->message : "no error"));
  }
  return sample;
}

} // namespace

int main(int argc, char** argv) {
  int objects = 10'000;
  int runs = 5;
  std::size_t page_size = 1000;
  for (int index = 1; index + 1 < argc; index += 2) {
    const std::string flag = argv[index];
    if (flag == "--objects") {
      objects = std::stoi(argv[index + 1]);
    } else if (flag == "--runs") {
      runs = std::stoi(argv[index + 1]);
    } else if (flag == "--page-size") {
      page_size = std::stoul(argv[index + 1]);
    } else {
      die("unknown flag " + flag);
    }
  }
  const auto endpoint = rsi::test::s3_endpoint();
  const auto postgres = rsi::test::postgres_conninfo();
  if (!endpoint || !postgres) {
    die("set RSI_TEST_S3_ENDPOINT and RSI_TEST_PG (scripts/bench backfill starts both)");
  }
  rsi::log::init({.level = rsi::log::Level::warn});
  std::string bucket = rsi::test::unique_name("rsi-backfill-bench");
  std::replace(bucket.begin(), bucket.end(), '_', '-');
  if (auto created = rsi::test::create_bucket(*endpoint, bucket); !created) {
    die(created.error().message);
  }
  auto config = rsi::test::s3_test_config(bucket, 5U << 20U);
  config.prefix.clear();
  auto store = rsi::objectstore::make_s3_object_store(config);
  if (!store) {
    die(store.error().message);
  }
  std::vector<std::string> keys;
  for (int index = 0; index < objects; ++index) {
    keys.push_back(fmt::format("events/t{:02}/v0/{:06}.gz", index % k_tables, index));
  }
  const auto upload_start = std::chrono::steady_clock::now();
  if (auto put = rsi::test::put_objects(**store, keys, "x", k_upload_threads); !put) {
    die(put.error().message);
  }
  std::printf("%d objects in s3rver (uploaded in %.1f s), %zu keys a page, median of %d runs\n",
              objects, seconds_since(upload_start), page_size, runs);

  const Setup setup{.objects = **store,
                    .bucket = bucket,
                    .prefix = "events/",
                    .page_size = page_size,
                    .expected = objects,
                    .postgres = *postgres};
  const std::vector<std::pair<std::string, std::function<Sample()>>> series = {
      {"ListObjectsV2 alone (baseline)", [&] { return list_only(setup); }},
      {"backfill --dry-run", [&] { return backfill(setup, true); }},
      {"backfill into PostgreSQL", [&] { return backfill(setup, false); }}};
  list_only(setup); // Warm-up: the emulator's first listing of a prefix reads it from disk.
  std::vector<std::vector<double>> rates(series.size());
  std::vector<std::vector<double>> cpu(series.size());
  for (int run = 0; run < runs; ++run) {
    for (std::size_t step = 0; step < series.size(); ++step) {
      const std::size_t at = (step + static_cast<std::size_t>(run)) % series.size();
      const Sample sample = series[at].second();
      rates[at].push_back(sample.rate);
      cpu[at].push_back(sample.cpu_ms_per_1000);
    }
  }
  const double baseline = median(rates[0]);
  std::printf("%-32s %10s %8s %14s %16s\n", "series", "objects/s", "vs list", "runs min-max",
              "CPU ms/1000 obj");
  for (std::size_t at = 0; at < series.size(); ++at) {
    const auto [low, high] = std::minmax_element(rates[at].begin(), rates[at].end());
    std::printf("%-32s %10.0f %7.0f%% %6.0f-%-7.0f %16.1f\n", series[at].first.c_str(),
                median(rates[at]), 100.0 * median(rates[at]) / baseline, *low, *high,
                median(cpu[at]));
  }
  return 0;
}
