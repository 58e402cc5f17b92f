// The claim section: what the ingester database's operations cost with N files waiting over T
// tables, each timed alone: a claim whose search finds no cached candidates (PostgreSQL runs with
// a candidate TTL of 0, so every claim searches, as the first claim after each second does), the
// completion of that batch, recording a page of 1,000 new pointers (the storer's and the
// backfill's call), and the reads of the migrator and the status reporter.
#include <cstdio>

#include <fmt/format.h>

#include "common/clock.hpp"
#include "core/file_pointer.hpp"
#include "ingestdb/postgres_ingest_db.hpp"
#include "ingestdb/sqlite_ingest_db.hpp"
#include "pg/connection.hpp"
#include "scale_bench.hpp"
#include "sqlite/database.hpp"

namespace rsi::bench {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int k_page = 1000; // Pointers per record_files call.
constexpr int k_reads = 5;   // Timed calls of each read per run.

struct Figures {
  std::vector<double> claim, complete, record, versions, stats, has_files;
};

ingestdb::VersionMap all_versions(int tables) {
  ingestdb::VersionMap versions;
  for (int table = 0; table < tables; ++table) {
    versions[table_name(table)] = 0;
  }
  return versions;
}

template <class Call> double timed(Call&& call) {
  const auto start = SteadyClock::now();
  call();
  return ms_since(start);
}

void measure(ingestdb::IngestDb& store, const Options& options, std::int64_t waiting, int tables,
             int run, Figures& figures) {
  const auto versions = all_versions(tables);
  // Batches of the same size at every backlog: the figures then price the backlog, not the batch.
  const ingestdb::ClaimPolicy policy{.count_trigger = 5,
                                     .age_trigger = 3600s,
                                     .lease = 600s,
                                     .max_files = static_cast<std::size_t>(options.batch_files)};
  for (int claim = 0; claim < options.claims; ++claim) {
    std::optional<ingestdb::Batch> batch;
    figures.claim.push_back(timed([&] {
      batch =
          value_or_die(store.claim_batch(versions, policy, std::chrono::system_clock::now())).batch;
    }));
    if (!batch) {
      die(fmt::format("nothing to claim with {} files waiting", waiting));
    }
    figures.complete.push_back(timed([&] {
      if (!value_or_die(store.complete_batch(batch->manifest, std::chrono::system_clock::now()))) {
        die("complete: no such batch");
      }
    }));
  }
  for (int page = 0; page < k_reads; ++page) {
    std::vector<core::FilePointer> files;
    files.reserve(k_page);
    for (int index = 0; index < k_page; ++index) {
      const int table = index % 10;
      files.push_back({.key_name = fmt::format("scale/new/r{}/p{}/{}/f{:05}.gz", run, page,
                                               table_name(table), index),
                       .table = table_name(table),
                       .version = 0});
    }
    figures.record.push_back(timed([&] {
      const auto outcomes =
          value_or_die(store.record_files(files, std::chrono::system_clock::now()));
      if (outcomes.front() != ingestdb::RecordOutcome::recorded) {
        die("record: not recorded");
      }
    }));
  }
  for (int read = 0; read < k_reads; ++read) {
    figures.versions.push_back(timed([&] { value_or_die(store.pending_versions()); }));
    figures.stats.push_back(timed([&] { value_or_die(store.pending_stats(versions, 5)); }));
    figures.has_files.push_back(timed([&] {
      if (value_or_die(store.has_files(table_name(0), 7))) {
        die("has_files: found a version nobody recorded");
      }
    }));
  }
}

void print(const std::string& backend, std::int64_t waiting, int tables, const Figures& figures) {
  std::printf("%-9s %9lld %7d %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f\n", backend.c_str(),
              static_cast<long long>(waiting), tables, median(figures.claim),
              median(figures.complete), median(figures.record), median(figures.versions),
              median(figures.stats), median(figures.has_files));
  std::fflush(stdout);
}

} // namespace

// `waiting` unclaimed files over `tables` tables, one millisecond apart, the last one now.
void fill_postgres(const std::string& conninfo, std::int64_t waiting, int tables) {
  auto conn = value_or_die(pg::Connection::connect(conninfo));
  value_or_die(conn.exec(R"sql(
    INSERT INTO tsv (tablename, keyname, tableversion, ts)
    SELECT 't' || lpad((i % $2)::text, 5, '0'),
           'scale/t' || lpad((i % $2)::text, 5, '0') || '/v0/f' || lpad(i::text, 8, '0') || '.gz', 0,
           (now() AT TIME ZONE 'UTC') - ($1 - i) * interval '1 millisecond'
      FROM generate_series(0, $1 - 1) i)sql",
                         {std::to_string(waiting), std::to_string(tables)}));
  value_or_die(conn.exec_script("VACUUM ANALYZE"));
}

void fill_sqlite(const fs::path& path, std::int64_t waiting, int tables) {
  auto db = value_or_die(sqlite::Database::open(path));
  value_or_die(db.exec_script("BEGIN IMMEDIATE"));
  auto insert = value_or_die(db.prepare(R"sql(
    WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ?1 - 1)
    INSERT INTO tsv (tablename, keyname, tableversion, ts)
    SELECT printf('t%05d', i % ?2), printf('scale/t%05d/v0/f%08d.gz', i % ?2, i), 0,
           ?3 - (?1 - i) * 1000
      FROM s)sql"));
  insert.bind(1, waiting)
      .bind(2, tables)
      .bind(3, to_epoch_micros(std::chrono::system_clock::now()));
  value_or_die(insert.run());
  value_or_die(db.exec_script("COMMIT; ANALYZE"));
}

void claim_section(const Options& options) {
  std::printf("claim: median ms per call (claim: a search with no cached candidates + the claim "
              "of %d files; record: %d pointers)\n",
              options.batch_files, k_page);
  std::printf("%-9s %9s %7s %9s %9s %9s %9s %9s %9s\n", "backend", "waiting", "tables", "claim",
              "complete", "record", "versions", "stats", "has_files");
  for (const auto& backend : options.backends) {
    for (const int tables : options.tables) {
      for (const std::int64_t waiting : options.waiting) {
        Figures figures;
        for (int run = 0; run < options.runs; ++run) {
          if (backend == "postgres") {
            const std::string conninfo = fresh_schema("claim");
            value_or_die(ingestdb::make_postgres_ingest_db({.conninfo = conninfo}));
            fill_postgres(conninfo, waiting, tables);
            auto store = value_or_die(ingestdb::make_postgres_ingest_db(
                {.conninfo = conninfo, .max_connections = 2, .candidate_ttl = 0ms}));
            measure(*store, options, waiting, tables, run, figures);
            drop_schemas();
          } else {
            fs::create_directories(options.dir);
            const fs::path path = options.dir / "claim-sqlite.db";
            for (const char* suffix : {"", "-wal", "-shm"}) {
              fs::remove(path.string() + suffix);
            }
            value_or_die(ingestdb::make_sqlite_ingest_db({.path = path}));
            fill_sqlite(path, waiting, tables);
            auto store = value_or_die(ingestdb::make_sqlite_ingest_db({.path = path}));
            measure(*store, options, waiting, tables, run, figures);
          }
        }
        print(backend, waiting, tables, figures);
      }
    }
  }
}

} // namespace rsi::bench
