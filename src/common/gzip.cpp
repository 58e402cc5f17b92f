#include "common/gzip.hpp"

#include <fmt/format.h>
#include <zlib.h>

namespace rsi {

bool looks_gzipped(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

Result<std::string> gunzip(std::string_view compressed, std::size_t max_bytes) {
  std::string out;
  z_stream stream{};
  // 16 + MAX_WBITS: gzip wrapper only.
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) {
    return fail(ErrorKind::transient, "gunzip: zlib initialisation failed");
  }
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  char buffer[64 * 1024];
  int rc = Z_OK;
  while (true) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof(buffer);
    rc = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - stream.avail_out);
    if (out.size() > max_bytes) {
      inflateEnd(&stream);
      return fail(ErrorKind::permanent, fmt::format("gunzip: more than {} bytes", max_bytes));
    }
    if (rc == Z_STREAM_END) {
      if (stream.avail_in == 0) {
        break;
      }
      inflateReset(&stream); // Another member follows.
      continue;
    }
    if (rc != Z_OK) {
      const std::string reason =
          rc == Z_BUF_ERROR ? "truncated input" : (stream.msg ? stream.msg : "corrupt input");
      inflateEnd(&stream);
      return fail(ErrorKind::permanent, fmt::format("gunzip: {}", reason));
    }
  }
  inflateEnd(&stream);
  return out;
}

Result<std::string> gzip(std::string_view bytes) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return fail(ErrorKind::transient, "gzip: zlib initialisation failed");
  }
  std::string out(deflateBound(&stream, static_cast<uLong>(bytes.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (rc != Z_STREAM_END) {
    return fail(ErrorKind::permanent, "gzip: compression failed");
  }
  return out;
}

} // namespace rsi
