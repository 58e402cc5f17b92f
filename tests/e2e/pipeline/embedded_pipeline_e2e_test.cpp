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
// malformed messages and hostile table names arrive, and one file is a truncated gzip: its
// batch goes stale, and the test acts as the operator of docs/runbook.md (skip the batch,
// announce its good files again). The test forces loads through the control API, as the
// PostgreSQL pipeline test does.
//
// Time: `rs_ingester run` has no flags for its 60 s visibility timeout, batch lease and retry
// delay, nor for its 5 retries, so each start of the process runs with its wall clock set
// k_restart_gap further ahead (tests/support/clock_shift.cpp, by LD_PRELOAD): every restart
// finds the deliveries, leases and retry times of the process before it expired, as if it had
// been down a minute. Messages in flight at a kill are delivered again, orphaned batches are
// resolved through the ledger, and a failed batch is retried at each start, without the test
// sleeping through those minutes.
//
// In the end every warehouse table must hold exactly the expected rows, every column compared
// with its storage class, the ingester tables and the inbox must be drained, and every rejected
// input must be on record with its reason.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <span>
#include <sstream>

#include <fmt/format.h>
#include <httplib.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "objectstore/local_object_store.hpp"
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
using test::spade::ColumnKind;
using test::spade::ColumnSpec;
using test::spade::ExpectedRow;

constexpr std::uint32_t k_seed = 20'240'612;
constexpr int k_min_kills = 22;
constexpr int k_max_kills = 60;
// How much later each start's wall clock runs than the one before: past the embedded
// default's visibility timeout, batch lease and retry delay (60 s each).
constexpr std::chrono::seconds k_restart_gap{65};
// The bucket folder of DIR/objects that `rs_ingester load` stores into (app::DataDir); the
// producer's own files go there too, under the same key scheme.
const std::string k_bucket = "local";
const std::string k_operator = "embedded-pipeline-e2e: OPS-1 truncated gzip";

struct TableDef {
  std::string name;
  std::vector<ColumnSpec> columns;     // Version 0.
  std::optional<ColumnSpec> v1_column; // What version 1 adds, if the table has one.
  int files = 0;
  int v1_files = 0; // The last `v1_files` files are written for version 1.
};

std::vector<TableDef> table_defs() {
  const ColumnSpec id{"id", ColumnKind::bigint};
  return {
      {"pipe_events",
       {id,
        {"name", ColumnKind::varchar, 16},
        {"amount", ColumnKind::integer},
        {"ratio", ColumnKind::double_precision},
        {"ok", ColumnKind::boolean},
        {"time", ColumnKind::timestamp},
        {"day", ColumnKind::date}},
       ColumnSpec{"note", ColumnKind::varchar, 24},
       70,
       30},
      {"pipe_texts",
       {id,
        {"a", ColumnKind::varchar, 8},
        {"b", ColumnKind::varchar, 64},
        {"c", ColumnKind::varchar, 65535}},
       std::nullopt,
       60,
       0},
      {"pipe_numbers",
       {id,
        {"small", ColumnKind::integer},
        {"big", ColumnKind::bigint},
        {"x", ColumnKind::double_precision},
        {"flag", ColumnKind::boolean}},
       std::nullopt,
       60,
       0},
      {"pipe-times",
       {id,
        {"time", ColumnKind::timestamp},
        {"day", ColumnKind::date},
        {"label", ColumnKind::varchar, 12}},
       std::nullopt,
       50,
       0},
      {"pipe_mixed",
       {id,
        {"label", ColumnKind::varchar, 32},
        {"n", ColumnKind::bigint},
        {"at", ColumnKind::timestamp},
        {"flag", ColumnKind::boolean}},
       std::nullopt,
       60,
       0},
  };
}

// The table that migrates while files flow, and the one that gets the corrupt file.
constexpr std::size_t k_migrating_table = 0;
constexpr std::size_t k_corrupt_table = 4;

struct PlannedFile {
  std::size_t table = 0;
  int index = 0; // Within its table.
  int version = 0;
  std::string key;      // In the bucket: "<table>/v<N>/<NNN>.gz", as `rs_ingester load` names it.
  std::string key_name; // "local/<key>", as announced.
  std::string object;   // The bytes in the object store.
  std::vector<ExpectedRow> rows; // In the SQLite rendering.
  bool corrupt = false;
  bool through_cli = false; // Stored and announced by `rs_ingester load`, not by the producer.
};

// One step of the producer: publish `body` to the inbox, or run `rs_ingester load` for file
// `cli_file` (which stores and announces it).
struct Send {
  std::string body;
  std::optional<std::size_t> cli_file;
};

struct BadMessage {
  std::string body;
  std::string reason_contains;
};

struct Scenario {
  std::vector<TableDef> tables;
  std::vector<PlannedFile> files;
  std::vector<Send> before_migration; // Up to the migrating table's last version 0 file.
  std::vector<Send> after_migration;
  std::vector<BadMessage> bad_messages;
  std::string corrupt_key_name;
  int duplicates = 0; // Messages sent twice: at once, or much later.
};

std::string pointer_body(const std::string& key_name, const std::string& table, int version) {
  return json{{"KeyName", key_name}, {"TableName", table}, {"TableVersion", version}}.dump();
}

// Messages no file pointer can be read from, and what the rejection's reason must say.
std::vector<BadMessage> bad_messages() {
  const std::string key = k_bucket + "/never/there.gz";
  const auto with_table = [&](const std::string& table) { return pointer_body(key, table, 0); };
  return {
      {"this is not json {", "malformed JSON"},
      {json{{"KeyName", key}, {"TableName", "pipe_texts"}}.dump(),
       "field \"TableVersion\": missing"},
      {json{{"TableName", "pipe_texts"}, {"TableVersion", 0}}.dump(), "field \"KeyName\": missing"},
      {json{{"KeyName", key}, {"TableVersion", 0}}.dump(), "field \"TableName\": missing"},
      {json{{"KeyName", key}, {"TableName", "pipe_texts"}, {"TableVersion", "0"}}.dump(),
       "field \"TableVersion\""},
      {json{{"KeyName", key}, {"TableName", "pipe_texts"}, {"TableVersion", -1}}.dump(),
       "field \"TableVersion\""},
      {with_table("a\"b; drop table x"), "invalid table name"},
      {with_table(""), "invalid table name: empty"},
      {with_table(std::string(200, 'a')), "200 bytes long"},
      {with_table("pipe\x01texts"), "control character"},
      {with_table("pipe_texts\n"), "control character"},
      {with_table("../pipe_texts"), "invalid table name"},
      {json{{"Type", "Notification"}, {"Message", 42}}.dump(), "field \"Message\""},
      // A valid name without a schema folder: not in the embedded event metadata.
      {with_table("pipe_unknown"), "is not in the event metadata"},
  };
}

// `sends` in order, now and then a message twice: again at once, or 20 to 80 sends later (the
// local inbox has no per-message delay, so a late duplicate is one the producer sends late).
std::vector<Send> with_duplicates(const std::vector<Send>& sends, std::mt19937& rng,
                                  int& duplicates) {
  std::vector<Send> out;
  std::multimap<std::size_t, Send> late;
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

Scenario make_scenario() {
  Scenario scenario;
  scenario.tables = table_defs();
  test::spade::SpadeGenerator generator(k_seed);
  std::mt19937 rng(k_seed);
  for (std::size_t table_index = 0; table_index < scenario.tables.size(); ++table_index) {
    const TableDef& table = scenario.tables[table_index];
    std::vector<ColumnSpec> v1_columns = table.columns;
    if (table.v1_column) {
      v1_columns.push_back(*table.v1_column);
    }
    for (int file = 0; file < table.files; ++file) {
      PlannedFile planned;
      planned.table = table_index;
      planned.index = file;
      planned.version = file >= table.files - table.v1_files ? 1 : 0;
      planned.key = fmt::format("{}/v{}/{:03}.gz", table.name, planned.version, file);
      planned.key_name = k_bucket + "/" + planned.key;
      planned.through_cli = rng() % 10 == 0;
      const auto& columns = planned.version == 1 ? v1_columns : table.columns;
      const auto first_id = static_cast<std::int64_t>(table_index) * 1'000'000 + file * 100;
      // Mostly a few rows; now and then an empty file; one file of pipe_texts of about 1.5 MB
      // uncompressed, more than the reader's first buffer.
      int rows = static_cast<int>(rng() % 9);
      if (table.name == "pipe_texts" && file == 7) {
        rows = 50;
      }
      auto contents = generator.make_file(columns, first_id, rows);
      planned.object = std::move(contents.gzip);
      planned.rows = std::move(contents.sqlite_rows);
      // Rows of version 0 get NULL in the column version 1 adds.
      for (auto& row : planned.rows) {
        row.resize(v1_columns.size());
      }
      scenario.files.push_back(std::move(planned));
    }
  }
  // The corrupt file: a gzip cut off two thirds in, announced early (so that nothing of it is
  // still in flight when its batch is skipped) and exactly once.
  PlannedFile& corrupt =
      *std::find_if(scenario.files.begin(), scenario.files.end(),
                    [](const PlannedFile& file) { return file.table == k_corrupt_table; });
  corrupt.corrupt = true;
  corrupt.through_cli = false;
  corrupt.object.resize(corrupt.object.size() * 2 / 3);
  corrupt.rows.clear();
  scenario.corrupt_key_name = corrupt.key_name;
  scenario.bad_messages = bad_messages();

  // The migrating table's version 0 files and 60% of every other table's before the schema
  // change is complete, the rest after; some wrapped in an SNS notification.
  std::vector<Send> before;
  std::vector<Send> after;
  for (std::size_t index = 0; index < scenario.files.size(); ++index) {
    const PlannedFile& file = scenario.files[index];
    const TableDef& table = scenario.tables[file.table];
    if (file.corrupt) {
      continue;
    }
    const bool early =
        file.table == k_migrating_table ? file.version == 0 : file.index < table.files * 6 / 10;
    auto& list = early ? before : after;
    if (file.through_cli) {
      list.push_back({"", index});
      continue;
    }
    std::string body = pointer_body(file.key_name, table.name, file.version);
    if (rng() % 10 == 0) {
      body = json{
          {"Type", "Notification"},
          {"MessageId", fmt::format("sns-{}", rng())},
          {"Message",
           body}}.dump();
    }
    list.push_back({body, std::nullopt});
  }
  for (std::size_t index = 0; index < scenario.bad_messages.size(); ++index) {
    (index % 2 == 0 ? before : after).push_back({scenario.bad_messages[index].body, std::nullopt});
  }
  std::shuffle(before.begin(), before.end(), rng);
  std::shuffle(after.begin(), after.end(), rng);
  scenario.before_migration = with_duplicates(before, rng, scenario.duplicates);
  scenario.after_migration = with_duplicates(after, rng, scenario.duplicates);
  const auto corrupt_at = static_cast<long>(rng() % (scenario.before_migration.size() / 5));
  scenario.before_migration.insert(
      scenario.before_migration.begin() + corrupt_at,
      {pointer_body(corrupt.key_name, scenario.tables[k_corrupt_table].name, 0), std::nullopt});
  return scenario;
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

// A value for a failure message: quotes and backslashes escaped, other bytes outside
// printable ASCII as \xNN.
std::string shown(const std::optional<std::string>& value) {
  if (!value) {
    return "NULL";
  }
  std::string out = "\"";
  for (const char ch : *value) {
    const auto byte = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += {'\\', ch};
    } else {
      out += byte >= 0x20 && byte < 0x7F ? std::string(1, ch) : fmt::format("\\x{:02x}", byte);
    }
  }
  return out + "\"";
}

std::string tail(const std::string& text) {
  return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
}

std::int64_t row_id(const ExpectedRow& row) {
  return std::stoll(row.front().value_or("integer:-1").substr(std::string("integer:").size()));
}

using Table = std::vector<std::vector<std::optional<std::string>>>;

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

class EmbeddedPipelineE2E : public ::testing::Test {
protected:
  void SetUp() override {
    m_scenario = make_scenario();
    m_data = m_dir.path("data");
    fs::create_directories(inbox());

    // The files the producer stores itself, and version 0 of every table's schema.
    auto store = objectstore::make_local_object_store({.root = m_data / "objects"});
    ASSERT_TRUE(store) << store.error().message;
    for (const PlannedFile& file : m_scenario.files) {
      if (!file.through_cli) {
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
        std::vector<std::string>{"--log-level", "info", "run", "--data-dir", m_data.string(),
                                 "--workers", "2", "--listeners", "2", "--load-count", "5",
                                 "--load-age", "5", "--control-addr",
                                 fmt::format("127.0.0.1:{}", m_port)},
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

  void note_error(std::string error) {
    const std::lock_guard lock(m_errors_mutex);
    m_errors.push_back(std::move(error));
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
      note_error(fmt::format("rs_ingester load {} exited with {}:\n{}", file.key,
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
      note_error(fmt::format("rs_ingester load --table ../pipe_texts: status {}, log:\n{}",
                             status.value_or(-1), tail(load.log_text())));
    }
  }

  void send(const Send& step) {
    if (step.cli_file) {
      load_with_cli(m_scenario.files[*step.cli_file]);
      return;
    }
    if (auto published = queue::publish_local_message(inbox(), step.body); !published) {
      note_error("producer: " + published.error().message);
    }
  }

  // Sends `sends` in batches of 1 to 10, a few batches a second, as a producer does.
  void send_paced(std::span<const Send> sends, std::mt19937& rng, std::stop_token stop) {
    std::size_t sent = 0;
    while (sent < sends.size() && !stop.stop_requested()) {
      const std::size_t count = std::min<std::size_t>(1 + rng() % 10, sends.size() - sent);
      for (const Send& step : sends.subspan(sent, count)) {
        send(step);
      }
      sent += count;
      std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 400)); // Traffic shape.
    }
  }

  void produce(std::stop_token stop) {
    std::mt19937 rng(k_seed + 1);
    expect_cli_refuses_hostile_table();
    const std::span<const Send> before = m_scenario.before_migration;
    const std::size_t half = before.size() / 2;
    send_paced(before.first(half), rng, stop);
    // The schema change, while files flow: version 1 of the migrating table adds a column. The
    // migrator acts on it once files of version 1 wait.
    const TableDef& migrating = m_scenario.tables[k_migrating_table];
    std::vector<ColumnSpec> v1_columns = migrating.columns;
    v1_columns.push_back(*migrating.v1_column);
    write_atomically(schema_path(migrating, 1), schema_file(v1_columns));
    send_paced(before.subspan(half), rng, stop);
    // Files of version 1 go out once the version 0 files are all recorded (or loaded already),
    // so that no file of the old version arrives after the migration (it would wait for an
    // operator, docs/runbook.md).
    const std::string recorded_sql =
        "SELECT count(*) FROM (SELECT keyname FROM tsv WHERE tablename = ?1 AND tableversion = 0 "
        "UNION SELECT keyname FROM loaded_key WHERE tablename = ?1)";
    const int v0_files = migrating.files - migrating.v1_files;
    if (!test::eventually(120s, [&] {
          return stop.stop_requested() ||
                 scalar(ingester_db(), recorded_sql, {migrating.name}) == v0_files;
        })) {
      note_error(fmt::format("producer: the {} version 0 files of {} were not recorded in time",
                             v0_files, migrating.name));
    }
    send_paced(m_scenario.after_migration, rng, stop);
    m_produced = true;
  }

  // Faults ------------------------------------------------------------------------------------

  // Kills rs_ingester (-9), noting what the dead process left behind: the messages it held
  // (delivered again once their visibility timeout is over) and the batches it had claimed
  // (orphans, resolved through the ledger once their lease is over).
  void kill_now() {
    if (!m_ingester->running()) {
      ADD_FAILURE() << "rs_ingester exited by itself with status "
                    << m_ingester->wait(0ms).value_or(-1) << "\n"
                    << tail(m_ingester->log_text());
    }
    m_ingester->kill_hard();
    EXPECT_EQ(m_ingester->wait(10s), 128 + SIGKILL) << "rs_ingester survived kill -9";
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
      force_load_waiting_tables();
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

  // Convergence: the test as the operator -----------------------------------------------------

  struct OperatorState {
    std::chrono::steady_clock::time_point last_look{};
    bool skipped = false;
    std::string skip_response;
    std::size_t reannounced = 0;
    int retry_count_seen = -1; // Of the failing batch, when the process was last restarted.
    int time_restarts = 0;     // Restarts that only let time pass.
    std::string unexpected;    // Set when something happened that no operator step can fix.
    std::string last_status;   // GET /control/status, for the log of a test that fails.
  };

  void force_load_waiting_tables() {
    const auto waiting =
        query(ingester_db(), "SELECT DISTINCT tablename FROM tsv WHERE manifest_uuid IS NULL");
    if (!waiting) {
      return;
    }
    httplib::Client control("127.0.0.1", m_port);
    control.set_connection_timeout(1);
    for (const auto& row : *waiting) {
      control.Post("/control/force_load",
                   json{{"Table", *row[0]}, {"Requester", "embedded-pipeline-e2e"}}.dump(),
                   "application/json");
    }
  }

  // docs/runbook.md, "A stale batch": skip it, then announce its good files again. A batch
  // waiting for its retry waits a minute: the process starts again, a minute later.
  void handle_failed_batches(OperatorState& state) {
    httplib::Client control("127.0.0.1", m_port);
    control.set_connection_timeout(1);
    const auto status = control.Get("/control/status");
    state.last_status = status ? fmt::format("{} {}", status->status, status->body.substr(0, 2000))
                               : "no answer: " + httplib::to_string(status.error());
    if (!status || status->status != 200) {
      return;
    }
    const json body = json::parse(status->body, nullptr, false);
    if (!body.is_object() || !body.contains("Tables")) {
      return;
    }
    m_max_load_retry = body.value("MaxLoadRetry", -1);
    for (const auto& table : body["Tables"]) {
      for (const auto& batch : table["Retrying"]) {
        const int retry_count = batch.value("RetryCount", 0);
        if (retry_count > state.retry_count_seen) {
          state.retry_count_seen = retry_count;
          ++state.time_restarts;
          if (!restart_gracefully()) {
            state.unexpected = "rs_ingester did not stop gracefully";
          }
          return;
        }
      }
      for (const auto& batch : table["Stale"]) {
        skip_and_reannounce(state, batch, control);
        if (!state.unexpected.empty()) {
          return;
        }
      }
    }
  }

  void skip_and_reannounce(OperatorState& state, const json& batch, httplib::Client& control) {
    const std::string manifest = batch.value("Manifest", "");
    if (state.skipped) {
      state.unexpected = "a second batch went stale: " + batch.dump();
      return;
    }
    const auto skipped = control.Post("/control/skip/" + manifest,
                                      json{{"Requester", k_operator}}.dump(), "application/json");
    if (!skipped || skipped->status != 200) {
      state.unexpected = "skip " + manifest + " failed: " + (skipped ? skipped->body : "no answer");
      return;
    }
    // The runbook's query for the messages, in its SQLite form (keynames is a JSON array).
    const auto lines = query(ingester_db(),
                             "SELECT json_object('KeyName', value, 'TableName', tablename, "
                             "'TableVersion', tableversion), value = ?2 "
                             "FROM skipped_batch, json_each(keynames) WHERE manifest_uuid = ?1",
                             {manifest, m_scenario.corrupt_key_name});
    if (!lines) {
      state.unexpected = "cannot read skipped_batch";
      return;
    }
    bool has_corrupt = false;
    for (const auto& row : *lines) {
      if (row[1] == "1") {
        has_corrupt = true;
        continue;
      }
      if (auto published = queue::publish_local_message(inbox(), row[0].value_or("")); !published) {
        state.unexpected = "re-announce: " + published.error().message;
        return;
      }
      ++state.reannounced;
    }
    if (!has_corrupt) {
      state.unexpected = "a batch without the corrupt file went stale: " + batch.dump();
      return;
    }
    state.skipped = true;
    state.skip_response = skipped->body;
  }

  std::map<std::string, std::int64_t> expected_row_counts() const {
    std::map<std::string, std::int64_t> counts;
    for (const PlannedFile& file : m_scenario.files) {
      counts[m_scenario.tables[file.table].name] += static_cast<std::int64_t>(file.rows.size());
    }
    return counts;
  }

  std::set<std::string> rejected_bodies() const {
    std::set<std::string> bodies;
    for (const auto& row : query(ingester_db(), "SELECT CAST(body AS TEXT) FROM rejected_message")
                               .value_or(Table{})) {
      bodies.insert(row[0].value_or(""));
    }
    return bodies;
  }

  std::int64_t warehouse_rows(const std::string& table) const {
    return scalar(warehouse_db(),
                  "SELECT count(*) FROM " + sqlite::Database::quote_identifier(table));
  }

  std::size_t messages_left() const {
    return visible_files(inbox()) + visible_files(inbox() / "inflight");
  }

  // What is still missing, for the log of a test that did not converge.
  std::string progress() const {
    std::string text =
        fmt::format("tsv {}, manifest {}, inbox {}, rejected {} of {} bodies;",
                    scalar(ingester_db(), "SELECT count(*) FROM tsv"),
                    scalar(ingester_db(), "SELECT count(*) FROM manifest"), messages_left(),
                    rejected_bodies().size(), m_scenario.bad_messages.size());
    for (const auto& [table, count] : expected_row_counts()) {
      text += fmt::format(" {} {}/{}", table, warehouse_rows(table), count);
    }
    const auto batches = query(ingester_db(), "SELECT uuid, tablename, retry_count, retry_ts, "
                                              "lease_until, released, last_error FROM manifest");
    for (const auto& batch : batches.value_or(Table{})) {
      text += "\nbatch";
      for (const auto& value : batch) {
        text += " " + shown(value);
      }
    }
    return text;
  }

  bool drained() const {
    if (scalar(ingester_db(), "SELECT count(*) FROM tsv") != 0 ||
        scalar(ingester_db(), "SELECT count(*) FROM manifest") != 0 || messages_left() != 0) {
      return false;
    }
    for (const auto& [table, count] : expected_row_counts()) {
      if (warehouse_rows(table) != count) {
        return false;
      }
    }
    const auto rejected = rejected_bodies();
    return std::all_of(m_scenario.bad_messages.begin(), m_scenario.bad_messages.end(),
                       [&](const BadMessage& bad) { return rejected.contains(bad.body); });
  }

  // One look, twice a second: force loads for waiting tables, failed batches, the end state.
  bool operator_step(OperatorState& state) {
    const auto now = std::chrono::steady_clock::now();
    if (now - state.last_look < 500ms) {
      return false;
    }
    state.last_look = now;
    if (!m_ingester->running()) {
      state.unexpected = "rs_ingester exited by itself";
      return true;
    }
    force_load_waiting_tables();
    handle_failed_batches(state);
    return !state.unexpected.empty() || (state.skipped && drained());
  }

  bool healthy() {
    httplib::Client client("127.0.0.1", m_port);
    client.set_connection_timeout(1);
    client.set_read_timeout(5);
    const auto response = client.Get("/health");
    return response && response->status == 200;
  }

  // SIGTERM once the process is past start-up (a signal during start-up is no graceful stop);
  // it must exit 0.
  void stop_gracefully() {
    ASSERT_TRUE(test::eventually(60s, [&] { return healthy() || !m_ingester->running(); }))
        << logs();
    m_ingester->signal(SIGTERM);
    const auto status = m_ingester->wait(30s);
    ASSERT_TRUE(status.has_value()) << "rs_ingester did not stop\n" << logs();
    EXPECT_EQ(*status, 0) << logs();
  }

  bool restart_gracefully() {
    stop_gracefully();
    if (HasFailure() || m_ingester->running()) {
      return false;
    }
    start_ingester();
    return true;
  }

  // End state ---------------------------------------------------------------------------------

  void expect_table_contents(const TableDef& table) {
    std::vector<std::string> names;
    for (const auto& column : table.columns) {
      names.push_back(column.name);
    }
    if (table.v1_column) {
      names.push_back(table.v1_column->name);
    }
    const auto actual_names =
        query(warehouse_db(), "SELECT name FROM pragma_table_info(?) ORDER BY cid", {table.name});
    ASSERT_TRUE(actual_names) << table.name;
    std::vector<std::string> flat_names;
    for (const auto& row : *actual_names) {
      flat_names.push_back(row[0].value_or(""));
    }
    ASSERT_EQ(flat_names, names) << "columns of " << table.name;

    // Each value with the storage class SQLite holds it in (test::spade's SQLite rendering).
    std::vector<std::string> selected;
    for (const auto& name : names) {
      const std::string column = sqlite::Database::quote_identifier(name);
      selected.push_back(fmt::format("typeof({0}) || ':' || CAST({0} AS TEXT)", column));
    }
    const auto actual = query(
        warehouse_db(), fmt::format("SELECT {} FROM {} ORDER BY \"id\"", fmt::join(selected, ", "),
                                    sqlite::Database::quote_identifier(table.name)));
    ASSERT_TRUE(actual) << table.name;
    std::vector<ExpectedRow> expected;
    for (const PlannedFile& file : m_scenario.files) {
      if (m_scenario.tables[file.table].name == table.name) {
        expected.insert(expected.end(), file.rows.begin(), file.rows.end());
      }
    }
    std::sort(expected.begin(), expected.end(),
              [](const auto& left, const auto& right) { return row_id(left) < row_id(right); });
    EXPECT_EQ(actual->size(), expected.size()) << "rows of " << table.name;
    int differences = 0;
    for (std::size_t row = 0; row < std::min(actual->size(), expected.size()) && differences < 10;
         ++row) {
      for (std::size_t column = 0; column < names.size(); ++column) {
        if ((*actual)[row][column] != expected[row][column]) {
          ADD_FAILURE() << table.name << " row id " << shown(expected[row][0]) << " column \""
                        << names[column] << "\": expected " << shown(expected[row][column])
                        << ", the warehouse has " << shown((*actual)[row][column])
                        << " (row id there " << shown((*actual)[row][0]) << ")";
          ++differences;
        }
      }
    }
  }

  void expect_end_state(const OperatorState& state) {
    for (const TableDef& table : m_scenario.tables) {
      expect_table_contents(table);
    }

    // Every good file loaded exactly once: the ledger and the loaded-key history agree.
    std::set<std::string> good_keys;
    std::int64_t rows = 0;
    for (const PlannedFile& file : m_scenario.files) {
      if (!file.corrupt) {
        good_keys.insert(file.key_name);
        rows += static_cast<std::int64_t>(file.rows.size());
      }
    }
    EXPECT_EQ(scalar(warehouse_db(), R"(SELECT sum(file_count) FROM "infra.load_manifest")"),
              static_cast<std::int64_t>(good_keys.size()));
    EXPECT_EQ(scalar(warehouse_db(), R"(SELECT sum(row_count) FROM "infra.load_manifest")"), rows);
    std::set<std::string> loaded_keys;
    for (const auto& row :
         query(ingester_db(), "SELECT keyname FROM loaded_key").value_or(Table{})) {
      loaded_keys.insert(row[0].value_or(""));
    }
    EXPECT_EQ(loaded_keys, good_keys);

    // Drained, and the migration happened.
    EXPECT_EQ(scalar(ingester_db(), "SELECT count(*) FROM tsv"), 0);
    EXPECT_EQ(scalar(ingester_db(), "SELECT count(*) FROM manifest"), 0);
    EXPECT_EQ(messages_left(), 0U);
    for (const TableDef& table : m_scenario.tables) {
      EXPECT_EQ(scalar(warehouse_db(),
                       R"(SELECT max(version) FROM "infra.table_version" WHERE name = ?)",
                       {table.name}),
                table.v1_column ? 1 : 0)
          << table.name;
    }

    // Every bad message on record with its reason, and nothing else rejected.
    const auto rejected =
        query(ingester_db(), "SELECT CAST(body AS TEXT), reason FROM rejected_message ORDER BY id");
    ASSERT_TRUE(rejected);
    for (const BadMessage& bad : m_scenario.bad_messages) {
      int found = 0;
      for (const auto& row : *rejected) {
        if (row[0] == bad.body) {
          ++found;
          EXPECT_NE(row[1].value_or("").find(bad.reason_contains), std::string::npos)
              << "reason " << shown(row[1]) << " for " << shown(bad.body);
        }
      }
      EXPECT_GE(found, 1) << "not rejected: " << shown(bad.body);
    }
    for (const auto& row : *rejected) {
      EXPECT_TRUE(std::any_of(m_scenario.bad_messages.begin(), m_scenario.bad_messages.end(),
                              [&](const BadMessage& bad) { return row[0] == bad.body; }))
          << "rejected, but good: " << shown(row[0]) << " because " << shown(row[1]);
    }

    // The corrupt file's batch, skipped by the operator, on record.
    const auto skipped = query(ingester_db(),
                               "SELECT tablename, tableversion, retry_count, last_error, "
                               "skipped_by, EXISTS (SELECT 1 FROM json_each(keynames) "
                               "WHERE value = ?) FROM skipped_batch",
                               {m_scenario.corrupt_key_name});
    ASSERT_TRUE(skipped);
    ASSERT_EQ(skipped->size(), 1U);
    const auto& batch = skipped->front();
    EXPECT_EQ(batch[0], m_scenario.tables[k_corrupt_table].name);
    EXPECT_EQ(batch[1], "0");
    EXPECT_EQ(batch[2], std::to_string(m_max_load_retry));
    EXPECT_EQ(m_max_load_retry, 5); // The embedded default's.
    EXPECT_NE(batch[3].value_or("").find(m_scenario.corrupt_key_name), std::string::npos)
        << shown(batch[3]);
    EXPECT_NE(batch[3].value_or("").find("gzip"), std::string::npos) << shown(batch[3]);
    EXPECT_EQ(batch[4], k_operator);
    EXPECT_EQ(batch[5], "1");
    EXPECT_EQ(json::parse(state.skip_response).value("SkippedBy", ""), k_operator)
        << state.skip_response;
  }

  // docs/runbook.md, "A stale batch": each failure of the batch is logged at error level, and
  // `"stale":true` marks the one after which nothing retries it (its retries spent).
  void expect_failures_logged(const std::string& manifest) {
    int failures = 0;
    int stale = 0;
    for (int start = 0; start < m_starts; ++start) {
      std::ifstream log(log_path(start));
      for (std::string line; std::getline(log, line);) {
        const json entry = json::parse(line, nullptr, false); // A kill may cut the last line.
        if (!entry.is_object() || entry.value("msg", "") != "batch load failed" ||
            entry.value("manifest", "") != manifest) {
          continue;
        }
        ++failures;
        const bool marked_stale = entry.value("stale", false);
        stale += marked_stale ? 1 : 0;
        EXPECT_EQ(marked_stale, entry.value("retry_count", -1) >= m_max_load_retry)
            << "in " << log_path(start).filename().string() << ": " << line;
      }
    }
    EXPECT_GE(failures, m_max_load_retry + 1) << "the first attempt and every retry fail";
    EXPECT_GE(stale, 1);
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
  int m_max_load_retry = -1;
  std::size_t m_stranded_messages = 0;
  std::int64_t m_orphaned_batches = 0;
  int m_lock_faults = 0;
  int m_lock_faults_with_batch = 0;
  int m_lock_faults_with_message = 0;
  std::atomic<bool> m_produced{false};
  std::mutex m_errors_mutex;
  std::vector<std::string> m_errors;
  std::jthread m_producer_thread;
};

TEST_F(EmbeddedPipelineE2E, LoadsExactlyTheExpectedRowsThroughKillsAndBadInput) {
  const auto started = std::chrono::steady_clock::now();
  start_ingester();
  m_producer_thread = std::jthread([this](std::stop_token stop) { produce(stop); });

  run_faults();
  m_producer_thread.join();
  const auto faults_done = std::chrono::steady_clock::now();
  OperatorState state;
  const bool settled = test::eventually(90s, [&] { return operator_step(state); });
  const auto settled_at = std::chrono::steady_clock::now();

  for (const auto& error : m_errors) { // The producer's.
    ADD_FAILURE() << error;
  }
  ASSERT_TRUE(settled && state.unexpected.empty())
      << (state.unexpected.empty() ? "did not converge" : state.unexpected) << " after "
      << std::chrono::duration_cast<std::chrono::seconds>(faults_done - started).count()
      << " s of faults\n"
      << progress() << "\nlast status: " << state.last_status << "\n"
      << logs();
  stop_gracefully();
  expect_end_state(state);
  expect_failures_logged(json::parse(state.skip_response).value("Manifest", ""));
  expect_status_output();
  // Kills hit work in progress: messages held (delivered again: the inbox is empty) and
  // batches claimed (resolved: the manifest table is empty).
  EXPECT_GT(m_stranded_messages, 0U) << "no kill found a message in flight";
  EXPECT_GT(m_orphaned_batches, 0) << "no kill found a batch in flight";
  const auto seconds = [](auto from, auto to) {
    return std::chrono::duration_cast<std::chrono::duration<double>>(to - from).count();
  };
  RecordProperty("kills", m_kills);
  std::cout << fmt::format(
      "embedded pipeline: {} kills ({} behind locks, which held {} loads and {} messages), {} "
      "starts ({} to let a retry come due), {} messages and {} batches in flight at a kill, {} "
      "duplicate messages, {} files announced again after the skip; faults {:.1f} s, "
      "convergence {:.1f} s, total {:.1f} s\n",
      m_kills, m_lock_faults, m_lock_faults_with_batch, m_lock_faults_with_message, m_starts,
      state.time_restarts, m_stranded_messages, m_orphaned_batches, m_scenario.duplicates,
      state.reannounced, seconds(started, faults_done), seconds(faults_done, settled_at),
      seconds(started, std::chrono::steady_clock::now()));
}

} // namespace
} // namespace rsi
