#pragma once

// Which file of a batch a failed Redshift COPY failed for: from the rows Redshift logged for the
// COPY (STL_LOAD_ERRORS, SYS_LOAD_ERROR_DETAIL) or, where it logged none, from its error message.
// Part of the Redshift backend, not of the warehouse interface: include only from the backend
// and its tests.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "core/file_pointer.hpp"
#include "warehouse/warehouse.hpp"

namespace rsi::warehouse::redshift {

// One row COPY rejected, as redshift::k_stl_load_errors and k_sys_load_error_detail read it.
struct LoadErrorRow {
  std::string file_url;   // As Redshift logged it: s3://bucket/key, cut at 256 bytes.
  std::uint64_t line = 0; // 1-based line in the file; 0: not known.
  std::string column;     // The column's name; "" when the error is not about one.
  int code = 0;           // Redshift's load error code (1200 to 1224, 8001, 9005).
  std::string reason;
  std::optional<std::string> raw_line; // The line as read (STL_LOAD_ERRORS only).
};

// What a load error code stands for (Redshift's "Load error reference"); codes it does not list
// are read from `reason` (a gzip error, a missing object); otherwise `rejected`.
FileFaultKind fault_kind(int code, std::string_view reason);

// The index in `files` of the file Redshift logged as `url` (cut at 256 bytes), or nullopt when
// no file of the batch is that one.
std::optional<std::size_t> find_file(std::string_view url,
                                     std::span<const core::ObjectLocation> files);

// The failure of a COPY of `request` that rejected `rows` (not empty): a data failure naming the
// file at fault with its line, the position of its column among `columns` (the table's, in
// order; 0 when not there) and Redshift's reason. When more rows were rejected than
// `request.max_bad_rows` (above 0) allows, that is what failed: the file with the most of them
// (the first such in the batch) is at fault, as too_many_bad_rows. Otherwise the first file of
// the batch with a rejected row is. Rows of no file of the batch still make a data failure,
// without a file.
LoadError load_error_from_rows(std::span<const LoadErrorRow> rows, const LoadRequest& request,
                               std::span<const std::string> columns);

// The failure of a COPY for which Redshift logged no rejected row, read from `error` (whose
// server part is `server_message`), in this order: an S3 or IAM authorization failure is not about
// the data (every file would fail alike); a file of `files` named in the message is at fault
// (missing_object for a key that does not exist); another message about the manifest object is
// not about the data; Redshift's words for data that cannot load ("Load into table",
// "stl_load_errors", "sys_load_error_detail", S3ServiceException, NoSuchKey, gzip) make a data
// failure without a file; anything else (syntax, privileges) is not about the data.
LoadError load_error_from_message(Error error, std::string_view server_message,
                                  std::span<const core::ObjectLocation> files);

} // namespace rsi::warehouse::redshift
