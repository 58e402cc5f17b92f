#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "common/byte_source.hpp"
#include "objectstore/object_store.hpp"

namespace rsi::objectstore {

// The bytes of an object, as a ByteSource that can also say whether a failed read met no object.
class ObjectSource : public ByteSource {
public:
  // True once a read failed because the object does not exist ("s3://b/k: no such object").
  [[nodiscard]] virtual bool object_missing() const = 0;
};

// The bytes of object `key` of `store`, downloaded by a thread of its own while the caller reads
// (so the download overlaps parsing), with at most `max_buffered_bytes` waiting in memory.
// `name` (the file's URL) goes into errors: "s3://b/k: no such object" (permanent). Destroying
// the source stops the download. `store` must outlive it.
std::unique_ptr<ObjectSource> open_object_source(ObjectStore& store, std::string key,
                                                 std::string name,
                                                 std::size_t max_buffered_bytes = 4U << 20U);

} // namespace rsi::objectstore
