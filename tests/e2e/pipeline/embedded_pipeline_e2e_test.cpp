// The whole pipeline on the embedded default, under faults: `rs_ingester run --data-dir DIR`
// (SQLite ingester database and warehouse, DIR/objects as the object store, DIR/inbox as the
// queue, DIR/schemas as the schema registry) as one process. A producer puts a few hundred
// generated Spade files (tests/support/spade_generator.hpp: adversarial values, expected rows
// computed by an independent oracle, here in SQLite's storage forms) into DIR/objects and
// announces them in the inbox, some through `rs_ingester load`; one table gains a column
// (DIR/schemas/<table>/v1.json) while files flow, and its later files are written for version
// 1. Meanwhile the process is killed (-9) at random moments more than twenty times, every fifth
// time while it waits behind write transactions the test holds on its databases (so that a
// load and a message are caught in flight); messages arrive twice (at once or much later),
// malformed messages and hostile table names arrive, and seven files are bad, each in another
// way (corrupt or truncated gzip, a value its column refuses, a missing object, a key no store
// serves, a line over 4 MB, a non-ASCII CHAR value).
//
// Time: `rs_ingester run` has no flags for its 60 s visibility timeout and batch lease, so each
// start of the process runs with its wall clock set k_restart_gap further ahead
// (tests/support/clock_shift.cpp, by LD_PRELOAD): every restart finds the deliveries and leases
// of the process before it expired, as if it had been down a minute. Messages in flight at a
// kill are delivered again and orphaned batches are resolved through the ledger, without the
// test sleeping through those minutes.
//
// With nobody acting (the last files of each table load by the age trigger), every warehouse
// table must come to hold exactly the rows of its good files, every column compared with its
// storage class, each bad file must be quarantined once with its kind and place (and logged
// once at error level), no batch may fail, the ingester tables and the inbox must be drained,
// and every rejected input must be on record with its reason. Then the test acts as the
// operator of docs/runbook.md: it lists the quarantined files, fixes the truncated one and
// retries it (it loads, once), and drops the others.
//
// The scenario, the operator's steps and the end-state checks are shared with
// pipeline_e2e_test.cpp (pipeline_scenario.hpp); this file holds the deployment: the data
// directory, the process, its faults, and `Deployment` on the SQLite databases, the inbox and
// the control API.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <span>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "objectstore/local_object_store.hpp"
#include "pipeline_scenario.hpp"
#include "queue/local_queue.hpp"
#include "sqlite/database.hpp"
#include "support/net.hpp"
#include "support/process.hpp"
#include "support/spade_generator.hpp"
#include "support/temp_dir.hpp"

namespace rsi {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using test::spade::ColumnSpec;
using namespace test::pipeline;

constexpr std::uint32_t k_seed = 20'240'612;
constexpr int k_min_kills = 22;
constexpr int k_max_kills = 60;
// How much later each start's wall clock runs than the one before: past the embedded
// default's visibility timeout, batch lease and retry delay (60 s each).
constexpr std::chrono::seconds k_restart_gap{65};
// The bucket folder of DIR/objects that `rs_ingester load` stores into (app::DataDir); the
// producer's own files go there too, under the key scheme `rs_ingester load` uses.
const std::string k_bucket = "local";
const std::string k_operator = "embedded-pipeline-e2e: OPS-1 bad files";

// `sends` in order, now and then a message twice: again at once, or 20 to 80 sends later (the
// local inbox has no per-message delay, so a late duplicate is one the producer sends late).
std::vector<Announcement> with_duplicates(const std::vector<Announcement>& sends, std::mt19937& rng,
                                          int& duplicates) {
  std::vector<Announcement> out;
  std::multimap<std::size_t, Announcement> late;
  for (std::size_t index = 0; index < sends.size(); ++index) {
    out.push_back(sends[index]);
    if (!sends[index].cli_file) {
      if (const auto roll = rng() % 100; roll < 10) {
        out.push_back(sends[index]);
        ++duplicates;
      } else if (roll < 18) {
        late.emplace(index + 20 + rng() % 61, sends[index]);
        ++duplicates;
      }
    }
    for (auto due = late.begin(); due != late.end() && due->first <= index;) {
      out.push_back(due->second);
      due = late.erase(due);
    }
  }
  for (auto& [position, send] : late) {
    out.push_back(send);
  }
  return out;
}

// A table version's schema file (docs/schema-registry.md), in Blueprint's schema format.
std::string schema_file(const std::vector<ColumnSpec>& columns) {
  json list = json::array();
  for (const ColumnSpec& column : columns) {
    list.push_back({{"OutboundName", column.name},
                    {"InboundName", column.name},
                    {"Transformer", test::spade::blueprint_type(column)},
                    {"ColumnCreationOptions", test::spade::blueprint_options(column)}});
  }
  return json{{"Columns", list}}.dump(2);
}

// Writes `content` to `path` through a hidden temporary file and a rename, so that a reader
// sees the whole file or none.
void write_atomically(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  const fs::path temporary = path.parent_path() / ("." + path.filename().string() + ".tmp");
  {
    std::ofstream out(temporary, std::ios::binary);
    out << content;
    if (!out.flush()) {
      throw std::runtime_error("cannot write " + temporary.string());
    }
  }
  fs::rename(temporary, path);
}

// The rows of `sql` on the SQLite database `path`, every column as text; nullopt when the
// database cannot be read now (not created yet, its tables not yet, or busy past the timeout).
std::optional<Table> query(const fs::path& path, const std::string& sql,
                           const std::vector<std::string>& params = {}) {
  std::error_code error;
  if (!fs::exists(path, error)) {
    return std::nullopt;
  }
  auto db = sqlite::Database::open(path, 5s);
  if (!db) {
    return std::nullopt;
  }
  auto statement = db->prepare(sql);
  if (!statement) {
    return std::nullopt; // Also before rs_ingester has created its tables.
  }
  for (std::size_t index = 0; index < params.size(); ++index) {
    statement->bind(static_cast<int>(index + 1), params[index]);
  }
  const int columns = sqlite3_column_count(statement->raw());
  Table rows;
  while (true) {
    auto row = statement->step();
    if (!row) {
      return std::nullopt;
    }
    if (!*row) {
      return rows;
    }
    auto& values = rows.emplace_back();
    for (int column = 0; column < columns; ++column) {
      values.push_back(statement->is_null(column)
                           ? std::nullopt
                           : std::optional(std::string(statement->text(column))));
    }
  }
}

// The single integer `sql` selects, or -1 when it cannot be read.
std::int64_t scalar(const fs::path& path, const std::string& sql,
                    const std::vector<std::string>& params = {}) {
  const auto rows = query(path, sql, params);
  return rows && rows->size() == 1 && !rows->front().empty() && rows->front().front()
             ? std::stoll(*rows->front().front())
             : -1;
}

// Regular files directly in `dir` whose names do not start with '.'.
std::size_t visible_files(const fs::path& dir) {
  std::size_t count = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    std::error_code type_error;
    if (entry.is_regular_file(type_error) && !entry.path().filename().string().starts_with(".")) {
      ++count;
    }
  }
  return count;
}

class EmbeddedPipelineE2E : public ::testing::Test, public Deployment {
protected:
  void SetUp() override {
    m_scenario =
        make_scenario({.seed = k_seed,
                       .bucket = k_bucket,
                       .rendering = Rendering::sqlite,
                       .through_cli_one_in = 10,
                       .requester = "embedded-pipeline-e2e",
                       .operator_name = k_operator,
                       .shuffled = [this](std::vector<Announcement>& list, std::mt19937& rng) {
                         list = with_duplicates(list, rng, m_duplicates);
                       }});
    m_data = m_dir.path("data");
    fs::create_directories(inbox());

    // The files the producer stores itself, and version 0 of every table's schema.
    auto store = objectstore::make_local_object_store({.root = m_data / "objects"});
    ASSERT_TRUE(store) << store.error().message;
    for (const PlannedFile& file : m_scenario.files) {
      if (!file.through_cli && (!file.bad || file.bad->stored)) {
        const auto put = (*store)->put(file.key_name, file.object);
        ASSERT_TRUE(put) << put.error().message;
      }
    }
    for (const TableDef& table : m_scenario.tables) {
      write_atomically(schema_path(table, 0), schema_file(table.columns));
    }
  }

  fs::path inbox() const { return m_data / "inbox"; }
  fs::path ingester_db() const { return m_data / "ingester.db"; }
  fs::path warehouse_db() const { return m_data / "warehouse.db"; }
  fs::path schema_path(const TableDef& table, int version) const {
    return m_data / "schemas" / table.name / fmt::format("v{}.json", version);
  }

  // Starts `rs_ingester run`, its wall clock k_restart_gap ahead of the previous start's.
  void start_ingester() {
    m_port = test::free_tcp_port();
    m_log = log_path(m_starts);
    const auto shift = k_restart_gap * m_starts;
    ++m_starts;
    m_ingester = std::make_unique<test::Process>(
        RSI_RS_INGESTER_BIN,
        std::vector<std::string>{
            "--log-level", "info", "run", "--data-dir", m_data.string(), "--workers", "2",
            "--listeners", "2", "--load-count", "5", "--load-age", "5", "--unknown-table-wait", "2",
            "--unknown-table-retry", "1", "--control-addr", fmt::format("127.0.0.1:{}", m_port)},
        m_log,
        std::map<std::string, std::string>{
            {"LD_PRELOAD", RSI_CLOCK_SHIFT_LIB},
            {"RSI_TEST_CLOCK_SHIFT_SECONDS", std::to_string(shift.count())}});
  }

  fs::path log_path(int start) const {
    return m_dir.path(fmt::format("rs_ingester-{:02}.log", start));
  }

  std::string logs() const {
    return fmt::format("--- {}\n{}", m_log.filename().string(),
                       m_ingester ? tail(m_ingester->log_text()) : "");
  }

  // Producer ----------------------------------------------------------------------------------

  // `rs_ingester load`: copies the file into DIR/objects and announces it.
  void load_with_cli(const PlannedFile& file) {
    const TableDef& table = m_scenario.tables[file.table];
    const fs::path staged = m_dir.path("staging") / file.key;
    write_atomically(staged, file.object);
    test::Process load(RSI_RS_INGESTER_BIN,
                       {"load", staged.string(), "--table", table.name, "--version",
                        std::to_string(file.version), "--data-dir", m_data.string()},
                       m_dir.path("load.log"));
    if (const auto status = load.wait(30s); status != 0) {
      m_errors.note(fmt::format("rs_ingester load {} exited with {}:\n{}", file.key,
                                status.value_or(-1), tail(load.log_text())));
    }
  }

  // `rs_ingester load` refuses a hostile table name (exit 2) before it stores anything.
  void expect_cli_refuses_hostile_table() {
    const fs::path staged = m_dir.path("staging/hostile.gz");
    write_atomically(staged, m_scenario.files.front().object);
    test::Process load(RSI_RS_INGESTER_BIN,
                       {"load", staged.string(), "--table", "../pipe_texts", "--version", "0",
                        "--data-dir", m_data.string()},
                       m_dir.path("load-hostile.log"));
    const auto status = load.wait(30s);
    if (status != 2 || load.log_text().find("invalid table name") == std::string::npos ||
        fs::exists(m_data / "objects" / "pipe_texts")) {
      m_errors.note(fmt::format("rs_ingester load --table ../pipe_texts: status {}, log:\n{}",
                                status.value_or(-1), tail(load.log_text())));
    }
  }

  void send(const Announcement& step) {
    if (step.cli_file) {
      load_with_cli(m_scenario.files[*step.cli_file]);
      return;
    }
    if (auto published = queue::publish_local_message(inbox(), step.body); !published) {
      m_errors.note("producer: " + published.error().message);
    }
  }

  void produce(std::stop_token stop) {
    std::mt19937 rng(k_seed + 1);
    const auto send_each = [&](std::span<const Announcement> chunk) {
      for (const Announcement& step : chunk) {
        send(step);
      }
    };
    expect_cli_refuses_hostile_table();
    const std::span<const Announcement> before = m_scenario.before_migration;
    const std::size_t half = before.size() / 2;
    send_paced(before.first(half), rng, stop, send_each);
    // The schema change, while files flow: version 1 of the migrating table adds a column. The
    // migrator acts on it once files of version 1 wait.
    const TableDef& migrating = m_scenario.tables[k_migrating_table];
    std::vector<ColumnSpec> v1_columns = migrating.columns;
    v1_columns.push_back(*migrating.v1_column);
    write_atomically(schema_path(migrating, 1), schema_file(v1_columns));
    send_paced(before.subspan(half), rng, stop, send_each);
    // Files of version 1 go out once the version 0 files are all recorded (or loaded already).
    if (auto late = wait_for_version_0_files(m_scenario, *this, stop, 120s)) {
      m_errors.note(*late);
    }
    send_paced(m_scenario.after_migration, rng, stop, send_each);
    m_produced = true;
  }

  // Faults ------------------------------------------------------------------------------------

  // Kills rs_ingester (-9), noting what the dead process left behind: the messages it held
  // (delivered again once their visibility timeout is over) and the batches it had claimed
  // (orphans, resolved through the ledger once their lease is over).
  void kill_now() {
    kill_hard(*m_ingester, "rs_ingester");
    m_stranded_messages += visible_files(inbox() / "inflight");
    m_orphaned_batches += std::max<std::int64_t>(0, in_flight_batches());
    ++m_kills;
  }

  std::int64_t in_flight_batches() const {
    return scalar(ingester_db(), "SELECT count(*) FROM manifest WHERE retry_ts IS NULL");
  }

  // Someone holds a write transaction on both databases (sqlite3 in a shell, say), and the
  // process is killed while it waits behind it: first the warehouse is locked until a load is
  // stuck in it (its batch claimed), then the ingester database until a new message is stuck
  // in flight (received, not recorded). Each wait is bounded; the kill happens regardless.
  void lock_and_kill() {
    auto warehouse = sqlite::Database::open(warehouse_db(), 10s);
    auto ingester = sqlite::Database::open(ingester_db(), 10s);
    ASSERT_TRUE(warehouse && ingester);
    {
      ++m_lock_faults;
      auto warehouse_lock = sqlite::Transaction::begin(*warehouse);
      ASSERT_TRUE(warehouse_lock) << warehouse_lock.error().message;
      force_load_waiting_tables(m_scenario, *this);
      if (test::eventually(10s, [&] { return in_flight_batches() > 0; })) {
        ++m_lock_faults_with_batch;
      }
      auto ingester_lock = sqlite::Transaction::begin(*ingester);
      ASSERT_TRUE(ingester_lock) << ingester_lock.error().message;
      if (test::eventually(10s, [&] { return visible_files(inbox() / "inflight") > 0; })) {
        ++m_lock_faults_with_message;
      }
      kill_now();
    } // Rolled back: the locks go.
    start_ingester();
  }

  // Kills the process until the producer is done, at least k_min_kills times: at random
  // moments, and every fifth time (while the producer sends) as it waits behind a lock.
  void run_faults() {
    std::mt19937 rng(k_seed + 2);
    while (m_kills < k_max_kills && (m_kills < k_min_kills || !m_produced)) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(300 + rng() % 1700)); // A random moment.
      if (m_kills % 5 == 2 && !m_produced) { // Behind a lock only while new work arrives.
        lock_and_kill();
      } else {
        kill_now();
        start_ingester();
      }
      if (HasFatalFailure()) {
        return;
      }
    }
  }

  // Convergence: nobody acts -----------------------------------------------------------------

  // One look, twice a second: the process alive, no failed batch, everything where it belongs.
  bool settle_step(WatchState& state) {
    if (!time_to_look(state)) {
      return false;
    }
    if (!m_ingester->running()) {
      state.unexpected = "rs_ingester exited by itself";
      return true;
    }
    watch_for_failed_batches(*this, state);
    return !state.unexpected.empty() || settled(m_scenario, *this);
  }

  void stop_ingester() {
    stop_gracefully(*m_ingester, "rs_ingester",
                    [&] { return http_status(m_port, "/health") == 200; });
  }

  // Deployment ---------------------------------------------------------------------------------

  std::int64_t ingester_rows(std::string_view table) override {
    return scalar(ingester_db(), fmt::format("SELECT count(*) FROM {}", table));
  }

  std::optional<std::vector<std::string>> waiting_tables() override {
    return first_column(
        query(ingester_db(), "SELECT DISTINCT tablename FROM tsv WHERE manifest_uuid IS NULL"));
  }

  std::int64_t recorded_or_loaded(const std::string& table, int version) override {
    return scalar(ingester_db(),
                  fmt::format("SELECT count(*) FROM (SELECT keyname FROM tsv WHERE tablename = ?1 "
                              "AND tableversion = {} "
                              "UNION SELECT keyname FROM loaded_key WHERE tablename = ?1)",
                              version),
                  {table});
  }

  std::optional<Table> batches() override {
    return query(ingester_db(), "SELECT uuid, tablename, retry_count, retry_ts, lease_until, "
                                "released, last_error FROM manifest");
  }

  std::optional<Table> rejected_messages() override {
    return query(ingester_db(),
                 "SELECT CAST(body AS TEXT), reason FROM rejected_message ORDER BY id");
  }

  std::set<std::string> loaded_keys() override {
    const auto keys = first_column(query(ingester_db(), "SELECT keyname FROM loaded_key"))
                          .value_or(std::vector<std::string>{});
    return {keys.begin(), keys.end()};
  }

  std::optional<Table> quarantined_rows() override {
    return query(ingester_db(),
                 "SELECT id, keyname, tablename, tableversion, kind, error, line, "
                 "col, attempts, state, changed_by FROM quarantined_file ORDER BY id");
  }

  std::int64_t warehouse_rows(const std::string& table) override {
    return scalar(warehouse_db(),
                  "SELECT count(*) FROM " + sqlite::Database::quote_identifier(table));
  }

  std::optional<std::vector<std::string>> warehouse_columns(const std::string& table) override {
    return first_column(
        query(warehouse_db(), "SELECT name FROM pragma_table_info(?) ORDER BY cid", {table}));
  }

  // Each value with the storage class SQLite holds it in (test::spade's SQLite rendering).
  std::optional<Table> warehouse_values(const std::string& table,
                                        const std::vector<std::string>& columns) override {
    std::vector<std::string> selected;
    for (const auto& name : columns) {
      const std::string column = sqlite::Database::quote_identifier(name);
      selected.push_back(fmt::format("typeof({0}) || ':' || CAST({0} AS TEXT)", column));
    }
    return query(warehouse_db(),
                 fmt::format("SELECT {} FROM {} ORDER BY \"id\"", fmt::join(selected, ", "),
                             sqlite::Database::quote_identifier(table)));
  }

  std::int64_t ledger_total(std::string_view column) override {
    return scalar(warehouse_db(),
                  fmt::format(R"(SELECT sum({}) FROM "infra.load_manifest")", column));
  }

  std::int64_t table_version(const std::string& table) override {
    return scalar(warehouse_db(),
                  R"(SELECT max(version) FROM "infra.table_version" WHERE name = ?)", {table});
  }

  std::optional<long> messages_left() override { return static_cast<long>(inbox_messages()); }

  Result<void> put_object(const PlannedFile& file, const std::string& object) override {
    auto store = objectstore::make_local_object_store({.root = m_data / "objects"});
    if (!store) {
      return fail(store.error());
    }
    return (*store)->put(file.key_name, object);
  }

  int control_port() override { return m_port; }

  std::size_t inbox_messages() const {
    return visible_files(inbox()) + visible_files(inbox() / "inflight");
  }

  // End state ---------------------------------------------------------------------------------

  std::vector<fs::path> all_logs() const {
    std::vector<fs::path> paths;
    for (int start = 0; start < m_starts; ++start) {
      paths.push_back(log_path(start));
    }
    return paths;
  }

  // `rs_ingester run --until-idle` on the data directory with the bad files quarantined: there
  // is nothing left to do, but not everything loaded, so it exits 3 naming each of them.
  void expect_until_idle_names_quarantined() {
    test::Process run(RSI_RS_INGESTER_BIN,
                      {"--log-level", "warn", "run", "--data-dir", m_data.string(), "--until-idle",
                       "--control-addr", ""},
                      m_dir.path("until-idle.log"));
    const auto status = run.wait(60s);
    const std::string output = run.log_text();
    EXPECT_EQ(status, 3) << output;
    for (const PlannedFile& file : m_scenario.files) {
      if (file.bad) {
        EXPECT_NE(output.find(fmt::format("quarantined file {} (id ", file.key_name)),
                  std::string::npos)
            << file.key_name << " not named in:\n"
            << output;
      }
    }
  }

  // `rs_ingester status` on the stopped data directory: every table at its version, nothing
  // waiting, no stale batch.
  void expect_status_output() {
    test::Process status(RSI_RS_INGESTER_BIN, {"status", "--data-dir", m_data.string()},
                         m_dir.path("status.log"));
    ASSERT_EQ(status.wait(30s), 0) << status.log_text();
    const std::string output = status.log_text();
    EXPECT_EQ(output.find("stale batch"), std::string::npos) << output;
    for (const TableDef& table : m_scenario.tables) {
      std::istringstream lines(output);
      std::string line;
      bool listed = false;
      while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::string name;
        std::string version;
        std::string pending;
        std::string waiting;
        fields >> name >> version >> pending >> waiting;
        if (name == table.name) {
          listed = true;
          EXPECT_EQ(version, table.v1_column ? "1" : "0") << line;
          EXPECT_EQ(waiting, "0") << line;
        }
      }
      EXPECT_TRUE(listed) << table.name << " missing from:\n" << output;
    }
  }

  // Members are destroyed in reverse: the producer thread stops first, then the process dies
  // (SIGKILL), then the directory goes.
  Scenario m_scenario;
  test::TempDir m_dir;
  fs::path m_data;
  std::unique_ptr<test::Process> m_ingester;
  fs::path m_log;
  int m_port = 0;
  int m_starts = 0;
  int m_kills = 0;
  std::size_t m_stranded_messages = 0;
  std::int64_t m_orphaned_batches = 0;
  int m_lock_faults = 0;
  int m_lock_faults_with_batch = 0;
  int m_lock_faults_with_message = 0;
  int m_duplicates = 0; // Messages sent twice: at once, or much later.
  std::atomic<bool> m_produced{false};
  ProducerErrors m_errors;
  std::jthread m_producer_thread;
};

TEST_F(EmbeddedPipelineE2E, LoadsExactlyTheExpectedRowsThroughKillsAndBadInput) {
  Timeline timeline;
  start_ingester();
  m_producer_thread = std::jthread([this](std::stop_token stop) { produce(stop); });
  WatchState state;
  const bool done = converge(
      timeline, m_producer_thread, [&] { run_faults(); }, [&] { return settle_step(state); }, 90s);
  m_errors.report(); // The producer's.
  ASSERT_TRUE(done && state.unexpected.empty())
      << not_converged(timeline, state, progress(m_scenario, *this, "inbox"), logs());
  expect_settled_state(m_scenario, *this);
  EXPECT_EQ(inbox_messages(), 0U);
  expect_quarantine_logged(m_scenario, all_logs());
  stop_ingester();
  expect_until_idle_names_quarantined();
  start_ingester();
  ASSERT_TRUE(test::eventually(30s, [&] { return http_status(m_port, "/health") == 200; }))
      << logs();

  // The operator.
  const Repair repair = repair_quarantine(m_scenario, *this);
  ASSERT_TRUE(repair.unexpected.empty()) << repair.unexpected << "\n" << logs();
  ASSERT_TRUE(test::eventually(60s, [&] { return repaired(m_scenario, *this); }))
      << "the retried file did not load\n"
      << progress(m_scenario, *this, "inbox") << "\n"
      << logs();
  timeline.repaired_at = std::chrono::steady_clock::now();
  expect_status_after_repair(m_scenario, *this);
  stop_ingester();
  expect_audit_logged(m_scenario, m_ingester->log_text());
  expect_end_state(m_scenario, *this);
  expect_status_output();
  // Kills hit work in progress: messages held (delivered again: the inbox is empty) and
  // batches claimed (resolved: the manifest table is empty).
  EXPECT_GT(m_stranded_messages, 0U) << "no kill found a message in flight";
  EXPECT_GT(m_orphaned_batches, 0) << "no kill found a batch in flight";
  RecordProperty("kills", m_kills);
  std::cout << fmt::format(
      "embedded pipeline: {} kills ({} behind locks, which held {} loads and {} messages), {} "
      "starts, {} messages and {} batches in flight at a kill, {} duplicate messages; {}\n",
      m_kills, m_lock_faults, m_lock_faults_with_batch, m_lock_faults_with_message, m_starts,
      m_stranded_messages, m_orphaned_batches, m_duplicates, timeline.summary());
}

} // namespace
} // namespace rsi
