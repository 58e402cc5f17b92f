#pragma once

#include <algorithm>
#include <cstddef>
#include <ostream>
#include <span>
#include <string>
#include <string_view>

#include "common/byte_source.hpp"
#include "tsv/reader.hpp"

namespace rsi::tsv {

// Readable LoadCounts in GoogleTest failures.
inline void PrintTo(const LoadCounts& counts, std::ostream* out) {
  *out << "{rows=" << counts.rows << " truncated_values=" << counts.truncated_values
       << " replaced_characters=" << counts.replaced_characters
       << " rows_with_replacements=" << counts.rows_with_replacements << " bytes=" << counts.bytes
       << "}";
}

} // namespace rsi::tsv

namespace rsi::tsv::test {

// `data` as one gzip member (zlib's deflate with a gzip wrapper).
std::string gzip(std::string_view data, int level = 6);

// Hands out `bytes` at most `chunk` bytes per read, so readers must cope with short reads.
class TrickleSource final : public ByteSource {
public:
  TrickleSource(std::string bytes, std::size_t chunk) : m_bytes(std::move(bytes)), m_chunk(chunk) {}

  // ByteSource
  Result<std::size_t> read(std::span<char> buffer) override {
    const std::size_t count = std::min({buffer.size(), m_chunk, m_bytes.size() - m_offset});
    std::copy_n(m_bytes.data() + m_offset, count, buffer.data());
    m_offset += count;
    return count;
  }

private:
  std::string m_bytes;
  std::size_t m_chunk;
  std::size_t m_offset = 0;
};

} // namespace rsi::tsv::test
