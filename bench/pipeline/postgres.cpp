// The production pair as processes: files in s3rver, pointers on a fauxqs queue, metadatastorer
// and rsloadmanager against a PostgreSQL ingester database and a PostgreSQL warehouse; against
// `psql \copy` of the same rows.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>

#include "core/file_pointer.hpp"
#include "http/aws_settings.hpp"
#include "ingestdb/postgres_ingest_db.hpp"
#include "objectstore/s3_object_store.hpp"
#include "pg/connection.hpp"
#include "pipeline_bench.hpp"
#include "spade_generator.hpp"
#include "sqs_test_queue.hpp"
#include "support/net.hpp"
#include "support/process.hpp"
#include "support/services.hpp"
#include "warehouse/batch_files.hpp"
#include "warehouse/postgres_warehouse.hpp"

namespace rsi::bench {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto k_s3_bucket = "rsi-pipeline-bench";

struct Services {
  std::string postgres; // Base conninfo (RSI_TEST_PG).
  std::string s3;       // s3rver endpoint (RSI_TEST_S3_ENDPOINT).
  std::string sqs;      // fauxqs endpoint (RSI_TEST_SQS_ENDPOINT).
};

std::string env_or_die(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    die(fmt::format("set {} (scripts/bench starts PostgreSQL, s3rver and fauxqs), or run with "
                    "--backends embedded",
                    name));
  }
  return value;
}

std::string key_name(const std::string& key) { return fmt::format("{}/{}", k_s3_bucket, key); }

struct Daemon {
  std::unique_ptr<test::Process> process;
  int port = 0; // Of /health; 0: none.
};

class PostgresBench {
public:
  PostgresBench(const Options& options, const Workload& workload, Services services)
      : m_options(options), m_workload(workload), m_services(std::move(services)),
        m_root(options.dir / "postgres"), m_warehouse(m_services.postgres) {
    fs::create_directories(m_root);
    m_aws = {{"AWS_ENDPOINT_URL_S3", m_services.s3},
             {"AWS_ENDPOINT_URL_SQS", m_services.sqs},
             {"AWS_ACCESS_KEY_ID", "S3RVER"}, // s3rver's only key; fauxqs takes any.
             {"AWS_SECRET_ACCESS_KEY", "S3RVER"},
             {"AWS_REGION", "us-east-1"}};
    upload();
    for (const auto& entry : fs::directory_iterator(m_root)) {
      if (entry.path().extension() == ".log") {
        fs::remove(entry.path()); // The daemons' logs of an earlier invocation.
      }
    }
    for (const auto& table : m_workload.tables) {
      fs::create_directories(m_root / "schemas" / table);
      std::ofstream(m_root / "schemas" / table / "v0.json") << bench_schema_json();
    }
    std::string metadata;
    for (const auto& table : m_workload.tables) {
      metadata += fmt::format(R"({}"{}":{{"datastores":{{"MetadataValue":"ace"}}}})",
                              metadata.empty() ? "" : ",", table);
    }
    std::ofstream(m_root / "event-metadata.json") << "{" << metadata << "}";
    // The tables at version 0, as the migrator would leave them; timed in neither design.
    auto warehouse = value_or_die(warehouse::make_postgres_warehouse(
        {.conninfo = m_warehouse.conninfo(),
         .files = warehouse::locate_in_bucket(*m_s3, k_s3_bucket)}));
    for (const auto& table : m_workload.tables) {
      value_or_die(warehouse->apply_migration(table, 0, table_operations(), 1min));
    }
    m_conn = std::make_unique<pg::Connection>(
        value_or_die(pg::Connection::connect(m_warehouse.conninfo())));
  }

  void throughput();
  // One file at a time to the idle daemons, rsloadmanager with `no_work_delay` ("1s", "1m").
  void latency(const std::string& no_work_delay);
  void memory();

private:
  void upload();
  void reset_warehouse();
  std::int64_t scalar(const std::string& sql) {
    return value_or_die(m_conn->exec(sql)).integer(0, 0);
  }
  std::int64_t files_committed() {
    return scalar("SELECT coalesce(sum(file_count), 0) FROM infra.load_manifest");
  }
  std::int64_t loads_committed() { return scalar("SELECT count(*) FROM infra.load_manifest"); }
  void check_rows(const std::string& table, std::uint64_t expected, const char* who);
  void check_all_rows(const char* who) {
    for (const auto& table : m_workload.tables) {
      check_rows(table, m_workload.rows_of(table), who);
    }
  }
  std::map<std::string, std::string> daemon_env() const { return {m_aws.begin(), m_aws.end()}; }
  Daemon start_storer(const std::string& ingester, const std::string& queue, bool health);
  Daemon start_loader(const std::string& ingester, int workers, bool health,
                      const std::string& no_work_delay = "1s");
  std::unique_ptr<test::SqsTestQueue> new_queue();
  PipelineRun pipeline_run();
  double psql_run();

  const Options& m_options;
  const Workload& m_workload;
  Services m_services;
  fs::path m_root;
  http::Environment m_aws;
  std::unique_ptr<objectstore::ObjectStore> m_s3;
  test::PostgresDatabase m_warehouse;
  std::unique_ptr<pg::Connection> m_conn; // To the warehouse: polls and checks.
  int m_daemon_runs = 0;                  // Names the daemons' log files.
};

void PostgresBench::upload() {
  m_s3 = value_or_die(
      objectstore::make_s3_object_store({.bucket = k_s3_bucket, .environment = m_aws}));
  httplib::Client client(m_services.s3.substr(m_services.s3.find("//") + 2));
  if (auto created = client.Put(fmt::format("/{}", k_s3_bucket), "", "application/octet-stream");
      !created) {
    die("cannot create the bucket on s3rver");
  }
  for (const auto& file : m_workload.files) {
    value_or_die(m_s3->put_file(file.key, file.path));
  }
  for (int index = 0; index < m_options.latency_files; ++index) {
    value_or_die(
        m_s3->put_file(latency_key(m_workload.latency.table, index), m_workload.latency.path));
  }
}

void PostgresBench::reset_warehouse() {
  std::string tables = "infra.load_manifest";
  for (const auto& table : m_workload.tables) {
    tables += fmt::format(", logs.{}", table);
  }
  value_or_die(m_conn->exec("TRUNCATE " + tables));
  value_or_die(m_conn->exec("CHECKPOINT")); // No design pays for the previous one's writes.
}

void PostgresBench::check_rows(const std::string& table, std::uint64_t expected, const char* who) {
  if (const auto rows = scalar(fmt::format("SELECT count(*) FROM logs.{}", table));
      rows != static_cast<std::int64_t>(expected)) {
    die(fmt::format("{}: logs.{} holds {} rows, expected {}", who, table, rows, expected));
  }
}

Daemon PostgresBench::start_storer(const std::string& ingester, const std::string& queue,
                                   bool health) {
  Daemon daemon{.port = health ? test::free_tcp_port() : 0};
  daemon.process = std::make_unique<test::Process>(
      RSI_METADATASTORER_BIN,
      std::vector<std::string>{
          "-databaseURL", ingester, "-sqsQueueName", queue, "--event-metadata-url",
          "file://" + fs::absolute(m_root / "event-metadata.json").string(), "--health-addr",
          health ? fmt::format("127.0.0.1:{}", daemon.port) : "", "--log-level", "info"},
      m_root / fmt::format("metadatastorer-{}.log", m_daemon_runs), daemon_env());
  return daemon;
}

// -loadCountTrigger 0: a table's files load as soon as one waits (the default 5, with
// -loadAgeSeconds 1800, would hold a lone file for half an hour). -no_work_delay 1s: an idle
// worker looks again after a second (the default is a minute), as the embedded default's do; it
// is woken sooner when the ingester database announces a recorded file.
Daemon PostgresBench::start_loader(const std::string& ingester, int workers, bool health,
                                   const std::string& no_work_delay) {
  Daemon daemon{.port = health ? test::free_tcp_port() : 0};
  daemon.process = std::make_unique<test::Process>(
      RSI_RSLOADMANAGER_BIN,
      std::vector<std::string>{
          "-databaseURL", ingester, "--warehouse-url", m_warehouse.conninfo(), "--registry-url",
          "file://" + fs::absolute(m_root / "schemas").string(), "-n_workers",
          std::to_string(workers), "-loadCountTrigger", "0", "-no_work_delay", no_work_delay,
          "--control-addr", health ? fmt::format("127.0.0.1:{}", daemon.port) : "", "--log-level",
          "info"},
      m_root / fmt::format("rsloadmanager-{}.log", m_daemon_runs), daemon_env());
  return daemon;
}

std::unique_ptr<test::SqsTestQueue> PostgresBench::new_queue() {
  return value_or_die(test::SqsTestQueue::create(m_services.sqs, test::unique_name("pipeline")));
}

void stop(Daemon& daemon, const char* what) {
  daemon.process->signal(SIGTERM);
  if (const auto status = daemon.process->wait(60s); !status || *status != 0) {
    die(fmt::format("{} did not stop cleanly; its log:\n{}", what, daemon.process->log_text()));
  }
}

bool healthy(const Daemon& daemon) {
  httplib::Client client("127.0.0.1", daemon.port);
  client.set_connection_timeout(1);
  const auto response = client.Get("/health");
  return response && response->status == 200;
}

// Every pointer waiting in the queue, both daemons started at once; until the last file's rows
// are committed (start-up included).
PipelineRun PostgresBench::pipeline_run() {
  reset_warehouse();
  test::PostgresSchema ingester(m_services.postgres);
  auto queue = new_queue();
  std::vector<std::string> batch;
  for (const auto& file : m_workload.files) {
    batch.push_back(
        core::encode_file_pointer({.key_name = key_name(file.key), .table = file.table}));
    if (batch.size() == 10 || &file == &m_workload.files.back()) {
      value_or_die(queue->send(batch));
      batch.clear();
    }
  }
  ++m_daemon_runs;
  const auto total = static_cast<std::int64_t>(m_workload.files.size());
  const auto started = SteadyClock::now();
  Daemon storer = start_storer(ingester.conninfo(), queue->name(), false);
  Daemon loader = start_loader(ingester.conninfo(), m_options.workers, false);
  if (!poll_until(300s, 10ms,
                  [&] {
                    return files_committed() >= total || !storer.process->running() ||
                           !loader.process->running();
                  }) ||
      files_committed() != total) {
    die("the pipeline did not load every file; rsloadmanager's log:\n" +
        loader.process->log_text() + "\nmetadatastorer's log:\n" + storer.process->log_text());
  }
  PipelineRun run{.commit_seconds = seconds_since(started)};
  run.first_batch_seconds =
      seconds_since(started) -
      static_cast<double>(
          scalar("SELECT (extract(epoch FROM localtimestamp - min(loaded_at)) * 1000)::bigint "
                 "FROM infra.load_manifest")) /
          1000;
  run.batches = scalar("SELECT count(*) FROM infra.load_manifest");
  stop(loader, "rsloadmanager");
  stop(storer, "metadatastorer");
  check_all_rows("metadatastorer + rsloadmanager");
  return run;
}

// The same rows, already converted to COPY text and uncompressed, by `workers` psql processes,
// each with one connection, `\copy` per file of its share.
double PostgresBench::psql_run() {
  reset_warehouse();
  std::vector<fs::path> scripts;
  for (int worker = 0; worker < m_options.workers; ++worker) {
    scripts.push_back(m_root / fmt::format("copy-{}-of-{}.sql", worker, m_options.workers));
    std::ofstream out(scripts.back());
    for (std::size_t index = static_cast<std::size_t>(worker); index < m_workload.files.size();
         index += static_cast<std::size_t>(m_options.workers)) {
      const BenchFile& file = m_workload.files[index];
      out << fmt::format("\\copy logs.{} FROM '{}'\n", file.table,
                         fs::absolute(file.text).string());
    }
  }
  const ChildRun run = run_psql(m_warehouse.conninfo(), scripts);
  check_all_rows("psql \\copy");
  return run.seconds;
}

void PostgresBench::throughput() {
  std::printf(
      "\n[postgres] throughput: metadatastorer + rsloadmanager -n_workers %d (s3rver, fauxqs, "
      "PostgreSQL) against %d psql \\copy of the same rows (pre-converted, uncompressed)\n",
      m_options.workers, m_options.workers);
  std::vector<PipelineRun> pipeline;
  std::vector<double> psql;
  for (int run = 0; run < m_options.runs; ++run) {
    for (int turn = 0; turn < 2; ++turn) {
      if ((run + turn) % 2 == 0) {
        pipeline.push_back(pipeline_run());
        print_rates(fmt::format("run {} metadatastorer+rsloadmanager", run).c_str(), m_workload,
                    pipeline.back().commit_seconds,
                    fmt::format("  (first batch {:.2f} s, {} batches)",
                                pipeline.back().first_batch_seconds, pipeline.back().batches));
      } else {
        psql.push_back(psql_run());
        print_rates(fmt::format("run {} psql \\copy", run).c_str(), m_workload, psql.back());
      }
      std::fflush(stdout);
    }
  }
  print_throughput_summary("the daemons", "psql \\copy (floor)", m_workload, pipeline, psql);
}

void PostgresBench::latency(const std::string& no_work_delay) {
  const std::string& table = m_workload.latency.table;
  std::printf("\n[postgres] notification-to-commit latency: one file of %llu rows announced on "
              "fauxqs to idle daemons (metadatastorer: defaults, -sqsPollWait 30s long polls; "
              "rsloadmanager: -no_work_delay %s, -loadCountTrigger 0; woken by the ingester "
              "database's notifications)\n",
              static_cast<unsigned long long>(m_workload.latency.rows), no_work_delay.c_str());
  reset_warehouse();
  test::PostgresSchema ingester(m_services.postgres);
  auto queue = new_queue();
  ++m_daemon_runs;
  Daemon storer = start_storer(ingester.conninfo(), queue->name(), true);
  Daemon loader = start_loader(ingester.conninfo(), m_options.workers, true, no_work_delay);
  if (!poll_until(60s, 50ms, [&] { return healthy(storer) && healthy(loader); })) {
    die("the daemons did not become healthy; rsloadmanager's log:\n" + loader.process->log_text() +
        "\nmetadatastorer's log:\n" + storer.process->log_text());
  }
  std::this_thread::sleep_for(2s); // Past the workers' first idle poll.
  auto ingester_conn = value_or_die(pg::Connection::connect(ingester.conninfo()));
  const fs::path floor_script = m_root / "copy-latency.sql";
  std::ofstream(floor_script) << fmt::format("\\copy logs.{} FROM '{}'\n", table,
                                             fs::absolute(m_workload.latency.text).string());

  // Each announcement at an even share of the 1 s poll period after the previous commit: were the
  // workers not woken, their next look would be locked to their last one, and this spreads the
  // samples over that wait (as the figures before the wake were taken).
  const auto phases = announcement_phases(m_options.latency_files);
  auto last_commit = SteadyClock::now();
  std::vector<double> pipeline;
  std::vector<double> recorded; // Announcement to the pointer in the ingester database.
  std::vector<double> floor;
  for (int index = 0; index < m_options.latency_files; ++index) {
    for (int turn = 0; turn < 2; ++turn) {
      if ((index + turn) % 2 == 0) {
        sleep_until_phase(last_commit, phases[static_cast<std::size_t>(index)]);
        const auto started = SteadyClock::now();
        value_or_die(queue->send(core::encode_file_pointer(
            {.key_name = key_name(latency_key(table, index)), .table = table})));
        std::optional<double> recorded_at;
        if (!poll_until(120s, 2ms, [&] {
              const bool loaded = loads_committed() > index;
              if (!recorded_at &&
                  (loaded ||
                   value_or_die(ingester_conn.exec("SELECT count(*) FROM tsv")).integer(0, 0) >
                       0)) {
                recorded_at = seconds_since(started);
              }
              return loaded;
            })) {
          die("the announced file was not loaded; rsloadmanager's log:\n" +
              loader.process->log_text());
        }
        last_commit = SteadyClock::now();
        pipeline.push_back(seconds_since(started));
        recorded.push_back(*recorded_at);
      } else {
        floor.push_back(run_psql(m_warehouse.conninfo(), {floor_script}).seconds);
      }
    }
  }
  stop(loader, "rsloadmanager");
  stop(storer, "metadatastorer");
  check_rows(table,
             2 * m_workload.latency.rows * static_cast<std::uint64_t>(m_options.latency_files),
             "pipeline + psql");
  print_latency(
      fmt::format("metadatastorer+rsloadmanager -no_work_delay {}", no_work_delay).c_str(),
      pipeline, recorded, floor, "psql \\copy of the file (floor)");
}

// Peak RSS of rsloadmanager loading the same recorded files with 1 and with 4 workers. With
// every table's files recorded before it starts, 4 workers load 4 tables at once.
void PostgresBench::memory() {
  std::printf(
      "\n[postgres] rsloadmanager peak RSS (VmHWM), the same %zu files recorded beforehand, "
      "1 and 4 workers\n",
      m_workload.files.size());
  std::map<int, std::vector<double>> peaks_mib;
  std::map<int, std::vector<double>> seconds;
  for (int run = 0; run < m_options.memory_runs; ++run) {
    for (const int workers : run % 2 == 0 ? std::vector<int>{1, 4} : std::vector<int>{4, 1}) {
      reset_warehouse();
      test::PostgresSchema ingester(m_services.postgres);
      {
        auto store =
            value_or_die(ingestdb::make_postgres_ingest_db({.conninfo = ingester.conninfo()}));
        for (const auto& file : m_workload.files) {
          value_or_die(store->record_file({.key_name = key_name(file.key), .table = file.table},
                                          std::chrono::system_clock::now()));
        }
      }
      ++m_daemon_runs;
      const auto total = static_cast<std::int64_t>(m_workload.files.size());
      const auto started = SteadyClock::now();
      Daemon loader = start_loader(ingester.conninfo(), workers, false);
      if (!poll_until(300s, 10ms,
                      [&] { return files_committed() >= total || !loader.process->running(); }) ||
          files_committed() != total) {
        die("rsloadmanager did not load every file; its log:\n" + loader.process->log_text());
      }
      seconds[workers].push_back(seconds_since(started));
      const long peak = peak_rss_kib(loader.process->pid());
      peaks_mib[workers].push_back(static_cast<double>(peak) / 1024);
      stop(loader, "rsloadmanager");
      check_all_rows("rsloadmanager");
      std::printf("  run %d  %d worker(s): peak RSS %6.1f MiB, loaded in %.2f s\n", run, workers,
                  peaks_mib[workers].back(), seconds[workers].back());
      std::fflush(stdout);
    }
  }
  const double one = median(peaks_mib[1]);
  const double four = median(peaks_mib[4]);
  std::printf(
      " median of %d runs: 1 worker %.1f MiB, 4 workers %.1f MiB: %.1f MiB per extra worker "
      "((4 - 1) / 3); load time %.2f s and %.2f s\n",
      m_options.memory_runs, one, four, (four - one) / 3, median(seconds[1]), median(seconds[4]));
}

} // namespace

void postgres_sections(const Options& options, const Workload& workload) {
  PostgresBench bench(options, workload,
                      {.postgres = env_or_die("RSI_TEST_PG"),
                       .s3 = env_or_die("RSI_TEST_S3_ENDPOINT"),
                       .sqs = env_or_die("RSI_TEST_SQS_ENDPOINT")});
  if (options.throughput) {
    bench.throughput();
  }
  if (options.latency) {
    // The benchmark's poll period, then the production default: the wake does not depend on it.
    bench.latency("1s");
    bench.latency("1m");
  }
  if (options.memory) {
    bench.memory();
  }
}

} // namespace rsi::bench
