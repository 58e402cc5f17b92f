#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "common/error.hpp"

namespace rsi {

// A pull-style stream of bytes: a local file, a buffer, an object-store download or a
// decompressor stacked on another source. Not thread-safe.
class ByteSource {
public:
  virtual ~ByteSource() = default;

  // Copy up to `buffer.size()` (> 0) next bytes into `buffer` and return how many were copied;
  // 0 means the end of the stream (and only then). The error kind comes from the underlying medium
  // (a dropped connection is transient, corrupt data permanent); a failed source is not read
  // again.
  [[nodiscard]] virtual Result<std::size_t> read(std::span<char> buffer) = 0;
};

// The bytes of the file at `path`. Fails with ErrorKind::permanent when it cannot be opened.
[[nodiscard]] Result<std::unique_ptr<ByteSource>>
open_file_source(const std::filesystem::path& path);

// The bytes of `bytes`, which the source owns.
std::unique_ptr<ByteSource> make_memory_source(std::string bytes);

} // namespace rsi
