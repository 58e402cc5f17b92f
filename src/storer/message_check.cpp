#include "storer/message_check.hpp"

#include <fmt/format.h>

#include "core/intake_message.hpp"
#include "core/text.hpp"
#include "telemetry/names.hpp"

namespace rsi::storer {
namespace {

namespace names = telemetry::names;

Checked rejected(std::string reason, std::string_view kind) {
  return {.verdict = Checked::Verdict::reject, .reason = std::move(reason), .reject_kind = kind};
}

Checked unavailable(std::string reason) {
  return {.verdict = Checked::Verdict::unavailable, .reason = std::move(reason)};
}

} // namespace

bool needs_current_version(std::span<const core::Route> routes) {
  for (const auto& route : routes) {
    if (route.takes_current_version()) {
      return true;
    }
  }
  return false;
}

MessageCheck::MessageCheck(registry::TableDirectory& tables, const Clock& clock,
                           telemetry::Metrics& metrics, RoutingConfig routing)
    : m_tables(tables), m_clock(clock), m_metrics(metrics), m_routing(std::move(routing)) {}

Checked MessageCheck::check_message(std::string_view body) {
  auto intake = core::parse_intake_message(body);
  if (!intake) {
    return rejected(intake.error().message, "malformed");
  }
  if (intake->pointer) {
    return check_pointers({std::move(*intake->pointer)});
  }
  if (intake->form == core::MessageForm::s3_test) {
    m_metrics.count(names::s3_events_ignored("test_event"));
  }
  if (intake->removed > 0) {
    m_metrics.count(names::s3_events_ignored("object_removed"),
                    static_cast<std::int64_t>(intake->removed));
  }
  if (intake->other > 0) {
    m_metrics.count(names::s3_events_ignored("other"), static_cast<std::int64_t>(intake->other));
  }
  if (intake->created.empty()) {
    return {.verdict = Checked::Verdict::nothing};
  }
  return check_objects(intake->created);
}

Checked MessageCheck::check_objects(std::span<const core::ObjectLocation> created) {
  std::vector<core::FilePointer> pointers;
  pointers.reserve(created.size());
  for (const auto& object : created) {
    auto match = core::route_key(m_routing.routes, object.bucket, object.key);
    if (!match) {
      return rejected(fmt::format("no --route matches {}{}",
                                  core::quote_for_message(core::s3_url(object), 1100),
                                  m_routing.routes.empty() ? " (no routes are configured)" : ""),
                      "unrouted");
    }
    if (!match->version) {
      auto current = current_version(match->table);
      if (!current) {
        return unavailable(current.error().message);
      }
      if (!*current) {
        return {.verdict = Checked::Verdict::unknown_table,
                .reason = fmt::format("table \"{}\" has no schema in the registry", match->table),
                .table = match->table};
      }
      match->version = **current;
    }
    pointers.push_back({.key_name = fmt::format("{}/{}", object.bucket, object.key),
                        .table = std::move(match->table),
                        .version = *match->version});
  }
  return check_pointers(std::move(pointers));
}

Checked MessageCheck::check_pointers(std::vector<core::FilePointer> pointers) {
  std::vector<core::AceMembership> memberships;
  memberships.reserve(pointers.size());
  for (const auto& pointer : pointers) {
    auto membership = m_tables.membership(pointer.table);
    if (!membership) {
      return unavailable(membership.error().wrap("event metadata").message);
    }
    if (*membership == core::AceMembership::unknown_table) {
      return {.verdict = Checked::Verdict::unknown_table,
              .reason = fmt::format("table \"{}\" is not in the event metadata", pointer.table),
              .table = pointer.table};
    }
    memberships.push_back(*membership);
  }
  Checked checked{.verdict = Checked::Verdict::nothing};
  for (std::size_t at = 0; at < pointers.size(); ++at) {
    if (memberships[at] == core::AceMembership::not_in_ace) {
      m_metrics.count(names::files_skipped_ace(pointers[at].table));
      m_metrics.count(names::files_skipped_ace_total());
      continue;
    }
    // Counted where the original counted it: known, loadable, not yet recorded.
    m_metrics.count(names::files_received(pointers[at].table));
    m_metrics.count(names::files_received_total());
    checked.pointers.push_back(std::move(pointers[at]));
  }
  if (!checked.pointers.empty()) {
    checked.verdict = Checked::Verdict::record;
  }
  return checked;
}

Result<std::optional<int>> MessageCheck::current_version(const std::string& table) {
  const TimePoint now = m_clock.now();
  {
    const std::lock_guard lock(m_mutex);
    const auto cached = m_versions.find(table);
    if (cached != m_versions.end() &&
        now - cached->second.fetched_at < m_routing.current_version_ttl) {
      return cached->second.version;
    }
  }
  if (!m_routing.current_version) {
    return fail(ErrorKind::permanent,
                "a route takes the registry's current version, but no schema registry is "
                "configured");
  }
  RSI_TRY_ASSIGN(auto version, m_routing.current_version(table));
  const std::lock_guard lock(m_mutex);
  m_versions[table] = {.version = version, .fetched_at = now};
  return version;
}

} // namespace rsi::storer
