#pragma once

#include <cstddef>
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

// Reads the files of a batch in order with the COPY rules (tsv::Reader) for a table of
// `columns`, calling `on_row` with each row. The next file's download starts while the
// current one is read. Stops at the first error, which names the file (and for bad data its
// line and column). A file that cannot load as it is (missing, a key the store refuses, bad
// gzip, a record or value COPY rejects) is a data failure with its FileFault; a failing
// download keeps its own kind; errors of `on_row` pass through unchanged. Returns the summed
// counts.
[[nodiscard]] LoadOutcome<tsv::LoadCounts>
read_batch(std::span<const core::ObjectLocation> files, const FileLocator& locate,
           const std::vector<tsv::Column>& columns,
           const std::function<Result<void>(std::span<const tsv::Field>)>& on_row,
           BatchReadOptions options = {});

} // namespace rsi::warehouse
