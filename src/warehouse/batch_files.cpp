#include "warehouse/batch_files.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "common/utf8.hpp"
#include "objectstore/object_source.hpp"

namespace rsi::warehouse {

FileLocator locate_in_bucket_folders(objectstore::ObjectStore& store) {
  return [&store](const core::ObjectLocation& location) -> Result<ObjectRef> {
    return ObjectRef{&store, fmt::format("{}/{}", location.bucket, location.key)};
  };
}

FileLocator locate_in_bucket(objectstore::ObjectStore& store, std::string bucket) {
  return [&store,
          bucket = std::move(bucket)](const core::ObjectLocation& location) -> Result<ObjectRef> {
    if (location.bucket != bucket) {
      return fail(ErrorKind::permanent,
                  fmt::format("s3://{}/{}: no object store is configured for bucket {}",
                              location.bucket, location.key, location.bucket));
    }
    return ObjectRef{&store, location.key};
  };
}

namespace {

FileFaultKind fault_kind(tsv::ReadFault fault) {
  switch (fault) {
  case tsv::ReadFault::corrupt_gzip:
    return FileFaultKind::corrupt_gzip;
  case tsv::ReadFault::truncated_gzip:
    return FileFaultKind::truncated_gzip;
  case tsv::ReadFault::record_too_long:
    return FileFaultKind::record_too_long;
  case tsv::ReadFault::bad_record:
    return FileFaultKind::bad_record;
  case tsv::ReadFault::bad_value:
    return FileFaultKind::bad_value;
  case tsv::ReadFault::invalid_characters:
    return FileFaultKind::invalid_characters;
  case tsv::ReadFault::source:
    break;
  }
  return FileFaultKind::rejected;
}

// File `index` at fault where `failure` was met.
FileFault fault_at(std::size_t index, FileFaultKind kind, const tsv::ReadFailure& failure) {
  return {.file = index,
          .kind = kind,
          .line = failure.line,
          .column = static_cast<std::uint32_t>(failure.column)};
}

// The failure of reading file `index`: a data failure when the file itself is at fault.
LoadError read_error(Error error, std::size_t index, const tsv::Reader* reader,
                     const objectstore::ObjectSource& source) {
  if (source.object_missing()) {
    return {std::move(error), FileFault{.file = index, .kind = FileFaultKind::missing_object}};
  }
  if (reader == nullptr || !reader->failure() ||
      reader->failure()->fault == tsv::ReadFault::source) {
    return error; // The download failed: transient, or a store error about more than this file.
  }
  const tsv::ReadFailure& failure = *reader->failure();
  return {std::move(error), fault_at(index, fault_kind(failure.fault), failure)};
}

// `text` as a warehouse can keep it: cut to k_rejected_text_bytes, invalid UTF-8 and NUL
// bytes replaced by '?'.
std::string storable(std::string_view text) {
  std::string out = replace_invalid_utf8(text.substr(0, k_rejected_text_bytes));
  std::ranges::replace(out, '\0', '?');
  return out;
}

// The row the reader just rejected in file `index`.
RejectedRow rejected_row(std::size_t index, std::string_view url, const tsv::Reader& reader,
                         const Error& error) {
  const tsv::ReadFailure& failure = *reader.failure();
  return {.file = index,
          .file_url = storable(url),
          .line = failure.line,
          .column = failure.column > 0 ? reader.columns()[failure.column - 1].name : "",
          .raw_text = storable(reader.failed_record_text()),
          .reason = storable(error.message)};
}

} // namespace

LoadOutcome<tsv::LoadCounts>
read_batch(std::span<const core::ObjectLocation> files, const FileLocator& locate,
           const std::vector<tsv::Column>& columns,
           const std::function<Result<void>(std::span<const tsv::Field>)>& on_row,
           BatchReadOptions options, const BadRowLimit& bad_rows) {
  // Every file is located before the first byte is read, so a file no store serves costs no
  // download. Errors name a file by its URL.
  std::vector<ObjectRef> refs;
  std::vector<std::string> urls;
  refs.reserve(files.size());
  urls.reserve(files.size());
  for (std::size_t index = 0; index < files.size(); ++index) {
    auto ref = locate(files[index]);
    if (ref) {
      if (auto valid = ref->store->check_key(ref->key); !valid) {
        ref = fail(valid.error().wrap(core::s3_url(files[index])));
      }
    }
    if (!ref) {
      return std::unexpected(LoadError(
          std::move(ref.error()), FileFault{.file = index, .kind = FileFaultKind::refused_object}));
    }
    refs.push_back(std::move(*ref));
    urls.push_back(core::s3_url(files[index]));
  }
  const auto open = [&](std::size_t index) -> std::unique_ptr<objectstore::ObjectSource> {
    if (index >= refs.size()) {
      return nullptr;
    }
    return objectstore::open_object_source(*refs[index].store, refs[index].key, urls[index],
                                           options.max_buffered_bytes);
  };

  tsv::LoadCounts counts;
  std::uint32_t rejected = 0;
  std::unique_ptr<objectstore::ObjectSource> current = open(0);
  std::unique_ptr<objectstore::ObjectSource> next = open(1);
  // One reader for the batch: each next file reuses its buffers and decompressor.
  std::optional<tsv::Reader> reader;
  for (std::size_t index = 0; index < refs.size(); ++index) {
    if (reader) {
      reader->reopen(*current, urls[index]);
    } else {
      auto opened = tsv::Reader::open(
          *current, columns,
          {.name = urls[index], .keep_failed_record_text = bad_rows.max_bad_rows > 0});
      if (!opened) {
        return std::unexpected(LoadError(std::move(opened.error())));
      }
      reader.emplace(std::move(*opened));
    }
    while (true) {
      auto more = reader->next();
      if (!more) {
        const auto& failure = reader->failure();
        if (bad_rows.max_bad_rows == 0 || !failure || !tsv::is_row_fault(failure->fault)) {
          return std::unexpected(read_error(std::move(more.error()), index, &*reader, *current));
        }
        if (rejected == bad_rows.max_bad_rows) {
          return std::unexpected(LoadError(
              Error{ErrorKind::permanent,
                    fmt::format("too many bad rows: {} rejected (max_bad_rows {}), then {}",
                                rejected, bad_rows.max_bad_rows, more.error().message)},
              fault_at(index, FileFaultKind::too_many_bad_rows, *failure)));
        }
        ++rejected;
        if (bad_rows.on_rejected) {
          RSI_TRY(bad_rows.on_rejected(rejected_row(index, urls[index], *reader, more.error())));
        }
        continue;
      }
      if (!*more) {
        break;
      }
      RSI_TRY(on_row(reader->row()));
    }
    counts += reader->counts();
    current = std::move(next);
    next = open(index + 2);
  }
  return counts;
}

std::string_view to_string(FileFaultKind kind) {
  switch (kind) {
  case FileFaultKind::missing_object:
    return "missing_object";
  case FileFaultKind::refused_object:
    return "refused_object";
  case FileFaultKind::corrupt_gzip:
    return "corrupt_gzip";
  case FileFaultKind::truncated_gzip:
    return "truncated_gzip";
  case FileFaultKind::record_too_long:
    return "record_too_long";
  case FileFaultKind::bad_record:
    return "bad_record";
  case FileFaultKind::bad_value:
    return "bad_value";
  case FileFaultKind::invalid_characters:
    return "invalid_characters";
  case FileFaultKind::too_many_bad_rows:
    return "too_many_bad_rows";
  case FileFaultKind::rejected:
    return "rejected";
  }
  return "unknown";
}

} // namespace rsi::warehouse
