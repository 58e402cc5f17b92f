// The whole pipeline as processes, under faults: a producer puts a few hundred generated Spade
// files (tests/support/spade_generator.hpp: adversarial values, expected rows computed by an
// independent oracle) into s3rver and announces them on an SQS queue (fauxqs); metadatastorer
// records them in a private PostgreSQL ingester database; rsloadmanager loads them into a
// private PostgreSQL warehouse, migrating one table from version 0 to 1 while files flow, with
// schemas from a fake Blueprint. Meanwhile both daemons are killed (-9) at random moments more
// than twenty times, the ingester database restarts, S3 (behind a fault proxy) answers 503 and
// drops connections in bursts, messages arrive twice and late, malformed messages and hostile
// table names arrive, and seven files are bad, each in another way (corrupt or truncated gzip,
// a value its column refuses, a missing object, a key no store serves, a line over 4 MB, a
// non-ASCII CHAR value). With nobody acting, every warehouse table must come to hold exactly
// the rows of its good files, every column compared as text, each bad file must be quarantined
// once with its kind and place (and logged once at error level), no batch may fail, the ingester
// tables must be drained, and every rejected input must be on record with its reason. Then the test
// acts as the operator of docs/runbook.md: it lists the quarantined files, fixes the truncated one
// and retries it (it loads, once), and drops the others.
//
// The scenario, the operator's steps and the end-state checks are shared with
// embedded_pipeline_e2e_test.cpp (pipeline_scenario.hpp); this file holds the deployment: the
// services, the daemons, their faults, and `Deployment` on PostgreSQL, SQS and rsloadmanager's
// control API.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <span>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/gzip.hpp"
#include "core/operation.hpp"
#include "objectstore/s3_object_store.hpp"
#include "pg/connection.hpp"
#include "pipeline_scenario.hpp"
#include "queue/sqs_protocol.hpp"
#include "sqs_test_queue.hpp"
#include "support/fake_blueprint.hpp"
#include "support/fault_proxy.hpp"
#include "support/net.hpp"
#include "support/private_postgres.hpp"
#include "support/process.hpp"
#include "support/services.hpp"
#include "support/spade_generator.hpp"
#include "support/temp_dir.hpp"

namespace rsi {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::spade::ColumnSpec;
using namespace test::pipeline;

constexpr std::uint32_t k_seed = 20'240'611;
constexpr int k_min_kills = 22;
constexpr int k_max_kills = 80;
const std::string k_metadata_key = "ingestdb/allmetadata.json.gz";
const std::string k_operator = "pipeline-e2e: OPS-1 bad files";

// SQS delays and duplicates: one announcement in twelve delayed by 1 to 6 s; one in ten sent
// again at once, and six in a hundred again 2 to 8 s later.
void add_with_delays(std::vector<Announcement>& list, Announcement announcement,
                     std::mt19937& rng) {
  announcement.delay_seconds = rng() % 12 == 0 ? 1 + static_cast<int>(rng() % 6) : 0;
  list.push_back(announcement);
  if (const auto roll = rng() % 100; roll < 10) {
    list.push_back({announcement.body, 0});
  } else if (roll < 16) {
    list.push_back({announcement.body, 2 + static_cast<int>(rng() % 7)});
  }
}

std::optional<std::string> env_value(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr || *value == '\0' ? std::nullopt : std::optional<std::string>(value);
}

// "host:port" of an http:// endpoint.
std::pair<std::string, int> host_and_port(const std::string& endpoint) {
  const std::string rest = endpoint.substr(endpoint.find("://") + 3);
  const auto colon = rest.rfind(':');
  return {rest.substr(0, colon), std::stoi(rest.substr(colon + 1))};
}

// Sends messages to the queue (SendMessageBatch with per-message DelaySeconds, which the
// queue test tool lacks). Not thread-safe: one per thread.
class Producer {
public:
  Producer(const test::SqsTestQueue& queue, const std::string& endpoint) {
    auto api = queue::sqs::Api::create(queue::sqs::Target{.endpoint = endpoint + "/",
                                                          .region = "us-east-1",
                                                          .queue_name = queue.name(),
                                                          .queue_url = queue.url()},
                                       queue::SqsConfig{}, queue.credentials());
    if (!api) {
      throw std::runtime_error(api.error().message);
    }
    m_api.emplace(std::move(*api));
    m_url = queue.url();
  }

  // Up to 10 messages; retried a few times, since a lost announcement would fail the test for
  // the wrong reason.
  [[nodiscard]] Result<void> send(std::span<const Announcement> batch) {
    json entries = json::array();
    for (std::size_t index = 0; index < batch.size(); ++index) {
      entries.push_back({{"Id", std::to_string(index)},
                         {"MessageBody", batch[index].body},
                         {"DelaySeconds", batch[index].delay_seconds}});
    }
    Error last;
    for (int attempt = 0; attempt < 5; ++attempt) {
      auto answer =
          m_api->call("SendMessageBatch", {{"QueueUrl", m_url}, {"Entries", entries}}, 10s);
      if (answer && answer->value("Failed", json::array()).empty()) {
        return {};
      }
      last = answer ? Error{ErrorKind::transient, "SendMessageBatch failed: " + answer->dump()}
                    : answer.error();
    }
    return fail(last);
  }

  // Messages visible, in flight or delayed; nullopt when the queue cannot be asked.
  std::optional<long> messages_left() {
    auto answer =
        m_api->call("GetQueueAttributes",
                    {{"QueueUrl", m_url},
                     {"AttributeNames",
                      {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                       "ApproximateNumberOfMessagesDelayed"}}},
                    5s);
    if (!answer) {
      return std::nullopt;
    }
    const auto& attributes = (*answer)["Attributes"];
    long total = 0;
    for (const char* name : {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                             "ApproximateNumberOfMessagesDelayed"}) {
      total += std::stol(attributes.value(name, "0"));
    }
    return total;
  }

private:
  std::optional<queue::sqs::Api> m_api;
  std::string m_url;
};

class PipelineE2E : public ::testing::Test, public Deployment {
protected:
  void SetUp() override {
    m_s3 = env_value("RSI_TEST_S3_ENDPOINT");
    RSI_REQUIRE_SERVICE(m_s3 && test::sqs_endpoint() && test::PrivatePostgres::binaries(),
                        "s3rver, fauxqs and PostgreSQL server binaries");
    m_bucket = test::unique_name("pipe");
    std::replace(m_bucket.begin(), m_bucket.end(), '_', '-');
    m_scenario = make_scenario({.seed = k_seed,
                                .bucket = m_bucket,
                                .key_prefix = "spade/",
                                .rendering = Rendering::postgres,
                                .requester = "pipeline-e2e",
                                .operator_name = k_operator,
                                .add = add_with_delays});
    m_ingester = std::make_unique<test::PrivatePostgres>();
    m_warehouse = std::make_unique<test::PrivatePostgres>();
    m_proxy = std::make_unique<test::FaultProxy>(host_and_port(*m_s3).second);

    // The bucket, the files and the event metadata, straight into s3rver (not through the proxy).
    const auto [host, port] = host_and_port(*m_s3);
    httplib::Client s3(host, port);
    const auto created = s3.Put("/" + m_bucket, "", "application/octet-stream");
    ASSERT_TRUE(created && created->status == 200) << "create bucket " << m_bucket;
    auto store =
        objectstore::make_s3_object_store({.bucket = m_bucket, .environment = aws_env(*m_s3)});
    ASSERT_TRUE(store) << store.error().message;
    for (const PlannedFile& file : m_scenario.files) {
      if (!file.bad || file.bad->stored) {
        const auto put = (*store)->put(file.key, file.object);
        ASSERT_TRUE(put) << put.error().message;
      }
    }
    json metadata = json::object();
    for (const TableDef& table : m_scenario.tables) {
      metadata[table.name]["datastores"] = {{"MetadataValue", "ace"},
                                            {"TS", "2016-07-29T00:00:00Z"},
                                            {"UserName", "e2e"},
                                            {"Version", 1}};
    }
    const auto put = (*store)->put(k_metadata_key, gzip(metadata.dump()).value());
    ASSERT_TRUE(put) << put.error().message;

    // The schema registry: version 0 of every table, and the migrating table's version 1.
    for (const TableDef& table : m_scenario.tables) {
      std::vector<core::Operation> create;
      for (std::size_t index = 0; index < table.columns.size(); ++index) {
        const ColumnSpec& column = table.columns[index];
        create.push_back(test::add_step(column.name, test::spade::blueprint_type(column),
                                        test::spade::blueprint_options(column), 0,
                                        static_cast<int>(index)));
      }
      m_blueprint.set_migration(table.name, 0, create);
      if (table.v1_column) {
        m_blueprint.set_migration(
            table.name, 1,
            {test::add_step(table.v1_column->name, test::spade::blueprint_type(*table.v1_column),
                            test::spade::blueprint_options(*table.v1_column), 1, 0)});
      }
    }

    auto queue = test::SqsTestQueue::create(*test::sqs_endpoint(), test::unique_name("pipe"),
                                            {{"VisibilityTimeout", "5"}});
    ASSERT_TRUE(queue) << queue.error().message;
    m_queue = std::move(*queue);
    m_operator_queue.emplace(*m_queue, *test::sqs_endpoint());
  }

  static http::Environment aws_env(const std::string& s3_endpoint) {
    return {{"AWS_ENDPOINT_URL_S3", s3_endpoint},
            {"AWS_ENDPOINT_URL_SQS", test::sqs_endpoint().value_or("")},
            {"AWS_ACCESS_KEY_ID", "S3RVER"},
            {"AWS_SECRET_ACCESS_KEY", "S3RVER"},
            {"AWS_REGION", "us-east-1"}};
  }

  // The daemons reach S3 through the fault proxy.
  std::map<std::string, std::string> daemon_env() {
    const auto env = aws_env(m_proxy->url());
    std::map<std::string, std::string> out(env.begin(), env.end());
    out["STATSD_HOSTPORT"] = fmt::format("127.0.0.1:{}", m_statsd.port());
    return out;
  }

  void start_storer() {
    m_storer_port = test::free_tcp_port();
    m_storer_log = m_dir.path(fmt::format("metadatastorer-{:02}.log", m_storer_starts++));
    m_storer = std::make_unique<test::Process>(
        RSI_METADATASTORER_BIN,
        std::vector<std::string>{
            "-databaseURL",          m_ingester->conninfo(),
            "-sqsQueueName",         m_queue->name(),
            "-bpConfigsBucket",      m_bucket,
            "-bpMetadataConfigsKey", k_metadata_key,
            "-bpMetadataRetryDelay", "100ms",
            "-listenerCount",        "2",
            "-sqsPollWait",          "2s",
            "--visibility-timeout",  "5s",
            "--unknown-table-wait",  "2s", // The scenario's unknown table never appears.
            "--unknown-table-retry", "1s",
            "--health-addr",         fmt::format("127.0.0.1:{}", m_storer_port),
            "--log-level",           "warn"},
        m_storer_log, daemon_env());
  }

  void start_loader() {
    m_loader_port = test::free_tcp_port();
    m_loader_log = m_dir.path(fmt::format("rsloadmanager-{:02}.log", m_loader_starts++));
    m_loader = std::make_unique<test::Process>(
        RSI_RSLOADMANAGER_BIN,
        std::vector<std::string>{"-databaseURL",
                                 m_ingester->conninfo(),
                                 "--warehouse-url",
                                 m_warehouse->conninfo(),
                                 "-blueprint_host",
                                 fmt::format("127.0.0.1:{}", m_blueprint.port()),
                                 "-n_workers",
                                 "3",
                                 "-loadCountTrigger",
                                 "5",
                                 "-loadAgeSeconds", // The last files of a table load by themselves.
                                 "5",
                                 "-no_work_delay",
                                 "1s",
                                 "-migratorPollPeriod",
                                 "1s",
                                 "-waitProcessorPeriod",
                                 "1s",
                                 "-offpeakDurationHours",
                                 "24",
                                 "-failed_load_check_interval",
                                 "1s",
                                 "-error_retry_delay",
                                 "1s",
                                 "-reporterPollPeriod",
                                 "1s",
                                 "--batch-lease",
                                 "3s",
                                 "--control-addr",
                                 fmt::format("127.0.0.1:{}", m_loader_port),
                                 "--log-level",
                                 "warn"},
        m_loader_log, daemon_env());
  }

  std::string logs() {
    return fmt::format("--- {}\n{}\n--- {}\n{}", m_storer_log.filename().string(),
                       m_storer ? tail(m_storer->log_text()) : "", m_loader_log.filename().string(),
                       m_loader ? tail(m_loader->log_text()) : "");
  }

  // The first `columns` columns of the rows of `sql`, as text; nullopt when the query fails
  // (the database may be restarting).
  static std::optional<Table> query(const std::string& conninfo, const std::string& sql,
                                    int columns, const std::vector<pg::Param>& params = {}) {
    auto conn = pg::Connection::connect(conninfo);
    if (!conn) {
      return std::nullopt;
    }
    // The text forms the oracle computes (also PostgreSQL 15's defaults).
    for (const char* setting : {"SET extra_float_digits = 1", "SET DateStyle = 'ISO, MDY'"}) {
      if (!conn->exec(setting)) {
        return std::nullopt;
      }
    }
    auto rows = conn->exec(sql, params);
    if (!rows) {
      return std::nullopt;
    }
    Table out;
    for (int row = 0; row < rows->size(); ++row) {
      auto& values = out.emplace_back();
      for (int column = 0; column < columns; ++column) {
        values.push_back(rows->is_null(row, column) ? std::nullopt
                                                    : std::optional(rows->text(row, column)));
      }
    }
    return out;
  }

  static std::int64_t scalar(const std::string& conninfo, const std::string& sql) {
    auto conn = pg::Connection::connect(conninfo);
    if (!conn) {
      return -1;
    }
    auto rows = conn->exec(sql);
    return rows && rows->size() == 1 && !rows->is_null(0, 0) ? rows->integer(0, 0) : -1;
  }

  // Deployment ---------------------------------------------------------------------------------

  std::int64_t ingester_rows(std::string_view table) override {
    return scalar(m_ingester->conninfo(), fmt::format("SELECT count(*) FROM {}", table));
  }

  std::optional<std::vector<std::string>> waiting_tables() override {
    return first_column(query(m_ingester->conninfo(),
                              "SELECT DISTINCT tablename FROM tsv WHERE manifest_uuid IS NULL", 1));
  }

  std::int64_t recorded_or_loaded(const std::string& table, int version) override {
    return scalar(m_ingester->conninfo(),
                  fmt::format("SELECT count(*) FROM (SELECT keyname FROM tsv WHERE tablename = "
                              "'{0}' AND tableversion = {1} "
                              "UNION SELECT keyname FROM loaded_key WHERE tablename = '{0}') "
                              "AS known",
                              table, version));
  }

  std::optional<Table> batches() override {
    return query(m_ingester->conninfo(),
                 "SELECT uuid::text, tablename, retry_count::text, retry_ts::text, "
                 "lease_until::text, released::text, last_error FROM manifest",
                 7);
  }

  std::optional<Table> rejected_messages() override {
    return query(m_ingester->conninfo(),
                 "SELECT convert_from(body, 'UTF8'), reason FROM rejected_message ORDER BY id", 2);
  }

  std::set<std::string> loaded_keys() override {
    const auto keys =
        first_column(query(m_ingester->conninfo(), "SELECT keyname FROM loaded_key", 1))
            .value_or(std::vector<std::string>{});
    return {keys.begin(), keys.end()};
  }

  std::optional<Table> quarantined_rows() override {
    return query(m_ingester->conninfo(),
                 "SELECT id::text, keyname, tablename, tableversion::text, kind, error, "
                 "line::text, col::text, attempts::text, state, changed_by FROM quarantined_file "
                 "ORDER BY id",
                 k_quarantine_columns);
  }

  std::int64_t warehouse_rows(const std::string& table) override {
    return scalar(m_warehouse->conninfo(), fmt::format("SELECT count(*) FROM logs.\"{}\"", table));
  }

  std::optional<std::vector<std::string>> warehouse_columns(const std::string& table) override {
    return first_column(
        query(m_warehouse->conninfo(),
              "SELECT column_name FROM information_schema.columns WHERE table_schema = 'logs' "
              "AND table_name = $1 ORDER BY ordinal_position",
              1, {table}));
  }

  // Every value as text, the form the oracle computes.
  std::optional<Table> warehouse_values(const std::string& table,
                                        const std::vector<std::string>& columns) override {
    // Aliased, so that ORDER BY "id" sorts by the bigint, not by its text.
    std::vector<std::string> selected;
    for (std::size_t index = 0; index < columns.size(); ++index) {
      selected.push_back(fmt::format("\"{}\"::text AS c{}", columns[index], index));
    }
    return query(
        m_warehouse->conninfo(),
        fmt::format("SELECT {} FROM logs.\"{}\" ORDER BY \"id\"", fmt::join(selected, ", "), table),
        static_cast<int>(columns.size()));
  }

  std::int64_t ledger_total(std::string_view column) override {
    return scalar(m_warehouse->conninfo(),
                  fmt::format("SELECT sum({}) FROM infra.load_manifest", column));
  }

  std::int64_t table_version(const std::string& table) override {
    return scalar(
        m_warehouse->conninfo(),
        fmt::format("SELECT max(version) FROM infra.table_version WHERE name = '{}'", table));
  }

  std::optional<long> messages_left() override { return m_operator_queue->messages_left(); }

  // Straight into s3rver, as the producer stores its files.
  Result<void> put_object(const PlannedFile& file, const std::string& object) override {
    auto store =
        objectstore::make_s3_object_store({.bucket = m_bucket, .environment = aws_env(*m_s3)});
    if (!store) {
      return fail(store.error());
    }
    return (*store)->put(file.key, object);
  }

  int control_port() override { return m_loader_port; }

  // Producer ----------------------------------------------------------------------------------

  void produce(std::stop_token stop) {
    Producer producer(*m_queue, *test::sqs_endpoint());
    std::mt19937 rng(k_seed + 1);
    const auto send = [&](std::span<const Announcement> chunk) {
      if (auto done = producer.send(chunk); !done) {
        m_errors.note("producer: " + done.error().message);
      }
    };
    send_paced(m_scenario.before_migration, rng, stop, send);
    // The producer moves the table to version 1 once its version 0 files are announced, and
    // announces its later files once metadatastorer has the earlier ones.
    if (auto late = wait_for_version_0_files(m_scenario, *this, stop, 150s)) {
      m_errors.note(*late);
    }
    send_paced(m_scenario.after_migration, rng, stop, send);
    m_produced = true;
  }

  // Faults ------------------------------------------------------------------------------------

  // Half of the new connections to S3 fail while a burst lasts, in every way the proxy can.
  static test::FaultPolicy s3_burst(std::uint32_t seed) {
    return [rng = std::mt19937(seed)]() mutable {
      const auto roll = rng() % 100;
      return roll < 25   ? test::ConnectionFault::service_unavailable
             : roll < 40 ? test::ConnectionFault::drop
             : roll < 55 ? test::ConnectionFault::cut_response
                         : test::ConnectionFault::none;
    };
  }

  // Kills `daemon` (-9) and starts it again.
  void kill_and_restart(std::unique_ptr<test::Process>& daemon, const char* name,
                        void (PipelineE2E::*start)()) {
    kill_hard(*daemon, name);
    (this->*start)();
  }

  // Kills a daemon at random moments until the producer is done (and at least k_min_kills
  // times), with two S3 fault bursts and a restart of the ingester database in between.
  void run_faults() {
    std::mt19937 rng(k_seed + 2);
    while (m_kills < k_max_kills && (m_kills < k_min_kills || !m_produced)) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(300 + rng() % 1700)); // A random moment.
      if (m_kills == 4 || m_kills == 15) {
        m_proxy->set_policy(s3_burst(rng()));
      } else if (m_kills == 8 || m_kills == 19) {
        m_proxy->set_policy({});
      } else if (m_kills == 11) {
        m_ingester->stop();
        std::this_thread::sleep_for(2s); // The outage.
        m_ingester->start();
      }
      if (rng() % 2 == 0) {
        kill_and_restart(m_storer, "metadatastorer", &PipelineE2E::start_storer);
      } else {
        kill_and_restart(m_loader, "rsloadmanager", &PipelineE2E::start_loader);
      }
      ++m_kills;
    }
    m_proxy->set_policy({});
  }

  // Convergence: nobody acts -----------------------------------------------------------------

  // One look, twice a second: the daemons alive, no failed batch, everything where it belongs.
  bool settle_step(WatchState& state) {
    if (!time_to_look(state)) {
      return false;
    }
    if (!m_storer->running() || !m_loader->running()) {
      state.unexpected = "a daemon exited by itself";
      return true;
    }
    watch_for_failed_batches(*this, state);
    return !state.unexpected.empty() || settled(m_scenario, *this);
  }

  bool sent_datagram(const std::string& prefix) {
    const auto all = m_statsd.datagrams();
    return std::any_of(all.begin(), all.end(),
                       [&](const std::string& datagram) { return datagram.starts_with(prefix); });
  }

  // Members are destroyed in reverse: the producer thread stops first, then the daemons die
  // (SIGKILL) before the queue, the proxy and the databases go.
  std::string m_bucket;
  std::optional<std::string> m_s3;
  Scenario m_scenario;
  test::TempDir m_dir;
  test::UdpListener m_statsd;
  test::FakeBlueprint m_blueprint;
  std::unique_ptr<test::PrivatePostgres> m_ingester;
  std::unique_ptr<test::PrivatePostgres> m_warehouse;
  std::unique_ptr<test::FaultProxy> m_proxy;
  std::unique_ptr<test::SqsTestQueue> m_queue;
  std::optional<Producer> m_operator_queue; // The test's own, for counting.
  std::unique_ptr<test::Process> m_storer;
  std::unique_ptr<test::Process> m_loader;
  std::filesystem::path m_storer_log;
  std::filesystem::path m_loader_log;
  int m_storer_port = 0;
  int m_loader_port = 0;
  int m_storer_starts = 0;
  int m_loader_starts = 0;
  int m_kills = 0;
  std::atomic<bool> m_produced{false};
  ProducerErrors m_errors;
  std::jthread m_producer_thread;
};

TEST_F(PipelineE2E, LoadsExactlyTheExpectedRowsThroughKillsOutagesAndBadInput) {
  Timeline timeline;
  start_storer();
  start_loader();
  m_producer_thread = std::jthread([this](std::stop_token stop) { produce(stop); });
  WatchState state;
  const bool done = converge(
      timeline, m_producer_thread, [&] { run_faults(); }, [&] { return settle_step(state); }, 150s);
  m_errors.report(); // The producer's.
  ASSERT_TRUE(done && state.unexpected.empty())
      << not_converged(timeline, state, progress(m_scenario, *this, "queue"), logs());
  expect_settled_state(m_scenario, *this);
  std::vector<std::filesystem::path> loader_logs;
  for (int start = 0; start < m_loader_starts; ++start) {
    loader_logs.push_back(m_dir.path(fmt::format("rsloadmanager-{:02}.log", start)));
  }
  expect_quarantine_logged(m_scenario, loader_logs);

  // The operator.
  const Repair repair = repair_quarantine(m_scenario, *this);
  ASSERT_TRUE(repair.unexpected.empty()) << repair.unexpected << "\n" << logs();
  ASSERT_TRUE(test::eventually(60s, [&] { return repaired(m_scenario, *this); }))
      << "the retried file did not load\n"
      << progress(m_scenario, *this, "queue") << "\n"
      << logs();
  timeline.repaired_at = std::chrono::steady_clock::now();
  expect_status_after_repair(m_scenario, *this);
  expect_audit_logged(m_scenario, m_loader->log_text());
  stop_gracefully(*m_storer, "metadatastorer",
                  [&] { return http_status(m_storer_port, "/health") != 0; });
  stop_gracefully(*m_loader, "rsloadmanager",
                  [&] { return http_status(m_loader_port, "/health") == 200; });
  expect_end_state(m_scenario, *this);

  // Counted where operators look.
  for (const char* prefix :
       {"ingester.manifest_load.failures", "metadatastorer.messages.rejected.malformed:",
        "metadatastorer.messages.rejected.unknown_table:"}) {
    EXPECT_TRUE(sent_datagram(prefix)) << prefix;
  }
  for (const PlannedFile& file : m_scenario.files) {
    if (file.bad) {
      const std::string prefix =
          fmt::format("ingester.tsv_files.{}.quarantined.{}:", m_scenario.tables[file.table].name,
                      file.bad->kind);
      EXPECT_TRUE(sent_datagram(prefix)) << prefix;
    }
  }
  // The faults happened: kills (counted by the loop), and each kind of S3 failure.
  for (const auto fault : {test::ConnectionFault::service_unavailable, test::ConnectionFault::drop,
                           test::ConnectionFault::cut_response}) {
    EXPECT_GT(m_proxy->connections(fault), 0U)
        << "S3 fault " << static_cast<int>(fault) << " never happened";
  }
  RecordProperty("kills", m_kills);
  std::cout << fmt::format(
      "pipeline: {} kills ({} metadatastorer, {} rsloadmanager starts), {} S3 faults; {}\n",
      m_kills, m_storer_starts, m_loader_starts,
      m_proxy->connections(test::ConnectionFault::service_unavailable) +
          m_proxy->connections(test::ConnectionFault::drop) +
          m_proxy->connections(test::ConnectionFault::cut_response),
      timeline.summary());
}

} // namespace
} // namespace rsi
