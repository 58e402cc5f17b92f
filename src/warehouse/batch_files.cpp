#include "warehouse/batch_files.hpp"

#include <utility>

#include <fmt/format.h>

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

Result<tsv::LoadCounts>
read_batch(std::span<const core::ObjectLocation> files, const FileLocator& locate,
           const std::vector<tsv::Column>& columns,
           const std::function<Result<void>(std::span<const tsv::Field>)>& on_row,
           BatchReadOptions options) {
  // Every file is located before the first byte is read, so a file no store serves costs no
  // download. Errors name a file by its URL.
  std::vector<ObjectRef> refs;
  std::vector<std::string> urls;
  refs.reserve(files.size());
  urls.reserve(files.size());
  for (const auto& location : files) {
    RSI_TRY_ASSIGN(ObjectRef ref, locate(location));
    refs.push_back(std::move(ref));
    urls.push_back(core::s3_url(location));
  }
  const auto open = [&](std::size_t index) -> std::unique_ptr<ByteSource> {
    if (index >= refs.size()) {
      return nullptr;
    }
    return objectstore::open_object_source(*refs[index].store, refs[index].key, urls[index],
                                           options.max_buffered_bytes);
  };

  tsv::LoadCounts counts;
  std::unique_ptr<ByteSource> current = open(0);
  std::unique_ptr<ByteSource> next = open(1);
  for (std::size_t index = 0; index < refs.size(); ++index) {
    {
      RSI_TRY_ASSIGN(auto reader, tsv::Reader::open(*current, columns, {.name = urls[index]}));
      while (true) {
        RSI_TRY_ASSIGN(const bool more, reader.next());
        if (!more) {
          break;
        }
        RSI_TRY(on_row(reader.row()));
      }
      counts += reader.counts();
    }
    current = std::move(next);
    next = open(index + 2);
  }
  return counts;
}

} // namespace rsi::warehouse
