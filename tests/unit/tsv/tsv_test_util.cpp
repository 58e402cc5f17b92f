#include "tsv_test_util.hpp"

#include <stdexcept>

#include <zlib.h>

namespace rsi::tsv::test {

std::string gzip(std::string_view data, int level) {
  z_stream stream{};
  constexpr int k_gzip_window_bits = 15 + 16; // 16: gzip wrapper instead of zlib's.
  if (deflateInit2(&stream, level, Z_DEFLATED, k_gzip_window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out(deflateBound(&stream, static_cast<uLong>(data.size())), '\0');
  // zlib's API is not const-correct; it does not write to the input.
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&stream, Z_FINISH);
  deflateEnd(&stream);
  if (rc != Z_STREAM_END) {
    throw std::runtime_error("deflate failed");
  }
  out.resize(stream.total_out);
  return out;
}

} // namespace rsi::tsv::test
