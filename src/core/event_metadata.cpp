#include "core/event_metadata.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/json_fields.hpp"
#include "core/text.hpp"

namespace rsi::core {
namespace {

Result<EventMetadataRow> decode_row(const nlohmann::json& item) {
  RSI_TRY(require_object(item));
  EventMetadataRow row;
  RSI_TRY_ASSIGN(row.value, require_string(item, "MetadataValue"));
  RSI_TRY_ASSIGN(row.ts, optional_string(item, "TS"));
  RSI_TRY_ASSIGN(row.user_name, optional_string(item, "UserName"));
  RSI_TRY_ASSIGN(const auto version,
                 optional_integer(item, "Version", 0, std::numeric_limits<int>::max(), 0));
  row.version = static_cast<int>(version);
  return row;
}

Result<EventMetadataRows> decode_rows(const nlohmann::json& item) {
  RSI_TRY(require_object(item));
  EventMetadataRows rows;
  for (const auto& [type, value] : item.items()) {
    auto row = decode_row(value);
    if (!row) {
      return fail(row.error().wrap(fmt::format("type {}", quote_for_message(type))));
    }
    rows.emplace(type, std::move(*row));
  }
  return rows;
}

Result<EventMetadata> decode_event_metadata(std::string_view body) {
  RSI_TRY_ASSIGN(const auto document, parse_json(body));
  RSI_TRY(require_object(document));
  EventMetadata metadata;
  for (const auto& [event, value] : document.items()) {
    auto rows = decode_rows(value);
    if (!rows) {
      return fail(rows.error().wrap(fmt::format("event {}", quote_for_message(event))));
    }
    metadata.events.emplace(event, std::move(*rows));
  }
  return metadata;
}

Result<EventMetadata> decode_single_event_metadata(std::string_view body) {
  RSI_TRY_ASSIGN(const auto document, parse_json(body));
  RSI_TRY(require_object(document));
  RSI_TRY_ASSIGN(auto event, require_string(document, "EventName"));
  RSI_TRY_ASSIGN(const auto* rows_item, require_field(document, "Metadata"));
  auto rows = decode_rows(*rows_item);
  if (!rows) {
    return fail(field_error("Metadata", rows.error()));
  }
  EventMetadata metadata;
  metadata.events.emplace(std::move(event), std::move(*rows));
  return metadata;
}

std::string_view trim_blanks(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

} // namespace

Result<EventMetadata> parse_event_metadata(std::string_view body) {
  auto metadata = decode_event_metadata(body);
  if (!metadata) {
    return fail(metadata.error().wrap("parse event metadata"));
  }
  return metadata;
}

Result<EventMetadata> parse_single_event_metadata(std::string_view body) {
  auto metadata = decode_single_event_metadata(body);
  if (!metadata) {
    return fail(metadata.error().wrap("parse event metadata"));
  }
  return metadata;
}

std::string encode_event_metadata(const EventMetadata& metadata) {
  nlohmann::ordered_json document = nlohmann::ordered_json::object();
  for (const auto& [event, rows] : metadata.events) {
    nlohmann::ordered_json encoded_rows = nlohmann::ordered_json::object();
    for (const auto& [type, row] : rows) {
      nlohmann::ordered_json item;
      item["MetadataValue"] = row.value;
      item["TS"] = row.ts;
      item["UserName"] = row.user_name;
      item["Version"] = row.version;
      encoded_rows[type] = std::move(item);
    }
    document[event] = std::move(encoded_rows);
  }
  return dump_json(document);
}

std::vector<std::string> split_datastores(std::string_view value) {
  std::vector<std::string> datastores;
  while (true) {
    const auto comma = value.find(',');
    const auto entry = trim_blanks(value.substr(0, comma));
    if (!entry.empty()) {
      datastores.emplace_back(entry);
    }
    if (comma == std::string_view::npos) {
      return datastores;
    }
    value.remove_prefix(comma + 1);
  }
}

std::string_view to_string(AceMembership membership) {
  switch (membership) {
  case AceMembership::unknown_table:
    return "unknown_table";
  case AceMembership::not_in_ace:
    return "not_in_ace";
  case AceMembership::in_ace:
    return "in_ace";
  }
  return "unknown";
}

AceMembership ace_membership(const EventMetadata& metadata, std::string_view table) {
  const auto event = metadata.events.find(table);
  if (event == metadata.events.end()) {
    return AceMembership::unknown_table;
  }
  const auto datastores = event->second.find(k_datastores_metadata_type);
  if (datastores == event->second.end()) {
    return AceMembership::not_in_ace;
  }
  const auto entries = split_datastores(datastores->second.value);
  return std::ranges::find(entries, k_ace_datastore) != entries.end() ? AceMembership::in_ace
                                                                      : AceMembership::not_in_ace;
}

bool loads_into_ace(const EventMetadata& metadata, std::string_view table) {
  return ace_membership(metadata, table) == AceMembership::in_ace;
}

} // namespace rsi::core
