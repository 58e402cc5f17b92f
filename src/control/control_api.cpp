// Handlers are plain functions from a request to a response over ControlBackend; the server
// (http/server.hpp) does routing, 404 and 405, the token and every limit. No GET handler changes
// state: the server guards only other methods against requests a browser page could send.
#include "control/control_api.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <variant>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "control/handler_support.hpp"
#include "control/rejected_api.hpp"
#include "control/status_page.hpp"
#include "core/json_fields.hpp"
#include "core/table_name.hpp"
#include "status/status.hpp"
#include "telemetry/names.hpp"

namespace rsi::control {
namespace {

using http::ServerRequest;
using http::ServerResponse;
using nlohmann::json;

using detail::backend_error;
using detail::error;
using detail::go_string_field;
using detail::json_response;
using detail::k_max_requester_bytes;
using detail::parse_body;

ServerResponse no_content() { return {.status = 204, .content_type = "", .body = ""}; }

double epoch_seconds(TimePoint time) { return static_cast<double>(to_epoch_micros(time)) / 1e6; }

json optional_json(const auto& value) { return value ? json(*value) : json(nullptr); }

// A batch; with `taken_at` (a snapshot's), also its age then.
json batch_json(const ingestdb::Batch& batch, std::optional<TimePoint> taken_at = std::nullopt) {
  json out{{"Manifest", batch.manifest},
           {"Table", batch.table},
           {"Version", batch.version},
           {"Files", batch.keys.size()},
           {"RetryCount", batch.retry_count}};
  out["LastError"] = batch.last_error ? json(*batch.last_error) : json(nullptr);
  if (batch.retry_at) {
    out["RetryAt"] = to_iso8601(*batch.retry_at);
  }
  out["CreatedAt"] = batch.created_at ? json(to_iso8601(*batch.created_at)) : json(nullptr);
  if (taken_at) {
    out["AgeSeconds"] = batch.created_at
                            ? json(epoch_seconds(*taken_at) - epoch_seconds(*batch.created_at))
                            : json(nullptr);
  }
  return out;
}

json batches_json(const std::vector<ingestdb::Batch>& batches, TimePoint taken_at) {
  json list = json::array();
  for (const auto& batch : batches) {
    list.push_back(batch_json(batch, taken_at));
  }
  return list;
}

json health_json(const status::Health& health) {
  if (!health.checked) {
    return nullptr;
  }
  return {{"Ok", !health.error}, {"Error", optional_json(health.error)}};
}

// The table's loads per minute since the snapshot's history_since (minutes with a load only),
// and their sums.
void add_history(json& table_json, const status::TableStatus& table) {
  json minutes = json::array();
  std::int64_t batches = 0;
  std::int64_t files = 0;
  std::int64_t rows = 0;
  for (const auto& minute : table.history) {
    minutes.push_back({{"Minute", to_iso8601(minute.minute)},
                       {"Batches", minute.batches},
                       {"Files", minute.files},
                       {"Rows", minute.rows}});
    batches += minute.batches;
    files += minute.files;
    rows += minute.rows;
  }
  table_json["LoadHistory"] = std::move(minutes);
  table_json["LoadedLastHour"] = {{"Batches", batches}, {"Files", files}, {"Rows", rows}};
}

json quarantined_json(const ingestdb::QuarantinedFile& file) {
  return {{"Id", file.id},
          {"Table", file.table},
          {"Version", file.version},
          {"Key", file.key},
          {"Kind", file.kind},
          {"Error", file.error},
          {"Line", file.line > 0 ? json(file.line) : json(nullptr)},
          {"Column", file.column > 0 ? json(file.column) : json(nullptr)},
          {"ReceivedAt", to_iso8601(file.received_at)},
          {"FirstSeen", to_iso8601(file.first_seen)},
          {"LastSeen", to_iso8601(file.last_seen)},
          {"Attempts", file.attempts}};
}

json status_json(const status::Snapshot& snapshot) {
  const auto age = [&](std::optional<TimePoint> time) {
    return time ? json(epoch_seconds(snapshot.taken_at) - epoch_seconds(*time)) : json(nullptr);
  };
  json tables = json::array();
  for (const auto& table : snapshot.tables) {
    json quarantined = json::array();
    for (const auto& file : table.quarantined) {
      quarantined.push_back(quarantined_json(file));
    }
    tables.push_back(
        {{"Table", table.table},
         {"CurrentVersion", optional_json(table.current_version)},
         {"PendingVersion", optional_json(table.pending_version)},
         {"MigrationTarget", optional_json(table.migration_target())},
         {"PendingFiles", table.waiting_files + table.stale_files + table.migration_files},
         {"OldestAgeSeconds", age(table.oldest)},
         {"InQueueFiles", table.waiting_files},
         {"StaleFiles", table.stale_files},
         {"PendingMigrationFiles", table.migration_files},
         {"OutdatedFiles", table.outdated_files},
         {"LastLoad", table.last_load ? json(to_iso8601(*table.last_load)) : json(nullptr)},
         {"AwaitingMetadataMessages", table.awaiting_metadata},
         {"AwaitingMetadataSince",
          table.awaiting_since ? json(to_iso8601(*table.awaiting_since)) : json(nullptr)},
         {"InFlight", batches_json(table.in_flight, snapshot.taken_at)},
         {"Orphaned", batches_json(table.orphaned, snapshot.taken_at)},
         {"Retrying", batches_json(table.retrying, snapshot.taken_at)},
         {"Stale", batches_json(table.stale, snapshot.taken_at)},
         {"QuarantinedFiles", table.quarantined_files},
         {"QuarantinedSince",
          table.quarantined_since ? json(to_iso8601(*table.quarantined_since)) : json(nullptr)},
         {"Quarantined", quarantined},
         {"RejectedMessages", table.rejected}});
    add_history(tables.back(), table);
  }
  json queue = nullptr;
  if (snapshot.queue) {
    queue = {{"Waiting", snapshot.queue->waiting},
             {"InFlight", snapshot.queue->in_flight},
             {"Delayed", snapshot.queue->delayed},
             {"Approximate", snapshot.queue->approximate},
             {"SetAside", snapshot.queue->set_aside}};
  } else if (snapshot.queue_error) {
    queue = {{"Error", *snapshot.queue_error}};
  }
  return {{"Tables", std::move(tables)},
          {"Queue", std::move(queue)},
          {"Busy", snapshot.busy()},
          {"QuarantinedFiles", snapshot.quarantined_files()},
          {"MaxLoadRetry", snapshot.max_load_retry},
          {"TakenAt", to_iso8601(snapshot.taken_at)},
          {"HistorySince", to_iso8601(snapshot.history_since)},
          {"Dependencies",
           {{"IngesterDb", health_json(snapshot.ingester_db)},
            {"Warehouse", health_json(snapshot.warehouse)},
            {"Queue", health_json(snapshot.queue_health)},
            {"Registry", health_json(snapshot.registry)}}},
          {"RejectedMessages", snapshot.rejected},
          {"RejectedTotal", snapshot.rejected_messages()},
          {"RejectedPartial", snapshot.rejected_partial}};
}

class Api {
public:
  explicit Api(ControlBackend backend) : m_backend(std::move(backend)) {}

  ServerResponse health(const ServerRequest&) const {
    json body{{"IngesterDBConnError", nullptr}, {"WarehouseConnError", nullptr}};
    int status = 200;
    if (auto ping = m_backend.store->ping(); !ping) {
      body["IngesterDBConnError"] = ping.error().message;
      status = 503;
    }
    if (auto ping = m_backend.warehouse_ping(); !ping) {
      body["WarehouseConnError"] = ping.error().message;
      status = 503;
    }
    return json_response(body, status);
  }

  ServerResponse force_load(const ServerRequest& request) const {
    const json body = parse_body(request.body);
    const auto table_field = body.is_object() ? go_string_field(body, "Table") : std::nullopt;
    const auto requester_field =
        body.is_object() ? go_string_field(body, "Requester") : std::nullopt;
    if (!table_field || !requester_field) {
      return error(400, "Problem decoding JSON POST data.");
    }
    const std::string& table = *table_field;
    const std::string& requester = *requester_field;
    if (table.empty()) {
      return error(400, "Table name empty.");
    }
    if (auto valid = core::validate_table_name(table); !valid) {
      return error(400, valid.error().message);
    }
    if (requester.size() > k_max_requester_bytes) {
      return error(400, fmt::format("Requester is {} bytes long; the limit is {} bytes",
                                    requester.size(), k_max_requester_bytes));
    }
    auto known = known_table(table);
    if (!known) {
      return backend_error("force_load", known.error());
    }
    if (!*known) {
      return error(
          404, fmt::format("no table {} in the warehouse, the pending files or the schema registry",
                           table));
    }
    auto requested = m_backend.store->request_force_load(table, requester, m_backend.clock->now());
    if (!requested) {
      return backend_error("force_load", requested.error());
    }
    m_backend.metrics->count(telemetry::names::force_load(table));
    log::info("force load requested",
              {{"table", table}, {"requester", requester}, {"new", *requested}});
    m_backend.wake_loaders();
    return no_content();
  }

  // A table the warehouse has a version of, files wait for, or the schema registry knows.
  Result<bool> known_table(const std::string& table) const {
    if (m_backend.versions().contains(table)) {
      return true;
    }
    RSI_TRY_ASSIGN(const auto pending, m_backend.store->pending_versions());
    if (pending.contains(table)) {
      return true;
    }
    return m_backend.registry_knows ? m_backend.registry_knows(table) : Result<bool>(false);
  }

  ServerResponse increment_version(const ServerRequest& request) const {
    const std::string& table = request.captures.at(0);
    if (auto valid = core::validate_table_name(table); !valid) {
      return error(400, valid.error().message);
    }
    auto incremented = m_backend.increment_version(table);
    if (!incremented) {
      if (incremented.error().kind == ErrorKind::conflict) {
        return error(409, incremented.error().message);
      }
      return backend_error("increment_version", incremented.error());
    }
    log::info("table version incremented without DDL",
              {{"table", table}, {"version", *incremented}});
    return no_content();
  }

  ServerResponse table_exists(const ServerRequest& request) const {
    const std::string& table = request.captures.at(0);
    if (auto valid = core::validate_table_name(table); !valid) {
      return error(400, valid.error().message);
    }
    return json_response({{"Exists", m_backend.versions().contains(table)}});
  }

  ServerResponse last_load(const ServerRequest&) const {
    auto loads = m_backend.store->last_loads();
    if (!loads) {
      return backend_error("last_load", loads.error());
    }
    json body = json::object();
    for (const auto& [table, time] : *loads) {
      body[table] = to_epoch_micros(time) / 1'000'000;
    }
    return json_response(body);
  }

  ServerResponse status(const ServerRequest&) const {
    auto snapshot = status::take_snapshot({.store = m_backend.store,
                                           .versions = m_backend.versions(),
                                           .queue_depth = m_backend.queue_depth,
                                           .warehouse_ping = m_backend.warehouse_ping,
                                           .registry_ping = m_backend.registry_ping,
                                           .max_load_retry = m_backend.max_load_retry},
                                          m_backend.clock->now());
    if (!snapshot) {
      return backend_error("status", snapshot.error());
    }
    json body = status_json(*snapshot);
    if (m_backend.queue_depth) {
      body["Routes"] = m_backend.routes;
    }
    return json_response(body);
  }

  // The stale batch `manifest`, or the response that explains why there is none.
  std::variant<ingestdb::Batch, ServerResponse> stale_batch(const std::string& manifest) const {
    auto found = m_backend.store->find_batch(manifest);
    if (!found) {
      return backend_error("find batch", found.error());
    }
    if (!*found) {
      return error(404, fmt::format("no batch with manifest {}", manifest));
    }
    if (!(*found)->retry_at || (*found)->retry_count < m_backend.max_load_retry) {
      return error(409, fmt::format("batch {} is not stale (retry {} of {}, {})", manifest,
                                    (*found)->retry_count, m_backend.max_load_retry,
                                    (*found)->retry_at ? "waiting" : "in flight"));
    }
    return std::move(**found);
  }

  ServerResponse retry(const ServerRequest& request) const {
    auto batch = stale_batch(request.captures.at(0));
    if (auto* response = std::get_if<ServerResponse>(&batch)) {
      return *response;
    }
    auto retried = m_backend.store->retry_batch(request.captures.at(0), m_backend.clock->now());
    if (!retried) {
      return backend_error("retry", retried.error());
    }
    if (!*retried) {
      return error(409, "the batch changed meanwhile; look at /control/status");
    }
    log::info("stale batch retried by operator", batch_json(std::get<ingestdb::Batch>(batch)));
    m_backend.wake_loaders();
    return no_content();
  }

  ServerResponse skip(const ServerRequest& request) const {
    std::string requester = "control-api";
    if (!request.body.empty()) {
      const json body = parse_body(request.body);
      const auto given = body.is_object() ? go_string_field(body, "Requester") : std::nullopt;
      if (!given) {
        return error(400, "Problem decoding JSON POST data.");
      }
      if (!given->empty()) {
        requester = *given;
      }
    }
    auto batch = stale_batch(request.captures.at(0));
    if (auto* response = std::get_if<ServerResponse>(&batch)) {
      return *response;
    }
    auto skipped =
        m_backend.store->skip_batch(request.captures.at(0), requester, m_backend.clock->now());
    if (!skipped) {
      return backend_error("skip", skipped.error());
    }
    if (!*skipped) {
      return error(409, "the batch changed meanwhile; look at /control/status");
    }
    json body = batch_json(**skipped);
    body["SkippedBy"] = requester;
    log::warn("stale batch skipped by operator; its files are not loaded", body);
    return json_response(body);
  }

  // POST /control/quarantine/retry and /drop: {"Requester": "...", "Table": "t", "Ids": [1, 2]}
  // or {"All": true}; Table and Ids together select the listed files of that table. A retry
  // makes each file pending again (after its object was fixed); a drop gives it up for good.
  ServerResponse quarantine_retry(const ServerRequest& request) const {
    return change_quarantine(request, true);
  }
  ServerResponse quarantine_drop(const ServerRequest& request) const {
    return change_quarantine(request, false);
  }

  ServerResponse metrics(const ServerRequest&) const {
    return {.content_type = "text/plain; version=0.0.4",
            .body = m_backend.metrics->prometheus_text()};
  }

private:
  ServerResponse change_quarantine(const ServerRequest& request, bool retry) const {
    auto selection = parse_quarantine_selection(request.body);
    if (auto* response = std::get_if<ServerResponse>(&selection)) {
      return *response;
    }
    auto& [chosen, requester] =
        std::get<std::pair<ingestdb::QuarantineSelection, std::string>>(selection);
    const TimePoint now = m_backend.clock->now();
    auto changed = retry ? m_backend.store->retry_quarantined(chosen, requester, now)
                         : m_backend.store->drop_quarantined(chosen, requester, now);
    if (!changed) {
      return backend_error(retry ? "retry quarantined files" : "drop quarantined files",
                           changed.error());
    }
    if (changed->empty()) {
      return error(404, "no quarantined file matches (see /control/status)");
    }
    json files = json::array();
    for (const auto& outcome : *changed) {
      json file{{"Id", outcome.file.id},
                {"Table", outcome.file.table},
                {"Key", outcome.file.key},
                {"Kind", outcome.file.kind},
                {"Action", ingestdb::to_string(outcome.action)}};
      // The audit line: one per file, with who decided.
      log::warn(retry ? "quarantined file retried by operator"
                      : "quarantined file dropped by operator; it is not loaded",
                {{"id", outcome.file.id},
                 {"table", outcome.file.table},
                 {"key", outcome.file.key},
                 {"kind", outcome.file.kind},
                 {"action", ingestdb::to_string(outcome.action)},
                 {"requester", requester}});
      files.push_back(std::move(file));
    }
    if (retry) {
      m_backend.wake_loaders();
    }
    return json_response({{"Files", std::move(files)}, {"Requester", requester}});
  }

  // The selection and requester of a quarantine request's body, or the 400 that says why not.
  static std::variant<std::pair<ingestdb::QuarantineSelection, std::string>, ServerResponse>
  parse_quarantine_selection(const std::string& text) {
    auto parsed = detail::parse_named_rows(text, "file");
    if (auto* response = std::get_if<ServerResponse>(&parsed)) {
      return *response;
    }
    auto& named = std::get<detail::NamedRows>(parsed);
    if (!named.table && named.ids.empty() && !named.all) {
      return error(400, "Name the files: \"Ids\": [...], \"Table\": \"...\", or \"All\": true.");
    }
    return std::pair(
        ingestdb::QuarantineSelection{.table = std::move(named.table), .ids = std::move(named.ids)},
        std::move(named.requester));
  }

  ControlBackend m_backend;
};

} // namespace

void install(http::Server& server, ControlBackend backend) {
  detail::install_rejected(server, backend);
  // The server keeps the handlers, and the handlers keep the API alive.
  auto api = std::make_shared<const Api>(std::move(backend));
  auto bind = [api](ServerResponse (Api::*method)(const ServerRequest&) const) {
    return [api, method](const ServerRequest& request) { return ((*api).*method)(request); };
  };
  const http::RouteOptions token{.needs_token = true};
  detail::install_status_page(server);
  server.route("GET", "/health", bind(&Api::health));
  server.route("POST", "/control/force_load", bind(&Api::force_load), token);
  server.route("POST", "/control/increment_version/([^/]+)", bind(&Api::increment_version), token);
  server.route("GET", "/control/table_exists/([^/]+)", bind(&Api::table_exists), token);
  server.route("GET", "/control/last_load", bind(&Api::last_load), token);
  server.route("GET", "/control/status", bind(&Api::status), token);
  server.route("POST", "/control/retry/([^/]+)", bind(&Api::retry), token);
  server.route("POST", "/control/skip/([^/]+)", bind(&Api::skip), token);
  server.route("POST", "/control/quarantine/retry", bind(&Api::quarantine_retry), token);
  server.route("POST", "/control/quarantine/drop", bind(&Api::quarantine_drop), token);
  server.route("GET", "/metrics", bind(&Api::metrics), token);
}

} // namespace rsi::control
