#pragma once

#include <filesystem>
#include <memory>

#include "common/error.hpp"
#include "objectstore/object_store.hpp"

namespace rsi::objectstore {

// Objects as files under `root`: key "a/b/c.gz" is the file root/a/b/c.gz. Unlike S3, a key
// cannot be both an object and a "directory" of other keys ("a" and "a/b"): the second put
// fails permanent.
struct LocalConfig {
  std::filesystem::path root;
  bool create_root = true; // Create `root` (and its parents) when missing.
};

// Fails permanent when `root` is missing (and not to be created) or is not a directory.
[[nodiscard]] Result<std::unique_ptr<ObjectStore>>
make_local_object_store(const LocalConfig& config);

} // namespace rsi::objectstore
