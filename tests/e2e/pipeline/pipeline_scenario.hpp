// The scenario both pipeline end-to-end tests run, and what they do and check in it, written
// once: pipeline_e2e_test.cpp runs it on the production deployment (metadatastorer and
// rsloadmanager against PostgreSQL, s3rver and fauxqs), embedded_pipeline_e2e_test.cpp on
// `rs_ingester run`. Here: the tables and the files planned for them, with the rows an
// independent oracle expects (tests/support/spade_generator.hpp, never src/tsv); the bad files
// mixed into them, one of each kind of data fault, with what the quarantine must say of each;
// the malformed messages and hostile table names, with the reason each rejection must give; the
// plan of announcements; the checks once the faults are over (every good file loaded, every bad
// file quarantined, no operator action); the operator's steps from docs/runbook.md (list the
// quarantined files, fix one object and retry it, drop the others); and the end-state checks.
// Each test implements `Deployment` on its own databases, queue and control API, and keeps its
// faults and its start-up.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "support/process.hpp"
#include "support/spade_generator.hpp"

namespace rsi::test::pipeline {

// Rows of a query, every value as text; nullopt for NULL.
using Table = std::vector<std::vector<std::optional<std::string>>>;

// The first column of `rows`, NULL as "".
std::optional<std::vector<std::string>> first_column(const std::optional<Table>& rows);

struct TableDef {
  std::string name;
  std::vector<spade::ColumnSpec> columns;     // Version 0.
  std::optional<spade::ColumnSpec> v1_column; // What version 1 adds, if the table has one.
  int files = 0;
  int v1_files = 0; // The last `v1_files` files are written for version 1.
};

// The table that migrates while files flow (it gets no bad file).
constexpr std::size_t k_migrating_table = 0;

// Which of the oracle's renderings the warehouse is compared with.
enum class Rendering {
  postgres, // Every value as PostgreSQL's text form.
  sqlite,   // "<storage class>:<value>", as the SQLite warehouse holds it.
};

// A planned file whose data cannot load, and what the quarantine must say of it.
struct BadFile {
  std::string kind;        // warehouse::FileFaultKind's name: "corrupt_gzip", "bad_value", ...
  std::int64_t line = 0;   // The line of the fault (1-based), for kinds that have one; else 0.
  std::int32_t column = 0; // The column of the fault (1-based), for kinds that have one; else 0.
  bool stored = true;      // false: announced, but never in the object store.
  // The good object the operator stores under the same key before retrying it; empty for the
  // files the operator drops.
  std::string fixed_object;
};

struct PlannedFile {
  std::size_t table = 0;
  int index = 0; // Within its table.
  int version = 0;
  std::string key;      // In the bucket: "<key_prefix><table>/v<N>/<NNN>.gz".
  std::string key_name; // "<bucket>/<key>", as announced.
  std::string object;   // The bytes in the object store.
  // The rows the warehouse holds of it in the end (in the scenario's rendering): a bad file's
  // only once the operator fixed it.
  std::vector<spade::ExpectedRow> rows;
  std::optional<BadFile> bad;
  bool through_cli = false; // Stored and announced by `rs_ingester load`, not by the producer.
};

struct BadMessage {
  std::string body;
  std::string reason_contains;
};

// One step of a producer: announce `body`, or, for `cli_file`, have `rs_ingester load` store
// and announce that file. `delay_seconds` is the SQS DelaySeconds.
struct Announcement {
  std::string body;
  int delay_seconds = 0;
  std::optional<std::size_t> cli_file;
};

struct ScenarioOptions {
  std::uint32_t seed = 0;
  std::string bucket;
  std::string key_prefix; // Before "<table>/v<N>/<NNN>.gz".
  Rendering rendering = Rendering::postgres;
  std::uint32_t through_cli_one_in = 0; // One file in N goes through `rs_ingester load`; 0: none.
  std::string requester;                // Who the test is in control API requests.
  std::string operator_name;            // The operator's requester on retries and drops.
  // How the announcement of a good file joins its list: where a test adds delays and
  // duplicates. Unset: appended.
  std::function<void(std::vector<Announcement>& list, Announcement, std::mt19937& rng)> add;
  // What a test does to each list of announcements once it is shuffled.
  std::function<void(std::vector<Announcement>& list, std::mt19937& rng)> shuffled;
};

struct Scenario {
  Rendering rendering = Rendering::postgres;
  std::string requester;
  std::string operator_name;
  std::vector<TableDef> tables;
  std::vector<PlannedFile> files;
  std::vector<Announcement> before_migration; // Up to the migrating table's last version 0 file.
  std::vector<Announcement> after_migration;
  std::vector<BadMessage> bad_messages;
  std::size_t fixed_file = 0; // The bad file the operator fixes and retries (truncated_gzip).
};

// 200 files over 5 tables (mostly a few rows, now and then none, one of pipe_texts about 1.5 MB
// uncompressed) with their expected rows; seven of them bad, each with another fault (a CRC
// mismatch, a gzip cut off, "abc" in an int column, an object never stored, a key with an empty
// last segment that the storer takes and no object store serves, a line over 4 MB, a
// non-ASCII value in a CHAR column), in every table but the migrating one; the bad messages.
// The announcements: the migrating table's version 0 files and 60% of every other table's
// before the migration, the rest after, one time in ten wrapped in an SNS notification, each
// through `options.add`; the bad messages alternately; each list shuffled (then given to
// `options.shuffled`); the bad files exactly once each, in the first half of the list before
// the migration, so that later files of their tables follow them. Everything random comes from
// `options.seed`.
Scenario make_scenario(const ScenarioOptions& options);

std::string pointer_body(const std::string& key_name, const std::string& table, int version);

// Sends `announcements` in chunks of 1 to 10 through `send`, a few chunks a second, as a
// producer does.
template <class Send>
void send_paced(std::span<const Announcement> announcements, std::mt19937& rng,
                std::stop_token stop, Send send) {
  std::size_t sent = 0;
  while (sent < announcements.size() && !stop.stop_requested()) {
    const std::size_t count = std::min<std::size_t>(1 + rng() % 10, announcements.size() - sent);
    send(announcements.subspan(sent, count));
    sent += count;
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 400)); // Traffic shape.
  }
}

// A value for a failure message: quotes and backslashes escaped, other bytes outside
// printable ASCII as \xNN.
std::string shown(const std::optional<std::string>& value);

// The last 3000 bytes of a log.
std::string tail(const std::string& text);

// When a run's phases ended: the faults (while the producer announces), convergence without an
// operator, then the operator's repair.
struct Timeline {
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point faults_done{};
  std::chrono::steady_clock::time_point settled_at{};
  std::chrono::steady_clock::time_point repaired_at{};

  // "faults 1.0 s, convergence 2.0 s, repair 0.5 s, total 3.6 s".
  [[nodiscard]] std::string summary() const;
};

// Errors of the producer thread, reported on the test's thread.
class ProducerErrors {
public:
  void note(std::string error);
  void report(); // One ADD_FAILURE each.

private:
  std::mutex m_mutex;
  std::vector<std::string> m_errors;
};

// One deployment of the pipeline, as the shared steps and checks see it. Reads give nullopt
// (-1 for a count) when the state cannot be read now: a database restarting, or not there yet.
class Deployment {
public:
  virtual ~Deployment() = default;

  // Rows in the ingester table `table` ("tsv", "manifest", "skipped_batch").
  virtual std::int64_t ingester_rows(std::string_view table) = 0;
  // Tables with files recorded and in no batch yet.
  virtual std::optional<std::vector<std::string>> waiting_tables() = 0;
  // Files of `table` at `version` recorded or loaded already.
  virtual std::int64_t recorded_or_loaded(const std::string& table, int version) = 0;
  // The manifest table: uuid, tablename, retry_count, retry_ts, lease_until, released,
  // last_error.
  virtual std::optional<Table> batches() = 0;
  // Every rejected message: body, reason, in the order of rejection.
  virtual std::optional<Table> rejected_messages() = 0;
  virtual std::set<std::string> loaded_keys() = 0;
  // Every row of the quarantined_file table, ordered by id: id, keyname, tablename,
  // tableversion, kind, error, line, col, attempts, state, changed_by (k_quarantine_columns).
  virtual std::optional<Table> quarantined_rows() = 0;

  virtual std::int64_t warehouse_rows(const std::string& table) = 0;
  virtual std::optional<std::vector<std::string>> warehouse_columns(const std::string& table) = 0;
  // The values of `columns` of `table` in the scenario's rendering, ordered by "id".
  virtual std::optional<Table> warehouse_values(const std::string& table,
                                                const std::vector<std::string>& columns) = 0;
  // The sum of `column` (file_count or row_count) over the load ledger.
  virtual std::int64_t ledger_total(std::string_view column) = 0;
  // The latest version of `table` in the warehouse.
  virtual std::int64_t table_version(const std::string& table) = 0;

  // Messages waiting in the queue, in flight or delayed.
  virtual std::optional<long> messages_left() = 0;
  // Stores `object` as `file`'s object, replacing what is there: the operator's fix.
  [[nodiscard]] virtual Result<void> put_object(const PlannedFile& file,
                                                const std::string& object) = 0;
  // The port of the current control API.
  virtual int control_port() = 0;
};

// The columns Deployment::quarantined_rows selects, in order.
enum QuarantineColumn : std::size_t {
  q_id,
  q_key,
  q_table,
  q_version,
  q_kind,
  q_error,
  q_line,
  q_column,
  q_attempts,
  q_state,
  q_changed_by,
  k_quarantine_columns,
};

// Waits until `deployment` has recorded (or loaded) all version 0 files of the migrating table,
// so that none of them arrives after the migration (it would wait for an operator,
// docs/runbook.md); an error for the producer when that takes longer than `timeout`.
std::optional<std::string> wait_for_version_0_files(const Scenario& scenario,
                                                    Deployment& deployment, std::stop_token stop,
                                                    std::chrono::seconds timeout);

// Kills `process` (-9); a process found dead already crashed by itself, a failure.
void kill_hard(test::Process& process, const std::string& name);

// Stops `process` with SIGTERM once it is past start-up (`ready`: a signal during start-up is
// no graceful stop); it must exit 0.
void stop_gracefully(test::Process& process, const std::string& name,
                     const std::function<bool()>& ready);

// GET `path` on 127.0.0.1:`port`: the status, or 0 without an answer.
int http_status(int port, const std::string& path);

// Convergence: nobody acts ------------------------------------------------------------------

struct WatchState {
  std::chrono::steady_clock::time_point last_look{};
  std::string unexpected;  // Set when something happened that the pipeline must never need.
  std::string last_status; // GET /control/status, for the log of a test that fails.
};

// Runs `run_faults` while the producer announces (on `producer_thread`), waits for the
// producer, then runs `settle_step` (true: done) until it is done or `timeout` passes; whether
// it was done in time. Notes the phases' ends in `timeline`.
bool converge(Timeline& timeline, std::jthread& producer_thread,
              const std::function<void()>& run_faults, const std::function<bool()>& settle_step,
              std::chrono::seconds timeout);

// Why a run did not converge, for the failure: what was unexpected, after how many seconds of
// faults, what is missing (`progress`), the status last seen, and `logs`.
std::string not_converged(const Timeline& timeline, const WatchState& state,
                          const std::string& progress, const std::string& logs);

// Whether it is time for the next look: twice a second.
bool time_to_look(WatchState& state);

// Forces a load of every table with files waiting.
void force_load_waiting_tables(const Scenario& scenario, Deployment& deployment);

// GET /control/status (noted in `state.last_status`): its body when it lists the tables.
std::optional<nlohmann::json> control_status(Deployment& deployment, WatchState& state);

// A look at the status as the pipeline settles by itself: a batch that failed (retrying or
// stale) sets `state.unexpected`, since a bad file must cost only itself.
void watch_for_failed_batches(Deployment& deployment, WatchState& state);

// Settled without an operator: nothing waiting or in flight, every table at the rows of its
// good files, every bad file quarantined, every bad message rejected.
bool settled(const Scenario& scenario, Deployment& deployment);

// What is still missing, for the log of a test that did not converge; `queue` names the queue.
std::string progress(const Scenario& scenario, Deployment& deployment, std::string_view queue);

// Once settled: every table holds exactly the rows of its good files; every good file is loaded
// exactly once; the ingester tables are drained and the migration happened; every bad message
// is on record with its reason, and nothing else rejected; each bad file is quarantined exactly
// once (one row, one attempt) with its kind, line and column, and no batch was skipped.
void expect_settled_state(const Scenario& scenario, Deployment& deployment);

// Each bad file logged once at error level as quarantined ("file quarantined: …"), with its
// key and kind, in the logs of every start of the loading process (`logs`); no good file.
void expect_quarantine_logged(const Scenario& scenario,
                              const std::vector<std::filesystem::path>& logs);

// The operator: docs/runbook.md, "A quarantined file" ----------------------------------------

struct Repair {
  nlohmann::json listed;  // GET /control/status's "Quarantined" entries of every table.
  nlohmann::json retried; // POST /control/quarantine/retry's answer.
  nlohmann::json dropped; // POST /control/quarantine/drop's answer.
  std::string unexpected; // Set when a step failed.
};

// Lists the quarantined files through GET /control/status (checked against the bad files:
// their counts per table and every detail of each), stores the good object of the fixed file
// and retries it by its Id, drops the others by theirs; each answer checked, and that a
// dropped file cannot be retried (404).
Repair repair_quarantine(const Scenario& scenario, Deployment& deployment);

// The retried file loaded, nothing waiting or in flight.
bool repaired(const Scenario& scenario, Deployment& deployment);

// GET /control/status after the repair: no table has a quarantined file.
void expect_status_after_repair(const Scenario& scenario, Deployment& deployment);

// The control API's audit lines in `log` (the log of the process that served the requests):
// one per bad file, with the operator as requester and what was done to it.
void expect_audit_logged(const Scenario& scenario, const std::string& log);

// End state ---------------------------------------------------------------------------------

// Every table holds exactly the expected rows (and columns), the fixed file's included; every
// good file and the fixed one loaded exactly once; nothing waiting; the quarantine keeps each
// bad file once, the fixed one as retried and the others as dropped, by the operator; the
// status lists no quarantined file.
void expect_end_state(const Scenario& scenario, Deployment& deployment);

} // namespace rsi::test::pipeline
