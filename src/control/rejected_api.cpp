// The rejected messages: listed by kind and table, and replayed through the intake rules
// (storer::Replayer) once their cause is fixed. The replay request's body follows the
// quarantine's rules (handler_support.hpp): Ids, Table or "All": true, a bounded Requester.
#include "control/rejected_api.hpp"

#include <algorithm>
#include <charconv>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "control/handler_support.hpp"
#include "core/table_name.hpp"

namespace rsi::control::detail {
namespace {

using http::ServerRequest;
using http::ServerResponse;
using nlohmann::json;

// A listing: 100 messages unless `limit` says otherwise, at most 1,000, bodies cut to 4 KiB.
constexpr std::size_t k_default_listed = 100;
constexpr std::size_t k_max_listed = 1'000;
constexpr std::size_t k_listed_body_bytes = 4096;
// Messages one replay request goes through; further ones are left for the next (NextAfterId).
constexpr std::size_t k_max_replayed = 10'000;

constexpr std::string_view k_cannot_replay =
    "this process cannot check messages against the intake rules: start rsloadmanager with "
    "--event-metadata-url (and --route for S3 notifications), or replay them with `rs_ingester "
    "rejected replay --database-url URL --event-metadata-url URL`";

std::string kinds_text() { return fmt::format("{}", fmt::join(storer::k_rejection_kinds, ", ")); }

json text_or_null(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

json listed_json(const ingestdb::StoredRejection& row) {
  return {{"Id", row.id},
          {"MessageId", row.message.message_id},
          {"Kind", text_or_null(row.message.kind)},
          {"Table", text_or_null(row.message.table)},
          {"Reason", row.message.reason},
          {"ReceivedAt", to_iso8601(row.message.received_at)},
          {"Body", row.message.body},
          {"BodyBytes", row.body_bytes}};
}

json replayed_json(const storer::ReplayedMessage& message) {
  return {{"Id", message.id},
          {"MessageId", message.message_id},
          {"Outcome", storer::to_string(message.outcome)},
          {"Files", message.files},
          {"Table", text_or_null(message.table)},
          {"Kind", text_or_null(message.kind)},
          {"Reason", text_or_null(message.reason)}};
}

class RejectedApi {
public:
  explicit RejectedApi(ControlBackend backend) : m_backend(std::move(backend)) {}

  // GET /control/rejected?reason=K&table=T&limit=N: newest first.
  ServerResponse list(const ServerRequest& request) const {
    ingestdb::RejectedSelection selection{.max_body_bytes = k_listed_body_bytes};
    if (const auto reason = query(request, "reason"); !reason.empty()) {
      if (!storer::is_rejection_kind(reason)) {
        return error(400, fmt::format("reason must be one of {}", kinds_text()));
      }
      selection.kind = reason;
    }
    if (const auto table = query(request, "table"); !table.empty()) {
      if (auto valid = core::validate_table_name(table); !valid) {
        return error(400, valid.error().message);
      }
      selection.table = table;
    }
    std::size_t limit = k_default_listed;
    if (const auto text = query(request, "limit"); !text.empty()) {
      const auto [end, failed] = std::from_chars(text.data(), text.data() + text.size(), limit);
      if (failed != std::errc() || end != text.data() + text.size() || limit < 1 ||
          limit > k_max_listed) {
        return error(400, fmt::format("limit must be a number from 1 to {}", k_max_listed));
      }
    }
    selection.limit = limit + 1; // One more tells whether more match.
    auto rows = m_backend.store->list_rejected(selection);
    if (!rows) {
      return backend_error("list rejected messages", rows.error());
    }
    const bool more = rows->size() > limit;
    json messages = json::array();
    for (std::size_t index = 0; index < std::min(limit, rows->size()); ++index) {
      messages.push_back(listed_json((*rows)[index]));
    }
    return json_response({{"Messages", std::move(messages)}, {"More", more}});
  }

  // POST /control/rejected/replay: {"Requester":"who","Ids":[1,2],"Reason":"unknown_table",
  // "Table":"t","AfterId":0} or {"All":true}; the fields given are ANDed.
  ServerResponse replay(const ServerRequest& request) const {
    auto parsed = parse_named_rows(request.body, "message");
    if (auto* response = std::get_if<ServerResponse>(&parsed)) {
      return *response;
    }
    auto& named = std::get<NamedRows>(parsed);
    const auto reason = go_string_field(named.body, "Reason");
    if (!reason) {
      return error(400, "Problem decoding JSON POST data.");
    }
    if (!reason->empty() && !storer::is_rejection_kind(*reason)) {
      return error(400, fmt::format("Reason must be one of {}.", kinds_text()));
    }
    std::int64_t after_id = 0;
    if (const auto after = named.body.find("AfterId");
        after != named.body.end() && !after->is_null()) {
      if (!after->is_number_integer() || after->get<std::int64_t>() < 0) {
        return error(400, "AfterId must be a message id (an integer, 0 or more).");
      }
      after_id = after->get<std::int64_t>();
    }
    if (!named.table && named.ids.empty() && reason->empty() && !named.all) {
      return error(400, "Name the messages: \"Ids\": [...], \"Reason\": \"...\", \"Table\": "
                        "\"...\", or \"All\": true.");
    }
    if (!m_backend.replay_rejected) {
      return error(501, k_cannot_replay);
    }
    const ingestdb::RejectedSelection selection{
        .ids = std::move(named.ids),
        .kind = reason->empty() ? std::nullopt : std::optional<std::string>(*reason),
        .table = std::move(named.table),
        .after_id = after_id,
        .limit = k_max_replayed};
    auto report = m_backend.replay_rejected(selection, named.requester);
    if (!report) {
      return backend_error("replay rejected messages", report.error());
    }
    if (report->messages.empty()) {
      return error(404, "no rejected message matches (see GET /control/rejected)");
    }
    json messages = json::array();
    bool recorded = false;
    for (const auto& message : report->messages) {
      recorded = recorded || message.outcome == storer::ReplayOutcome::recorded;
      messages.push_back(replayed_json(message));
    }
    if (recorded) {
      m_backend.wake_loaders();
    }
    return json_response(
        {{"Messages", std::move(messages)},
         {"Requester", named.requester},
         {"More", report->next_after_id.has_value()},
         {"NextAfterId", report->next_after_id ? json(*report->next_after_id) : json(nullptr)}});
  }

private:
  static std::string query(const ServerRequest& request, const std::string& name) {
    const auto found = request.query.find(name);
    return found == request.query.end() ? std::string() : found->second;
  }

  ControlBackend m_backend;
};

} // namespace

void install_rejected(http::Server& server, const ControlBackend& backend) {
  auto api = std::make_shared<const RejectedApi>(backend);
  const http::RouteOptions token{.needs_token = true};
  server.route(
      "GET", "/control/rejected",
      [api](const ServerRequest& request) { return api->list(request); }, token);
  server.route(
      "POST", "/control/rejected/replay",
      [api](const ServerRequest& request) { return api->replay(request); }, token);
}

} // namespace rsi::control::detail
