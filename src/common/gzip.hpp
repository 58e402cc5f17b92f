#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace rsi {

// True when `bytes` start with the gzip magic number.
bool looks_gzipped(std::string_view bytes);

// Decompress a small gzip document (concatenated members allowed) held in memory, such as a
// configuration object. Refuses to grow past `max_bytes`. Fails `permanent` on corrupt or
// truncated input. Large files are streamed by tsv/ instead.
Result<std::string> gunzip(std::string_view compressed, std::size_t max_bytes = 256U << 20U);

// Compress `bytes` as one gzip member (tests and producers of small documents).
Result<std::string> gzip(std::string_view bytes);

} // namespace rsi
