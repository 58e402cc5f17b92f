#pragma once

// rs_ingester's commands on a data directory beside a running `run` (status, wait, load), and
// what `run` shares with them.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stop_token>
#include <string>

#include "app/embedded.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "ingestdb/ingest_db.hpp"
#include "status/status.hpp"

namespace rsi::app {

// How long "idle" must hold before --until-idle and `wait` count it (one inbox poll, the
// listeners' receive wait, lies between the first and the last look, so a message that arrives
// at the last moment is seen).
inline constexpr std::chrono::seconds k_idle_settle{1};

// "rs_ingester: <what>: <error>" on stderr.
void report_error(const std::string& what, const Error& error);

// Where a snapshot of `dir` reads from: `store`, the tables' `versions`, the inbox.
status::Sources snapshot_sources(const DataDir& dir, ingestdb::IngestDb& store,
                                 ingestdb::VersionMap versions, const Clock& clock);

// One line for a terminal.
std::string progress_line(const Result<status::Snapshot>& snapshot);

// A snapshot that shows no work that goes on by itself (status.hpp's Snapshot::busy).
bool shows_idle(const Result<status::Snapshot>& snapshot);

// After the work ran out: what was not loaded. 0 when nothing, else k_exit_left_behind with a
// summary on stderr.
int report_left_behind(const status::Snapshot& snapshot, std::int64_t rejected,
                       std::int64_t set_aside);

// `status`: the inbox, then per table its version, files waiting, batches and faults.
int status_command(const DataDir& dir);

// `wait`: until a running `run` has loaded everything announced (the --until-idle rule), or
// `timeout`; its exit status as report_left_behind's, or k_exit_timeout.
int wait_command(const DataDir& dir, std::chrono::seconds timeout, std::stop_token stop);

// `load`: copies `file` into the object store and announces it for `table` v`version`.
int load_command(const DataDir& dir, const std::filesystem::path& file, const std::string& table,
                 int version);

} // namespace rsi::app
