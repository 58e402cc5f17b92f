#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace rsi::core {

// One metadata entry of an event in Blueprint, for example its "datastores".
struct EventMetadataRow {
  std::string value; // MetadataValue, e.g. "ace,other".
  std::string ts;    // RFC 3339 text, as Blueprint sends it.
  std::string user_name;
  int version = 0;

  bool operator==(const EventMetadataRow&) const = default;
};

// Metadata type ("datastores", "edge_type", "birth", ...) → entry.
using EventMetadataRows = std::map<std::string, EventMetadataRow, std::less<>>;

// All events' metadata: the GET /allmetadata body, also published gzip-compressed to S3 for
// metadatastorer. Event names are kept as given (they are not validated here: one odd event
// must not make the whole document unreadable).
struct EventMetadata {
  std::map<std::string, EventMetadataRows, std::less<>> events;

  bool operator==(const EventMetadata&) const = default;
};

inline constexpr std::string_view k_datastores_metadata_type = "datastores";
inline constexpr std::string_view k_ace_datastore = "ace";

// Decode {"<event>":{"<type>":{"MetadataValue":"…","TS":"…","UserName":"…","Version":1},…},…}.
// MetadataValue is required; TS, UserName and Version (a non-negative integer) are optional but
// typed; unknown fields are ignored. Fails with ErrorKind::permanent, naming the event and type:
// `parse event metadata: event "video_play": type "datastores": field "MetadataValue": missing`.
[[nodiscard]] Result<EventMetadata> parse_event_metadata(std::string_view body);

// Decode a GET /metadata/<event> body, {"EventName":"…","Metadata":{"<type>":{…},…}}, into an
// EventMetadata holding that one event.
[[nodiscard]] Result<EventMetadata> parse_single_event_metadata(std::string_view body);

// The /allmetadata body for `metadata`, keys sorted as Go writes maps.
std::string encode_event_metadata(const EventMetadata& metadata);

// The entries of a comma-separated datastores value, each trimmed of spaces and tabs, empty
// entries dropped: " ace, other ," → {"ace", "other"}.
std::vector<std::string> split_datastores(std::string_view value);

// Where metadata says a table's files go.
enum class AceMembership {
  unknown_table, // Blueprint has no metadata for the table: an error for the caller to report.
  not_in_ace,    // Known, but "ace" is not among its datastores (or it has none): skip its files.
  in_ace,        // Load its files into the warehouse.
};

std::string_view to_string(AceMembership membership);

// Look `table` up in `metadata`. The datastores entry is matched exactly and case-sensitively
// against "ace" after split_datastores, as the original compared it.
AceMembership ace_membership(const EventMetadata& metadata, std::string_view table);

// ace_membership(...) == AceMembership::in_ace.
bool loads_into_ace(const EventMetadata& metadata, std::string_view table);

} // namespace rsi::core
