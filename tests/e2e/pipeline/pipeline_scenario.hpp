// The scenario both pipeline end-to-end tests run, and what they do and check in it, written
// once: pipeline_e2e_test.cpp runs it on the production deployment (metadatastorer and
// rsloadmanager against PostgreSQL, s3rver and fauxqs), embedded_pipeline_e2e_test.cpp on
// `rs_ingester run`. Here: the tables and the files planned for them, with the rows an
// independent oracle expects (tests/support/spade_generator.hpp, never src/tsv); the malformed
// messages and hostile table names, with the reason each rejection must give; the plan of
// announcements; the operator's steps from docs/runbook.md (force loads, skip the stale batch,
// announce its good files again); and the end-state checks. Each test implements `Deployment`
// on its own databases, queue and control API, and keeps its faults and its start-up.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
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

// The table that migrates while files flow, and the one that gets the corrupt file.
constexpr std::size_t k_migrating_table = 0;
constexpr std::size_t k_corrupt_table = 4;

// Which of the oracle's renderings the warehouse is compared with.
enum class Rendering {
  postgres, // Every value as PostgreSQL's text form.
  sqlite,   // "<storage class>:<value>", as the SQLite warehouse holds it.
};

struct PlannedFile {
  std::size_t table = 0;
  int index = 0; // Within its table.
  int version = 0;
  std::string key;                      // In the bucket: "<key_prefix><table>/v<N>/<NNN>.gz".
  std::string key_name;                 // "<bucket>/<key>", as announced.
  std::string object;                   // The bytes in the object store.
  std::vector<spade::ExpectedRow> rows; // In the scenario's rendering.
  bool corrupt = false;
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
  std::string skipped_by;               // The operator's requester on the skip.
  // How the announcement of a good file joins its list: where a test adds delays and
  // duplicates. Unset: appended.
  std::function<void(std::vector<Announcement>& list, Announcement, std::mt19937& rng)> add;
  // What a test does to each list of announcements once it is shuffled.
  std::function<void(std::vector<Announcement>& list, std::mt19937& rng)> shuffled;
};

struct Scenario {
  Rendering rendering = Rendering::postgres;
  std::string requester;
  std::string skipped_by;
  std::vector<TableDef> tables;
  std::vector<PlannedFile> files;
  std::vector<Announcement> before_migration; // Up to the migrating table's last version 0 file.
  std::vector<Announcement> after_migration;
  std::vector<BadMessage> bad_messages;
  std::string corrupt_key_name;
};

// The files of every table (mostly a few rows, now and then none, one of pipe_texts about
// 1.5 MB uncompressed) with their expected rows; the corrupt file (a gzip cut off two thirds
// in, no rows); the bad messages. The announcements: the migrating table's version 0 files and
// 60% of every other table's before the migration, the rest after, one time in ten wrapped in
// an SNS notification, each through `options.add`; the bad messages alternately; each list
// shuffled (then given to `options.shuffled`). The corrupt file is announced early (so that
// nothing of it is still in flight when its batch is skipped) and exactly once. Everything
// random comes from `options.seed`.
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

// When a run's phases ended: the faults (while the producer announces), then convergence.
struct Timeline {
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point faults_done{};
  std::chrono::steady_clock::time_point settled_at{};

  // "faults 1.0 s, convergence 2.0 s, total 3.0 s".
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

// The rows of the skipped batch that holds a given key.
struct SkippedBatch {
  std::optional<std::string> table;
  std::optional<std::string> version;
  std::optional<std::string> retry_count;
  std::optional<std::string> last_error;
  std::optional<std::string> skipped_by;
  bool holds_key = false;
};

// What the runbook's query gives for a skipped batch.
struct SkippedFiles {
  bool has_corrupt = false;               // The corrupt file is one of the batch's.
  std::vector<std::string> announcements; // One message per other file, to announce again.
};

// One deployment of the pipeline, as the shared steps and checks see it. Reads give nullopt
// (-1 for a count) when the state cannot be read now: a database restarting, or not there yet.
class Deployment {
public:
  virtual ~Deployment() = default;

  // Rows in the ingester table `table` ("tsv" or "manifest").
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
  // The batch `manifest` after the skip, through the runbook's query; `corrupt_key` names the
  // file not to announce again.
  virtual std::optional<SkippedFiles> skipped_files(const std::string& manifest,
                                                    const std::string& corrupt_key) = 0;
  // Every skipped batch: tablename, tableversion, retry_count, last_error, skipped_by, and
  // whether keynames holds `key` (see skipped_batches_from).
  virtual std::optional<std::vector<SkippedBatch>> skipped_batches(const std::string& key) = 0;

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
  [[nodiscard]] virtual Result<void> announce_again(std::span<const std::string> bodies) = 0;
  // The port of the current control API.
  virtual int control_port() = 0;
};

// `rows` of the six columns Deployment::skipped_batches names; `sql_true` is how the database
// writes true ("t", "1").
std::optional<std::vector<SkippedBatch>> skipped_batches_from(const std::optional<Table>& rows,
                                                              std::string_view sql_true);

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

// Convergence: the test as the operator -----------------------------------------------------

struct OperatorState {
  std::chrono::steady_clock::time_point last_look{};
  bool skipped = false;
  std::string skip_response;
  std::size_t reannounced = 0;
  std::string unexpected;  // Set when something happened that no operator step can fix.
  std::string last_status; // GET /control/status, for the log of a test that fails.
};

// Runs `run_faults` while the producer announces (on `producer_thread`), waits for the
// producer, then runs `operator_step` (true: done) until it is done or `timeout` passes;
// whether it was done in time. Notes the phases' ends in `timeline`.
bool converge(Timeline& timeline, std::jthread& producer_thread,
              const std::function<void()>& run_faults, const std::function<bool()>& operator_step,
              std::chrono::seconds timeout);

// Why a run did not converge, for the failure: what was unexpected, after how many seconds of
// faults, what is missing (`progress`), the status last seen, and `logs`.
std::string not_converged(const Timeline& timeline, const OperatorState& state,
                          const std::string& progress, const std::string& logs);

// Whether it is time for the next look: twice a second.
bool time_to_look(OperatorState& state);

// Forces a load of every table with files waiting.
void force_load_waiting_tables(const Scenario& scenario, Deployment& deployment);

// GET /control/status (noted in `state.last_status`): its body when it lists the tables.
std::optional<nlohmann::json> control_status(Deployment& deployment, OperatorState& state);

// docs/runbook.md, "A stale batch": skips each stale batch of `table` (an entry of the status'
// "Tables"), then announces its good files again. Only the corrupt file's batch may go stale,
// once; anything else sets `state.unexpected`.
void skip_stale_batches(const Scenario& scenario, Deployment& deployment, OperatorState& state,
                        const nlohmann::json& table);

// Nothing waiting or in flight, every table at its expected row count, every bad message
// rejected.
bool drained(const Scenario& scenario, Deployment& deployment);

// What is still missing, for the log of a test that did not converge; `queue` names the queue.
std::string progress(const Scenario& scenario, Deployment& deployment, std::string_view queue);

// End state ---------------------------------------------------------------------------------

// Every table holds exactly the expected rows (and columns); every good file is loaded exactly
// once; the ingester tables are drained and the migration happened; every bad message is on
// record with its reason, and nothing else rejected; the corrupt file's batch is on record as
// skipped by the operator after `max_load_retry` retries.
void expect_end_state(const Scenario& scenario, Deployment& deployment, const OperatorState& state,
                      int max_load_retry);

} // namespace rsi::test::pipeline
