// `rs_ingester rejected list|replay` on the embedded default's data directory (--data-dir: its
// ingester.db, event metadata and schemas) or on the daemons' ingester database
// (--database-url, with --event-metadata-url for a replay, and --registry-url when a --route
// takes the registry's current version).
#include "app/rejected_command.hpp"

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "app/embedded.hpp"
#include "app/event_metadata_source.hpp"
#include "app/replay_setup.hpp"
#include "app/startup.hpp"
#include "config/cli.hpp"
#include "core/table_name.hpp"
#include "core/text.hpp"
#include "http/credentials.hpp"
#include "ingestdb/factory.hpp"
#include "registry/factory.hpp"

namespace rsi::app {
namespace {

// Messages one replay call takes; the command goes on until none is left.
constexpr std::size_t k_replay_chunk = 1'000;
// A listed body is cut to this many bytes.
constexpr std::size_t k_listed_body_bytes = 200;

// A mistake on the command line: said on stderr, exit status k_exit_config_error.
struct UsageError {
  std::string message;
};

int usage_error(const std::string& message) {
  std::fprintf(stderr, "rs_ingester rejected: %s\n", message.c_str());
  return k_exit_config_error;
}

int startup_error(const std::string& what, const Error& error) {
  std::fprintf(stderr, "rs_ingester rejected: %s: %s\n", what.c_str(), error.message.c_str());
  return k_exit_startup_error;
}

// --reason and --table as a selection, or what is wrong with them.
std::variant<ingestdb::RejectedSelection, UsageError>
filters(const RejectedCommand::Options& options) {
  ingestdb::RejectedSelection selection;
  if (!options.reason.empty()) {
    if (!storer::is_rejection_kind(options.reason)) {
      return UsageError{
          fmt::format("--reason must be one of {}", fmt::join(storer::k_rejection_kinds, ", "))};
    }
    selection.kind = options.reason;
  }
  if (!options.table.empty()) {
    if (auto valid = core::validate_table_name(options.table); !valid) {
      return UsageError{"--table: " + valid.error().message};
    }
    selection.table = options.table;
  }
  return selection;
}

// "1,2,3" as ids, or nullopt when it is not such a list.
std::optional<std::vector<std::int64_t>> parse_ids(const std::string& text) {
  std::vector<std::int64_t> ids;
  const char* at = text.data();
  const char* const end = text.data() + text.size();
  while (at < end) {
    std::int64_t id = 0;
    const auto [next, failed] = std::from_chars(at, end, id);
    if (failed != std::errc() || id < 0 || (next != end && *next != ',')) {
      return std::nullopt;
    }
    ids.push_back(id);
    at = next == end ? end : next + 1;
  }
  return ids;
}

std::string or_dash(const std::string& text) { return text.empty() ? "-" : text; }

std::string default_requester() {
  const auto env = http::process_environment();
  const auto user = env.find("USER");
  return user == env.end() || user->second.empty() ? "rs_ingester-cli"
                                                   : "rs_ingester-cli:" + user->second;
}

// The messages a replay names: --reason and --table, --ids, or --all (one of them is required).
std::variant<ingestdb::RejectedSelection, UsageError>
replay_selection(const RejectedCommand::Options& options) {
  auto filtered = filters(options);
  auto* selection = std::get_if<ingestdb::RejectedSelection>(&filtered);
  if (selection == nullptr) {
    return filtered;
  }
  if (!options.ids.empty()) {
    auto ids = parse_ids(options.ids);
    if (!ids || ids->size() > 10'000) {
      return UsageError{"--ids: a comma-separated list of at most 10000 message ids"};
    }
    selection->ids = std::move(*ids);
  }
  if (selection->ids.empty() && !selection->kind && !selection->table && !options.all) {
    return UsageError{"name the messages: --ids, --reason, --table, or --all"};
  }
  return filtered;
}

// Where a replay reads the tables' event metadata and, for routes without a version, the
// registry: the flags, or the data directory's own.
struct ReplaySources {
  registry::MetadataFetcher fetcher;
  std::unique_ptr<registry::SchemaRegistry> registry; // Null when no route needs it.
};

std::variant<ReplaySources, UsageError> replay_sources(const RejectedCommand::Options& options,
                                                       const std::vector<core::Route>& routes,
                                                       Clock& clock) {
  const DataDir dir{options.data_dir.empty() ? std::filesystem::path()
                                             : std::filesystem::absolute(options.data_dir)};
  const auto env = http::process_environment();
  ReplaySources sources;
  if (!options.event_metadata_url.empty()) {
    auto made = make_metadata_fetcher(options.event_metadata_url, {}, env,
                                      http::make_default_credentials_provider(env, clock));
    if (!made) {
      return UsageError{"--event-metadata-url: " + made.error().message};
    }
    sources.fetcher = std::move(*made);
  } else if (!options.data_dir.empty()) {
    sources.fetcher = embedded_metadata_fetcher(dir);
  } else {
    return UsageError{"a replay with --database-url needs --event-metadata-url (the daemons' "
                      "event metadata: s3://bucket/key or file:///path)"};
  }
  if (!options.registry_url.empty() || !options.data_dir.empty()) {
    auto config =
        options.registry_url.empty()
            ? Result<registry::Config>(registry::Config{registry::LocalConfig{dir.schemas()}})
            : registry::config_from_url(options.registry_url);
    auto made = config ? registry::make_schema_registry(*config) : std::unexpected(config.error());
    if (!made) {
      return UsageError{"--registry-url: " + made.error().message};
    }
    sources.registry = std::move(*made);
  } else if (storer::needs_current_version(routes)) {
    return UsageError{"a --route without a version needs --registry-url (where the tables' "
                      "current versions are)"};
  }
  return sources;
}

// One line per replayed message: its id, message id, table and what became of it.
void print_replayed(const storer::ReplayedMessage& message) {
  std::printf("%lld (message %s, table %s): %s", static_cast<long long>(message.id),
              message.message_id.c_str(), or_dash(message.table).c_str(),
              std::string(storer::to_string(message.outcome)).c_str());
  if (message.outcome == storer::ReplayOutcome::recorded) {
    std::printf(", %zu file(s)", message.files);
  } else if (message.outcome == storer::ReplayOutcome::rejected) {
    std::printf(" again (%s): %s", message.kind.c_str(), message.reason.c_str());
  } else if (message.outcome == storer::ReplayOutcome::unavailable) {
    std::printf(", unchanged: %s", message.reason.c_str());
  }
  std::printf("\n");
}

// The totals by outcome; the exit status: k_exit_left_behind when some are still rejected or
// could not be checked.
int print_replay_summary(std::map<storer::ReplayOutcome, std::size_t>& counts) {
  std::size_t total = 0;
  for (const auto& [outcome, count] : counts) {
    total += count;
  }
  if (total == 0) {
    std::printf("no rejected message matches\n");
    return 0;
  }
  const std::size_t left =
      counts[storer::ReplayOutcome::rejected] + counts[storer::ReplayOutcome::unavailable];
  std::printf("replayed %zu: %zu recorded, %zu duplicate, %zu skipped, %zu rejected again, %zu "
              "unavailable\n",
              total, counts[storer::ReplayOutcome::recorded],
              counts[storer::ReplayOutcome::duplicate], counts[storer::ReplayOutcome::skipped],
              counts[storer::ReplayOutcome::rejected], counts[storer::ReplayOutcome::unavailable]);
  return left > 0 ? k_exit_left_behind : 0;
}

} // namespace

RejectedCommand::RejectedCommand(CLI::App& app) {
  auto* command = app.add_subcommand(
      "rejected", "List or replay the messages the intake rejected (docs/configuration.md)");
  command->require_subcommand(1);
  m_list = command->add_subcommand("list", "The rejected messages, newest first");
  m_replay = command->add_subcommand(
      "replay", "Put rejected messages through the intake again (once their cause is fixed)");
  for (CLI::App* sub : {m_list, m_replay}) {
    auto* dir =
        sub->add_option("--data-dir", m_options.data_dir, "The embedded default's data directory");
    auto* url = sub->add_option("--database-url", m_options.database_url,
                                "Or the daemons' ingester database: postgres://… or sqlite:///…");
    dir->excludes(url);
    sub->add_option("--reason", m_options.reason,
                    "Only this kind: malformed, unknown_table, unrouted or unrecordable");
    sub->add_option("--table", m_options.table, "Only messages that name this table");
  }
  m_list->add_option("--limit", m_options.limit, "At most this many (1 to 1000)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000}));
  m_replay->add_option("--ids", m_options.ids, "Only these ids (comma-separated, at most 10000)");
  m_replay->add_flag("--all", m_options.all,
                     "Every rejected message (or every one of --reason, "
                     "--table)");
  m_replay->add_option("--requester", m_options.requester,
                       "Who replays, for the audit log (default: rs_ingester-cli:$USER)");
  m_replay->add_option("--event-metadata-url", m_options.event_metadata_url,
                       "Event metadata: s3://bucket/key or file:///path (required with "
                       "--database-url; default with --data-dir: the data directory's)");
  m_replay->add_option("--registry-url", m_options.registry_url,
                       "Schema registry for --route rules without a version: file:///schemas or "
                       "Blueprint's http(s)://host (default with --data-dir: its schemas/)");
  config::add_route_flag(*m_replay, m_options.routes);
}

bool RejectedCommand::chosen() const { return m_list->parsed() || m_replay->parsed(); }

int RejectedCommand::run() {
  if (m_options.data_dir.empty() == m_options.database_url.empty()) {
    return usage_error("give --data-dir DIR or --database-url URL");
  }
  std::unique_ptr<ingestdb::IngestDb> store;
  if (!m_options.data_dir.empty()) {
    const DataDir dir{std::filesystem::absolute(m_options.data_dir)};
    std::error_code error;
    if (!std::filesystem::is_regular_file(dir.ingester_db(), error)) {
      return usage_error(
          fmt::format("{} is not a data directory (no ingester.db)", dir.root.string()));
    }
    auto opened = ingestdb::make_ingest_db({ingestdb::SqliteConfig{.path = dir.ingester_db()}});
    if (!opened) {
      return startup_error("cannot open the ingester database", opened.error());
    }
    store = std::move(*opened);
  } else {
    auto url = with_tls_default(m_options.database_url, http::process_environment());
    auto config = url ? ingestdb::config_from_url(*url, 2) : std::unexpected(url.error());
    if (!config) {
      return usage_error("--database-url: " + config.error().message);
    }
    auto opened = ingestdb::make_ingest_db(*config);
    if (!opened) {
      return startup_error("cannot open the ingester database", opened.error());
    }
    store = std::move(*opened);
  }
  return m_list->parsed() ? list(*store) : replay(*store);
}

int RejectedCommand::list(ingestdb::IngestDb& store) {
  auto filtered = filters(m_options);
  if (auto* wrong = std::get_if<UsageError>(&filtered)) {
    return usage_error(wrong->message);
  }
  auto selection = std::get<ingestdb::RejectedSelection>(std::move(filtered));
  selection.limit = m_options.limit + 1;
  selection.max_body_bytes = k_listed_body_bytes;
  auto rows = store.list_rejected(selection);
  if (!rows) {
    return startup_error("cannot read the rejected messages", rows.error());
  }
  const std::size_t shown = std::min(rows->size(), m_options.limit);
  for (std::size_t index = 0; index < shown; ++index) {
    const auto& row = (*rows)[index];
    const bool cut = row.body_bytes > static_cast<std::int64_t>(row.message.body.size());
    std::printf("%lld %s %s %s %s: %s\n  body (%lld bytes): %s%s\n", static_cast<long long>(row.id),
                to_iso8601(row.message.received_at).c_str(), or_dash(row.message.kind).c_str(),
                or_dash(row.message.table).c_str(), row.message.message_id.c_str(),
                row.message.reason.c_str(), static_cast<long long>(row.body_bytes),
                core::escape_for_message(row.message.body, k_listed_body_bytes).c_str(),
                cut ? "..." : "");
  }
  if (rows->size() > shown) {
    std::printf("(more: raise --limit, or narrow with --reason and --table)\n");
  } else if (shown == 0) {
    std::printf("no rejected message matches\n");
  }
  return 0;
}

int RejectedCommand::replay(ingestdb::IngestDb& store) {
  auto selected = replay_selection(m_options);
  if (auto* wrong = std::get_if<UsageError>(&selected)) {
    return usage_error(wrong->message);
  }
  auto selection = std::get<ingestdb::RejectedSelection>(std::move(selected));
  auto routes = core::parse_routes(m_options.routes);
  if (!routes) {
    return usage_error("--route: " + routes.error().message);
  }
  SystemClock clock;
  auto made = replay_sources(m_options, *routes, clock);
  if (auto* wrong = std::get_if<UsageError>(&made)) {
    return usage_error(wrong->message);
  }
  auto sources = std::get<ReplaySources>(std::move(made));
  registry::EventMetadataCache tables(std::move(sources.fetcher), clock, {});
  telemetry::Metrics metrics("rs_ingester");
  const auto replayer =
      make_replayer(store, tables, sources.registry.get(), std::move(*routes), clock, metrics);
  const std::string requester =
      m_options.requester.empty() ? default_requester() : m_options.requester;

  std::map<storer::ReplayOutcome, std::size_t> counts;
  selection.limit = k_replay_chunk;
  while (true) {
    auto report = replayer->replay(selection, requester);
    if (!report) {
      return startup_error("replay stopped (what was replayed is resolved; run it again for the "
                           "rest)",
                           report.error());
    }
    for (const auto& message : report->messages) {
      ++counts[message.outcome];
      print_replayed(message);
    }
    if (!report->next_after_id) {
      break;
    }
    selection.after_id = *report->next_after_id;
  }
  return print_replay_summary(counts);
}

} // namespace rsi::app
