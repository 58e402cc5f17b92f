#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "core/operation.hpp"
#include "tsv/column.hpp"

namespace rsi::bench {

// Blueprint's steps for the benchmark table: 24 columns of every type a Spade table uses
// (timestamps, booleans, smallint/int/bigint, float/real, decimal, date, varchars of several
// widths, the ip transformers).
std::vector<core::Operation> bench_table_operations();

// The same table as a local registry's schema file (`schemas/<table>/v<N>.json`).
std::string bench_schema_json();

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

// About `bytes` of the same Spade TSV in memory, uncompressed (whole rows, seeded by `seed`);
// `rows` is set to how many.
std::string spade_text(std::uint64_t bytes, std::uint64_t seed, std::uint64_t& rows);

// The reader's columns for the table of bench_table_operations().
Result<std::vector<tsv::Column>> bench_columns();

// The psql baselines' input: `gzip`'s rows converted by our COPY rules to PostgreSQL's text
// format, uncompressed, as `dir`/<stem>.txt. Converted once (kept while newer than `gzip`);
// the conversion is not part of any measurement.
Result<std::filesystem::path> convert_to_copy_text(const std::filesystem::path& gzip,
                                                   const std::filesystem::path& dir);

} // namespace rsi::bench
