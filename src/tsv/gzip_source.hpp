#pragma once

#include <memory>
#include <string>

#include "common/byte_source.hpp"

namespace rsi::tsv {

// Why a gzip stream failed.
enum class GzipFault {
  none,      // It has not failed.
  source,    // Reading the compressed bytes failed: that error passed through.
  truncated, // The data ended inside a member (or there was none).
  corrupt,   // Not gzip, corrupt deflate data, a CRC-32 or length mismatch.
};

class GzipSource : public ByteSource {
public:
  [[nodiscard]] virtual GzipFault fault() const = 0;
  // Starts over on another stream, keeping the decompressor's state and input buffer (a batch
  // of files read one after another allocates them once). `compressed` must outlive this.
  virtual void restart(ByteSource& compressed, std::string name) = 0;
};

// The decompressed bytes of the gzip stream read from `compressed`, member after member (a
// file of concatenated gzip members reads as their concatenation, as with gzip -d). Every
// member's CRC-32 and length are checked. Memory use is fixed (about 300 KiB) whatever the
// size of the stream. `name` identifies the stream in errors, which are ErrorKind::permanent
// for bad data: "read <name>: unexpected end of gzip stream" (truncated or empty input),
// "...: gzip member 2: CRC-32 or length mismatch", "...: data after gzip member 1 is not
// gzip"; errors of `compressed` pass through. fault() tells these apart. `compressed` must
// outlive the returned source.
std::unique_ptr<GzipSource> make_gzip_source(ByteSource& compressed, std::string name);

} // namespace rsi::tsv
