#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_source.hpp"
#include "common/error.hpp"
#include "core/file_pointer.hpp"
#include "objectstore/object_store.hpp"
#include "tsv/column.hpp"
#include "tsv/field.hpp"
#include "tsv/reader.hpp"
#include "warehouse/warehouse.hpp"

namespace rsi::warehouse {

// An object in a store: where a batch file is read from.
struct ObjectRef {
  objectstore::ObjectStore* store = nullptr;
  std::string key;
};

// Finds the object of a batch file. Fails permanent for a bucket it does not serve.
using FileLocator = std::function<Result<ObjectRef>(const core::ObjectLocation&)>;

// Key "bucket/key" in `store`: a store whose root holds one folder per bucket (the embedded
// default, file:///data/objects). `store` must outlive the locator.
FileLocator locate_in_bucket_folders(objectstore::ObjectStore& store);

// Key "key" in `store` for files of `bucket` (an S3 store of that bucket); other buckets fail.
FileLocator locate_in_bucket(objectstore::ObjectStore& store, std::string bucket);

struct BatchReadOptions {
  std::size_t max_buffered_bytes = 4U << 20U; // Per download; the next file is fetched early.
};

// The longest text a RejectedRow holds in each of raw_text, reason and file_url (bytes).
inline constexpr std::size_t k_rejected_text_bytes = 1024;

// A row that read_batch skipped under its bad-row limit, ready to be kept in the warehouse:
// every text is valid UTF-8 without NUL bytes (other bytes replaced by '?'), at most
// k_rejected_text_bytes long.
struct RejectedRow {
  std::size_t file = 0;   // Index into the batch's files.
  std::string file_url;   // "s3://bucket/key".
  std::uint64_t line = 0; // 1-based line on which the record starts.
  std::string column;     // The column at fault; empty when the fault is not about one value.
  std::string raw_text;   // The record as in the file (before unescaping), cut.
  std::string reason;     // Why COPY rejects it: the reader's message, naming file and line.
};

// How many bad rows a batch may hold (Redshift's MAXERROR), and where they go.
struct BadRowLimit {
  std::uint32_t max_bad_rows = 0; // Rows skipped in the whole batch before it fails; 0: none.
  std::function<Result<void>(RejectedRow)> on_rejected; // Called with each row skipped.
};

// Reads the files of a batch in order with the COPY rules (tsv::Reader) for a table of
// `columns`, calling `on_row` with each row. The next file's download starts while the
// current one is read. Stops at the first error, which names the file (and for bad data its
// line and column). A file that cannot load as it is (missing, a key the store refuses, bad
// gzip, a record or value COPY rejects) is a data failure with its FileFault; a failing
// download keeps its own kind; errors of `on_row` and `bad_rows.on_rejected` pass through
// unchanged. Returns the summed counts.
//
// A record or value COPY rejects (tsv::is_row_fault) is skipped and handed to
// `bad_rows.on_rejected`, up to `bad_rows.max_bad_rows` in the whole batch; the next one fails
// the batch as a data failure of its file with FileFaultKind::too_many_bad_rows (its line and
// column). Other faults (gzip, a record too long, a missing object) are never skipped. With a
// limit of 0 the first bad row fails the batch with its own kind.
[[nodiscard]] LoadOutcome<tsv::LoadCounts>
read_batch(std::span<const core::ObjectLocation> files, const FileLocator& locate,
           const std::vector<tsv::Column>& columns,
           const std::function<Result<void>(std::span<const tsv::Field>)>& on_row,
           BatchReadOptions options = {}, const BadRowLimit& bad_rows = {});

} // namespace rsi::warehouse
