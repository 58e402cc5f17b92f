#include "warehouse/redshift_load_errors.hpp"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/strings.hpp"

namespace rsi::warehouse::redshift {
namespace {

constexpr std::size_t k_logged_url_bytes = 256; // STL_LOAD_ERRORS.filename is char(256).

struct Marker {
  std::string_view text; // Lowercase.
  FileFaultKind kind = FileFaultKind::rejected;
};

// Words of Redshift's reasons and messages for the faults their codes do not tell, in the order
// they are looked for.
constexpr std::array k_reason_markers = {
    Marker{"gzip", FileFaultKind::corrupt_gzip},
    Marker{"delimiter", FileFaultKind::bad_record}, // Before "not found": "Delimiter not found".
    Marker{"extra column", FileFaultKind::bad_record},
    Marker{"does not exist", FileFaultKind::missing_object},
    Marker{"nosuchkey", FileFaultKind::missing_object},
    Marker{"not found", FileFaultKind::missing_object},
    Marker{"line too long", FileFaultKind::record_too_long},
    Marker{"multibyte", FileFaultKind::invalid_characters},
    Marker{"utf8", FileFaultKind::invalid_characters},
    Marker{"utf-8", FileFaultKind::invalid_characters},
    Marker{"invalid digit", FileFaultKind::bad_value},
};

// S3 and IAM refusing COPY: every file would fail alike, so no file is to blame.
constexpr std::array<std::string_view, 9> k_authorization_markers = {
    "access denied",      "accessdenied",          "status 403",
    "invalidaccesskeyid", "signaturedoesnotmatch", "expiredtoken",
    "token has expired",  "not authorized",        "permission denied"};

// Redshift's words for a load that failed for its data.
constexpr std::array<std::string_view, 6> k_data_markers = {
    "load into table",    "stl_load_errors", "sys_load_error_detail",
    "s3serviceexception", "nosuchkey",       "gzip"};

bool contains_any(std::string_view lowered, std::span<const std::string_view> needles) {
  return std::ranges::any_of(
      needles, [&](std::string_view needle) { return lowered.find(needle) != std::string::npos; });
}

std::optional<FileFaultKind> reason_kind(std::string_view text) {
  const std::string lowered = to_ascii_lower(text);
  for (const Marker& marker : k_reason_markers) {
    if (lowered.find(marker.text) != std::string::npos) {
      return marker.kind;
    }
  }
  return std::nullopt;
}

std::optional<FileFaultKind> code_kind(int code) {
  switch (code) {
  case 1201: // Field delimiter not found.
  case 1202: // More columns than the table has.
  case 1203: // Fewer columns than the table has.
  case 1211: // A line without data.
  case 1214: // Delimiter not found.
  case 1216: // Input line not valid.
  case 1218: // A NUL in a field.
    return FileFaultKind::bad_record;
  case 1204: // Out of the type's range (also a string longer than its column).
  case 1205: // Date format.
  case 1206: // Timestamp format.
  case 1207: // Not a digit.
  case 1208: // FLOAT format.
  case 1209: // DECIMAL format.
  case 1210: // BOOLEAN format.
  case 1213: // Empty NOT NULL field.
  case 1217: // Identity value.
  case 1222: // Integer overflow.
  case 1223: // Invalid data type.
    return FileFaultKind::bad_value;
  case 1215: // CHAR field error (a multibyte character).
  case 1219: // Invalid UTF-8 hex digit.
  case 1220: // Invalid or unsupported UTF-8 code point.
  case 1221: // An encoding other than COPY's.
    return FileFaultKind::invalid_characters;
  case 1212: // Load file not found.
    return FileFaultKind::missing_object;
  default:
    return std::nullopt;
  }
}

// The index of the file of `files` whose URL `message` names (the longest, so that a key is not
// mistaken for another that begins with it).
std::optional<std::size_t> named_file(std::string_view message,
                                      std::span<const core::ObjectLocation> files) {
  std::optional<std::size_t> found;
  std::size_t found_bytes = 0;
  for (std::size_t index = 0; index < files.size(); ++index) {
    const std::string url = core::s3_url(files[index]);
    if (url.size() > found_bytes && message.find(url) != std::string_view::npos) {
      found = index;
      found_bytes = url.size();
    }
  }
  return found;
}

// 1-based position of `column` among `columns`; 0 when it is not one of them.
std::uint32_t column_position(std::string_view column, std::span<const std::string> columns) {
  for (std::size_t index = 0; index < columns.size(); ++index) {
    if (iequals_ascii(columns[index], column)) {
      return static_cast<std::uint32_t>(index + 1);
    }
  }
  return 0;
}

// "line 17 column 3 ("n"): <reason> (Redshift load error 1207)".
std::string describe(const LoadErrorRow& row, std::uint32_t position) {
  std::string where;
  if (row.line > 0) {
    where = fmt::format("line {}", row.line);
  }
  if (!row.column.empty()) {
    const std::string column = position > 0
                                   ? fmt::format("column {} (\"{}\")", position, row.column)
                                   : fmt::format("column \"{}\"", row.column);
    where = where.empty() ? column : fmt::format("{} {}", where, column);
  }
  return fmt::format("{}{}{} (Redshift load error {})", where, where.empty() ? "" : ": ",
                     row.reason, row.code);
}

} // namespace

FileFaultKind fault_kind(int code, std::string_view reason) {
  if (auto kind = code_kind(code)) {
    return *kind;
  }
  return reason_kind(reason).value_or(FileFaultKind::rejected);
}

std::optional<std::size_t> find_file(std::string_view url,
                                     std::span<const core::ObjectLocation> files) {
  std::optional<std::size_t> prefixed;
  std::size_t prefix_matches = 0;
  for (std::size_t index = 0; index < files.size(); ++index) {
    const std::string file_url = core::s3_url(files[index]);
    if (file_url == url) {
      return index;
    }
    if (url.size() == k_logged_url_bytes && file_url.starts_with(url)) {
      prefixed = index;
      ++prefix_matches;
    }
  }
  // A URL cut at 256 bytes names a file only when no other file begins the same way.
  return prefix_matches == 1 ? prefixed : std::nullopt;
}

LoadError load_error_from_rows(std::span<const LoadErrorRow> rows, const LoadRequest& request,
                               std::span<const std::string> columns) {
  if (rows.empty()) {
    return {Error{ErrorKind::permanent, "COPY failed without a rejected row"}, std::nullopt};
  }
  std::vector<std::vector<const LoadErrorRow*>> by_file(request.files.size());
  const LoadErrorRow* stray = nullptr;
  for (const LoadErrorRow& row : rows) {
    if (auto file = find_file(row.file_url, request.files)) {
      by_file[*file].push_back(&row);
    } else if (stray == nullptr) {
      stray = &row;
    }
  }
  const bool too_many = request.max_bad_rows > 0 && rows.size() > request.max_bad_rows;
  std::optional<std::size_t> at;
  for (std::size_t index = 0; index < by_file.size(); ++index) {
    if (!by_file[index].empty() &&
        (!at || (too_many && by_file[index].size() > by_file[*at].size()))) {
      at = index;
    }
  }
  if (!at) {
    const LoadErrorRow& row = *stray;
    return {Error{ErrorKind::permanent,
                  fmt::format("COPY rejected {}, not a file of the batch: {}", row.file_url,
                              describe(row, column_position(row.column, columns)))},
            std::nullopt};
  }
  const auto& file_rows = by_file[*at];
  const LoadErrorRow& first =
      **std::ranges::min_element(file_rows, {}, [](const LoadErrorRow* row) { return row->line; });
  const FileFault fault{.file = *at,
                        .kind = too_many ? FileFaultKind::too_many_bad_rows
                                         : fault_kind(first.code, first.reason),
                        .line = first.line,
                        .column = column_position(first.column, columns)};
  const std::string url = core::s3_url(request.files[*at]);
  if (!too_many) {
    return {Error{ErrorKind::permanent, fmt::format("{} {}", url, describe(first, fault.column))},
            fault};
  }
  return {Error{ErrorKind::permanent,
                fmt::format("{}: COPY rejected {} rows, more than the {} allowed ({} in this file, "
                            "the first at {})",
                            url, rows.size(), request.max_bad_rows, file_rows.size(),
                            describe(first, fault.column))},
          fault};
}

LoadError load_error_from_message(Error error, std::string_view server_message,
                                  std::span<const core::ObjectLocation> files) {
  const std::string lowered = to_ascii_lower(server_message);
  if (contains_any(lowered, k_authorization_markers)) {
    return error;
  }
  if (auto file = named_file(server_message, files)) {
    return {
        std::move(error),
        FileFault{.file = *file, .kind = reason_kind(lowered).value_or(FileFaultKind::rejected)}};
  }
  if (lowered.find("manifest") != std::string::npos) {
    return error; // The manifest object, which is ours, not the data's.
  }
  if (contains_any(lowered, k_data_markers)) {
    return {std::move(error), std::nullopt};
  }
  return error;
}

} // namespace rsi::warehouse::redshift
