#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/operation.hpp"

namespace rsi::bench {

// Blueprint's steps for the benchmark table: 24 columns of every type a Spade table uses
// (timestamps, booleans, smallint/int/bigint, float/real, decimal, date, varchars of several
// widths, the ip transformers).
std::vector<core::Operation> bench_table_operations();

struct GeneratedFile {
  std::filesystem::path path;
  std::uint64_t uncompressed_bytes = 0;
  std::uint64_t rows = 0;
};

// Writes `count` gzip files of about `bytes_per_file` uncompressed Spade TSV each into `dir`
// ("part-00.gz", ...), for the table of bench_table_operations(): every field double-quoted as
// Spade writes them, with Go-escaped NULs (\x00), escaped quotes, empty fields, values longer than
// their column and the odd invalid UTF-8 byte. Deterministic (fixed seed); files already there
// with the right size are kept. gzip level 1, streamed (memory does not grow with the size).
std::vector<GeneratedFile> generate_spade_files(const std::filesystem::path& dir, int count,
                                                std::uint64_t bytes_per_file);

} // namespace rsi::bench
