#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "app/backfill.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "http/aws_settings.hpp"

namespace rsi::app {

// `rs_ingester backfill`'s flags as given (docs/configuration.md, "rs_ingester backfill").
struct BackfillFlags {
  std::string source;             // s3://bucket/prefix, file:///path or a path.
  std::string data_dir;           // --data-dir: the embedded default's ingester database.
  std::string database_url;       // --database-url: the daemons' ingester database.
  std::string event_metadata_url; // --event-metadata-url (daemons' database)
  std::string registry_url;       // --registry-url (daemons' database)
  std::string objects_url;        // --objects-url file:///ROOT: a local SOURCE's objects root.
  std::vector<std::string> routes;
  std::string since;
  std::string until;
  bool dry_run = false;
  std::size_t page_size = BackfillOptions{}.page_size;
  int loaded_key_history_hours = 24 * 7;
  http::AwsConfig aws;
};

// Adds the `backfill` subcommand and its flags to `app`.
CLI::App* add_backfill_command(CLI::App& app, BackfillFlags& flags);

// Runs a parsed `backfill`: its exit status (docs/configuration.md): 0 when every listed object
// was recorded, already recorded, outside the time window or of a table the warehouse does not
// load; 3 (k_exit_left_behind) when the listing ended but unrouted keys or unknown tables were
// left; 5 (k_exit_interrupted) when a stop came first; 1 on an error; 2 on bad options. The
// summary goes to stdout, a progress line too on a terminal.
int run_backfill_command(const BackfillFlags& flags, std::stop_token stop);

// --since/--until: "2024-05-01" (midnight UTC), "2024-05-01T12:00:00Z" or with an offset
// ("2024-05-01T14:00:00+02:00"); fractions of a second are ignored. Fails permanent otherwise.
[[nodiscard]] Result<TimePoint> parse_backfill_time(std::string_view text);

// The key prefix a local SOURCE names in a store rooted at `objects_root` (one folder per
// bucket): the path below the root, with a '/' added when it is a folder ("" for the root
// itself). Fails permanent when `source` is not inside `objects_root`.
[[nodiscard]] Result<std::string> local_source_prefix(const std::filesystem::path& objects_root,
                                                      const std::filesystem::path& source);

// The summary printed at the end (several lines, each ending in '\n').
[[nodiscard]] std::string format_backfill_summary(const BackfillSummary& summary,
                                                  const std::string& source, bool dry_run);

} // namespace rsi::app
