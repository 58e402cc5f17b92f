#pragma once

// `rs_ingester rejected list` and `rs_ingester rejected replay`: the rejected messages of an
// ingester database (the embedded default's data directory, or the daemons' database), listed
// and replayed as GET /control/rejected and POST /control/rejected/replay do
// (docs/configuration.md).

#include <cstddef>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ingestdb/ingest_db.hpp"

namespace rsi::app {

// The `rejected` command: its subcommands and flags on `app`, and what it runs once parsed.
class RejectedCommand {
public:
  explicit RejectedCommand(CLI::App& app);

  // Whether the command line named `rejected list` or `rejected replay`.
  [[nodiscard]] bool chosen() const;
  // Runs it; the exit status: 0, k_exit_left_behind (a replay left messages rejected or
  // unchecked), k_exit_config_error or k_exit_startup_error.
  [[nodiscard]] int run();

  struct Options {
    std::string data_dir;
    std::string database_url;
    std::string reason;
    std::string table;
    std::size_t limit = 100;
    std::string ids;
    bool all = false;
    std::string requester;
    std::string event_metadata_url;
    std::string registry_url;
    std::vector<std::string> routes;
  };

private:
  int list(ingestdb::IngestDb& store);
  int replay(ingestdb::IngestDb& store);

  Options m_options;
  CLI::App* m_list = nullptr;
  CLI::App* m_replay = nullptr;
};

} // namespace rsi::app
