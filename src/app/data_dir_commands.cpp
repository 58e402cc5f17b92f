// rs_ingester's commands that work on a data directory beside a running `run` (status, wait,
// load), and what `run` shares with them: the snapshot's sources, the progress line, the idle
// rule and the report of what was left behind.
#include "app/data_dir_commands.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "app/startup.hpp"
#include "common/sleep.hpp"
#include "core/file_pointer.hpp"
#include "core/table_name.hpp"
#include "ingestdb/factory.hpp"
#include "loader/loader.hpp"
#include "objectstore/local_object_store.hpp"
#include "queue/local_queue.hpp"
#include "warehouse/sqlite_warehouse.hpp"

namespace rsi::app {
namespace {

using namespace std::chrono_literals;

// The embedded default's retry limit: rsloadmanager's default.
const int k_max_load_retry = loader::LoaderConfig{}.max_load_retry;
// How often `wait` looks.
constexpr auto k_idle_check_period = 250ms;

// The --until-idle rule as `wait` applies it: idle once snapshots show no work that goes on by
// itself for k_idle_settle, looked at every k_idle_check_period.
class IdleWatch {
public:
  bool settled(const Result<status::Snapshot>& snapshot) {
    const auto now = std::chrono::steady_clock::now();
    if (!shows_idle(snapshot)) {
      m_idle = false;
      return false;
    }
    if (!m_idle) {
      m_idle = true;
      m_idle_since = now;
    }
    return now - m_idle_since >= k_idle_settle;
  }

private:
  bool m_idle = false;
  std::chrono::steady_clock::time_point m_idle_since;
};

// The embedded default's ingester database and warehouse, opened beside a running `run`.
struct OpenedDataDir {
  std::unique_ptr<ingestdb::IngestDb> store;
  std::unique_ptr<warehouse::Warehouse> warehouse;
};

std::optional<OpenedDataDir> open_data_dir(const DataDir& dir) {
  std::error_code error;
  if (!std::filesystem::is_directory(dir.root, error)) {
    std::fprintf(
        stderr,
        "rs_ingester: %s is not a data directory (run `rs_ingester run --data-dir` first)\n",
        dir.root.c_str());
    return std::nullopt;
  }
  auto store =
      ingestdb::make_ingest_db(ingestdb::Config{ingestdb::SqliteConfig{.path = dir.ingester_db()}});
  auto objects = objectstore::make_local_object_store({.root = dir.objects()});
  if (!objects) {
    report_error("cannot open the data directory", objects.error());
    return std::nullopt;
  }
  auto warehouse = warehouse::make_sqlite_warehouse(
      {.path = dir.warehouse_db(), .files = warehouse::locate_in_bucket_folders(**objects)});
  if (!store || !warehouse) {
    report_error("cannot open the data directory", store ? warehouse.error() : store.error());
    return std::nullopt;
  }
  return OpenedDataDir{std::move(*store), std::move(*warehouse)};
}

Result<status::Snapshot> take_data_dir_snapshot(const DataDir& dir, OpenedDataDir& opened,
                                                const Clock& clock) {
  RSI_TRY_ASSIGN(auto versions, opened.warehouse->table_versions());
  return status::take_snapshot(snapshot_sources(dir, *opened.store, std::move(versions), clock),
                               clock.now());
}

std::string optional_text(const auto& value) { return value ? fmt::format("{}", *value) : "-"; }

} // namespace

void report_error(const std::string& what, const Error& error) {
  std::fprintf(stderr, "rs_ingester: %s: %s\n", what.c_str(), error.message.c_str());
}

status::Sources snapshot_sources(const DataDir& dir, ingestdb::IngestDb& store,
                                 ingestdb::VersionMap versions, const Clock& clock) {
  return {.store = &store,
          .versions = std::move(versions),
          .queue_depth = [inbox = dir.inbox(),
                          &clock] { return queue::local_inbox_depth(inbox, clock.now()); },
          .max_load_retry = k_max_load_retry};
}

std::string progress_line(const Result<status::Snapshot>& snapshot) {
  if (!snapshot) {
    return "(ingester database unavailable)";
  }
  std::int64_t waiting = 0;
  std::int64_t migrating = 0;
  std::size_t loading = 0;
  double lag = 0;
  for (const auto& table : snapshot->tables) {
    waiting += table.waiting_files;
    migrating += table.migration_files;
    loading += table.in_flight.size();
    if (table.oldest) {
      lag =
          std::max(lag, std::chrono::duration<double>(snapshot->taken_at - *table.oldest).count());
    }
  }
  return fmt::format("inbox {} | files waiting {} | loading {} batches | awaiting migration {} | "
                     "stale {} | quarantined {} | lag {:.0f}s",
                     snapshot->queue ? snapshot->queue->total() : 0, waiting, loading, migrating,
                     snapshot->stale_files(), snapshot->quarantined_files(), lag);
}

bool shows_idle(const Result<status::Snapshot>& snapshot) {
  return snapshot && !snapshot->busy() && !snapshot->queue_error;
}

int report_left_behind(const status::Snapshot& snapshot, std::int64_t rejected,
                       std::int64_t set_aside) {
  std::vector<std::string> lines;
  if (set_aside > 0) {
    lines.push_back(fmt::format(
        "{} inbox files set aside in inbox/rejected (not messages: links, oversize files; "
        "the .reason beside each says why)",
        set_aside));
  }
  for (const auto& table : snapshot.tables) {
    for (const auto& batch : table.stale) {
      lines.push_back(fmt::format("stale batch {} of {} v{} ({} files, {} attempts): {}",
                                  batch.manifest, batch.table, batch.version, batch.keys.size(),
                                  batch.retry_count + 1, batch.last_error.value_or("")));
    }
    if (table.outdated_files > 0) {
      lines.push_back(
          fmt::format("{} files of {} were written for a version older than the table's v{}",
                      table.outdated_files, table.table, table.current_version.value_or(0)));
    }
    for (const auto& file : table.quarantined) {
      lines.push_back(fmt::format("quarantined file {} (id {}, {}): {}", file.key, file.id,
                                  file.kind, file.error));
    }
    if (table.quarantined_files > static_cast<std::int64_t>(table.quarantined.size())) {
      lines.push_back(
          fmt::format("{} more quarantined files of {}",
                      table.quarantined_files - static_cast<std::int64_t>(table.quarantined.size()),
                      table.table));
    }
  }
  for (const auto& table : snapshot.tables) {
    if (table.awaiting_metadata > 0) {
      lines.push_back(fmt::format(
          "{} messages of table {} wait for its schema (schemas/{}/v<N>.json); they stay in "
          "the inbox for the next run",
          table.awaiting_metadata, table.table, table.table));
    }
  }
  if (rejected > 0) {
    lines.push_back(fmt::format(
        "{} messages rejected (the rejected_message table of ingester.db says why)", rejected));
  }
  if (lines.empty()) {
    return 0;
  }
  std::fprintf(stderr, "rs_ingester: idle, but not everything was loaded:\n");
  for (const auto& line : lines) {
    std::fprintf(stderr, "  %s\n", line.c_str());
  }
  return k_exit_left_behind;
}

int status_command(const DataDir& dir) {
  auto opened = open_data_dir(dir);
  if (!opened) {
    return k_exit_startup_error;
  }
  SystemClock clock;
  auto snapshot = take_data_dir_snapshot(dir, *opened, clock);
  if (!snapshot) {
    report_error("cannot read the data directory", snapshot.error());
    return k_exit_startup_error;
  }
  if (snapshot->queue) {
    std::printf("inbox: %lld messages waiting, %lld being recorded",
                static_cast<long long>(snapshot->queue->waiting),
                static_cast<long long>(snapshot->queue->in_flight));
    if (snapshot->queue->set_aside > 0) {
      std::printf(", %lld files set aside in %s (see the .reason beside each)",
                  static_cast<long long>(snapshot->queue->set_aside),
                  (dir.inbox() / "rejected").c_str());
    }
    std::printf("\n\n");
  } else {
    std::printf("inbox: cannot be read: %s\n\n", snapshot->queue_error.value_or("").c_str());
  }
  std::printf("%-32s %7s %7s %8s %8s %8s %6s %9s %11s %9s  %s\n", "table", "version", "target",
              "waiting", "loading", "migrate", "stale", "outdated", "quarantined", "oldest(s)",
              "last load");
  for (const auto& table : snapshot->tables) {
    const std::string oldest =
        table.oldest
            ? fmt::format("{:.0f}",
                          std::chrono::duration<double>(snapshot->taken_at - *table.oldest).count())
            : "-";
    std::printf("%-32s %7s %7s %8lld %8zu %8lld %6lld %9lld %11lld %9s  %s\n", table.table.c_str(),
                optional_text(table.current_version).c_str(),
                optional_text(table.migration_target()).c_str(),
                static_cast<long long>(table.waiting_files), table.in_flight.size(),
                static_cast<long long>(table.migration_files),
                static_cast<long long>(table.stale_files),
                static_cast<long long>(table.outdated_files),
                static_cast<long long>(table.quarantined_files), oldest.c_str(),
                table.last_load ? to_iso8601(*table.last_load).c_str() : "-");
  }
  for (const auto& table : snapshot->tables) {
    for (const auto& batch : table.stale) {
      std::printf("stale batch %s (%s, %zu files, %d retries): %s\n", batch.manifest.c_str(),
                  batch.table.c_str(), batch.keys.size(), batch.retry_count,
                  batch.last_error.value_or("").c_str());
    }
    for (const auto& file : table.quarantined) {
      std::printf("quarantined file %lld of %s v%d: %s (%s%s), %d attempt(s), since %s: %s\n",
                  static_cast<long long>(file.id), file.table.c_str(), file.version,
                  file.key.c_str(), file.kind.c_str(),
                  file.line > 0 ? fmt::format(" line {}", file.line).c_str() : "", file.attempts,
                  to_iso8601(file.first_seen).c_str(), file.error.c_str());
    }
    if (table.awaiting_metadata > 0) {
      std::printf("%lld messages of %s wait for its event metadata (since %s)\n",
                  static_cast<long long>(table.awaiting_metadata), table.table.c_str(),
                  to_iso8601(table.awaiting_since.value_or(snapshot->taken_at)).c_str());
    }
  }
  return 0;
}

int wait_command(const DataDir& dir, std::chrono::seconds timeout, std::stop_token stop) {
  auto opened = open_data_dir(dir);
  if (!opened) {
    return k_exit_startup_error;
  }
  SystemClock clock;
  const TimePoint started = clock.now();
  const std::int64_t set_aside_before =
      queue::local_inbox_depth(dir.inbox(), started).value_or(queue::QueueDepth{}).set_aside;
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  IdleWatch idle;
  while (true) {
    auto snapshot = take_data_dir_snapshot(dir, *opened, clock);
    if (idle.settled(snapshot)) {
      auto rejected = opened->store->count_rejected(started);
      return report_left_behind(*snapshot, rejected.value_or(0),
                                snapshot->queue ? snapshot->queue->set_aside - set_aside_before
                                                : 0);
    }
    if (std::chrono::steady_clock::now() >= give_up) {
      std::fprintf(stderr, "rs_ingester: still busy after %llds: %s\n",
                   static_cast<long long>(timeout.count()),
                   snapshot ? progress_line(snapshot).c_str() : snapshot.error().message.c_str());
      return k_exit_timeout;
    }
    if (!sleep_unless_stopped(stop, k_idle_check_period)) {
      return k_exit_timeout;
    }
  }
}

int load_command(const DataDir& dir, const std::filesystem::path& file, const std::string& table,
                 int version) {
  if (auto valid = core::validate_table_name(table); !valid) {
    report_error("--table", valid.error());
    return k_exit_config_error;
  }
  auto objects = objectstore::make_local_object_store({.root = dir.objects()});
  if (!objects) {
    report_error("cannot open the object store", objects.error());
    return k_exit_startup_error;
  }
  const std::string key = fmt::format("{}/{}/v{}/{}", DataDir::k_local_bucket, table, version,
                                      file.filename().string());
  if (auto stored = (*objects)->put_file(key, file); !stored) {
    report_error("cannot store " + file.string(), stored.error());
    return k_exit_startup_error;
  }
  const auto message =
      core::encode_file_pointer({.key_name = key, .table = table, .version = version});
  std::filesystem::create_directories(dir.inbox());
  if (auto published = queue::publish_local_message(dir.inbox(), message); !published) {
    report_error("cannot announce " + key, published.error());
    return k_exit_startup_error;
  }
  std::printf("stored %s as %s and announced it\n", file.c_str(), key.c_str());
  return 0;
}

} // namespace rsi::app
