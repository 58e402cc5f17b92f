// Throughput of reading a Spade file for a warehouse that loads it itself (PostgreSQL,
// SQLite): ISA-L inflate alone (the baseline, with zlib's inflate beside it for scale), then
// inflate + COPY-rule parsing + PostgreSQL COPY text output, and parsing alone on
// uncompressed input. The input is generated: about 64 MiB of Spade-like TSV, 24 mixed-type
// columns, every field double-quoted as Spade writes them, with Go-escaped NULs, escaped quotes
// and tabs, empty fields, long values to truncate and a few invalid UTF-8 bytes.
// Rates are per CPU second (single-threaded code on a shared machine): MB/s of uncompressed
// data and rows/s.

#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <zlib.h>

#include "spade_generator.hpp"
#include "tsv/gzip_source.hpp"
#include "tsv/reader.hpp"
#include "warehouse/pg_copy_binary.hpp"
#include "warehouse/pg_copy_text.hpp"

namespace rsi::tsv {
namespace {

constexpr std::size_t k_target_bytes = 64U << 20U;
constexpr std::size_t k_read_bytes = 1U << 20U;
constexpr std::size_t k_copy_batch_bytes = 1U << 20U; // What a writer would send per CopyData.

// Serves a buffer owned by someone else.
class ViewSource final : public ByteSource {
public:
  explicit ViewSource(std::string_view bytes) : m_bytes(bytes) {}

  // ByteSource
  Result<std::size_t> read(std::span<char> buffer) override {
    const std::size_t count = std::min(buffer.size(), m_bytes.size());
    std::copy_n(m_bytes.data(), count, buffer.data());
    m_bytes.remove_prefix(count);
    return count;
  }

private:
  std::string_view m_bytes;
};

std::vector<Column> columns_or_die() {
  auto columns = bench::bench_columns();
  if (!columns) {
    throw std::runtime_error(columns.error().message);
  }
  return std::move(*columns);
}

struct Corpus {
  std::string text;
  std::string gzip;
  std::uint64_t rows = 0;
};

// gzip level 1, as bench/warehouse's files.
std::string gzip(const std::string& data) {
  z_stream stream{};
  if (deflateInit2(&stream, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out(deflateBound(&stream, static_cast<uLong>(data.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) {
    throw std::runtime_error("deflate failed");
  }
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

const Corpus& corpus() {
  static const Corpus built = [] {
    Corpus result;
    result.text = bench::spade_text(k_target_bytes, 0x5eed, result.rows);
    result.gzip = gzip(result.text);
    return result;
  }();
  return built;
}

void report(benchmark::State& state, std::uint64_t rows, std::uint64_t bytes) {
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.counters["rows_per_second"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
  state.counters["uncompressed_MiB"] =
      static_cast<double>(corpus().text.size()) / static_cast<double>(1U << 20U);
  state.counters["gzip_ratio"] =
      static_cast<double>(corpus().text.size()) / static_cast<double>(corpus().gzip.size());
}

// Baseline: ISA-L inflate into a 1 MiB buffer, nothing else.
void BM_InflateIsal(benchmark::State& state) {
  const Corpus& input = corpus();
  std::vector<char> buffer(k_read_bytes);
  std::uint64_t bytes = 0;
  std::uint64_t rows = 0;
  for (auto _ : state) {
    ViewSource compressed(input.gzip);
    auto source = make_gzip_source(compressed, "bench.gz");
    while (true) {
      const auto got = source->read(buffer);
      if (!got) {
        state.SkipWithError(got.error().message.c_str());
        return;
      }
      if (*got == 0) {
        break;
      }
      bytes += *got;
      benchmark::DoNotOptimize(buffer.data());
    }
    rows += input.rows;
  }
  report(state, rows, bytes);
}

// For scale: zlib's inflate on the same stream.
void BM_InflateZlib(benchmark::State& state) {
  const Corpus& input = corpus();
  std::vector<char> buffer(k_read_bytes);
  std::uint64_t bytes = 0;
  std::uint64_t rows = 0;
  for (auto _ : state) {
    z_stream stream{};
    inflateInit2(&stream, 15 + 16);
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.gzip.data()));
    stream.avail_in = static_cast<uInt>(input.gzip.size());
    int rc = Z_OK;
    while (rc == Z_OK) {
      stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
      stream.avail_out = static_cast<uInt>(buffer.size());
      rc = inflate(&stream, Z_NO_FLUSH);
      bytes += buffer.size() - stream.avail_out;
      benchmark::DoNotOptimize(buffer.data());
    }
    inflateEnd(&stream);
    if (rc != Z_STREAM_END) {
      state.SkipWithError("zlib inflate failed");
      return;
    }
    rows += input.rows;
  }
  report(state, rows, bytes);
}

enum class Output { none, pg_text, pg_binary };

// Reads every row with `compression` and writes it as `output` into a buffer handed on (and
// emptied) every k_copy_batch_bytes, as a COPY writer does.
void read_rows(benchmark::State& state, std::string_view bytes_in, Compression compression,
               Output output) {
  const Corpus& input = corpus();
  const std::vector<Column> columns = columns_or_die();
  std::string copy_data;
  copy_data.reserve(k_copy_batch_bytes + (64U << 10U));
  std::uint64_t rows = 0;
  for (auto _ : state) {
    ViewSource source(bytes_in);
    auto reader = Reader::open(source, columns, {.name = "bench", .compression = compression});
    if (!reader) {
      state.SkipWithError(reader.error().message.c_str());
      return;
    }
    while (true) {
      const auto more = reader->next();
      if (!more) {
        state.SkipWithError(more.error().message.c_str());
        return;
      }
      if (!*more) {
        break;
      }
      switch (output) {
      case Output::none:
        benchmark::DoNotOptimize(reader->row().data());
        break;
      case Output::pg_text:
        warehouse::append_pg_copy_row(copy_data, reader->row(), columns);
        break;
      case Output::pg_binary:
        warehouse::append_pg_binary_row(copy_data, reader->row(), columns);
        break;
      }
      if (copy_data.size() >= k_copy_batch_bytes) {
        benchmark::DoNotOptimize(copy_data.data());
        copy_data.clear();
      }
    }
    rows += reader->counts().rows;
  }
  report(state, rows, rows / input.rows * input.text.size());
}

void BM_InflateParsePgText(benchmark::State& state) {
  read_rows(state, corpus().gzip, Compression::gzip, Output::pg_text);
}

void BM_ParsePgTextUncompressed(benchmark::State& state) {
  read_rows(state, corpus().text, Compression::none, Output::pg_text);
}

void BM_InflateParsePgBinary(benchmark::State& state) {
  read_rows(state, corpus().gzip, Compression::gzip, Output::pg_binary);
}

void BM_ParsePgBinaryUncompressed(benchmark::State& state) {
  read_rows(state, corpus().text, Compression::none, Output::pg_binary);
}

void BM_ParseUncompressed(benchmark::State& state) {
  read_rows(state, corpus().text, Compression::none, Output::none);
}

BENCHMARK(BM_InflateIsal)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_InflateZlib)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_InflateParsePgText)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParsePgTextUncompressed)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_InflateParsePgBinary)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParsePgBinaryUncompressed)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseUncompressed)->Unit(benchmark::kMillisecond);

} // namespace
} // namespace rsi::tsv

BENCHMARK_MAIN();
