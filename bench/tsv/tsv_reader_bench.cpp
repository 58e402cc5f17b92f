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

#include "tsv/gzip_source.hpp"
#include "tsv/reader.hpp"
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

std::vector<Column> bench_columns() {
  return {
      {"time", ColumnType::of(TypeKind::timestamp)},
      {"time_utc", ColumnType::of(TypeKind::timestamp)},
      {"adblock", ColumnType::of(TypeKind::boolean)},
      {"browser", ColumnType::varchar(128)},
      {"buffer_empty_count", ColumnType::of(TypeKind::bigint)},
      {"channel", ColumnType::varchar(25)},
      {"channel_id", ColumnType::of(TypeKind::bigint)},
      {"content_mode", ColumnType::varchar(16)},
      {"current_bitrate", ColumnType::of(TypeKind::double_precision)},
      {"device_id", ColumnType::varchar(32)},
      {"game", ColumnType::varchar(64)},
      {"live", ColumnType::of(TypeKind::boolean)},
      {"logged_in", ColumnType::of(TypeKind::boolean)},
      {"ip", ColumnType::varchar(15)},
      {"platform", ColumnType::varchar(16)},
      {"buffer_seconds", ColumnType::decimal(10, 2)},
      {"vod_id", ColumnType::varchar(8)},
      {"country", ColumnType::character(2)},
      {"minutes_logged", ColumnType::of(TypeKind::integer)},
      {"session_date", ColumnType::of(TypeKind::date)},
      {"volume", ColumnType::of(TypeKind::real)},
      {"retries", ColumnType::of(TypeKind::smallint)},
      {"url", ColumnType::varchar(256)},
      {"subscriber", ColumnType::of(TypeKind::boolean)},
  };
}

struct Corpus {
  std::string text;
  std::string gzip;
  std::uint64_t rows = 0;
};

std::string gzip(const std::string& data) {
  z_stream stream{};
  if (deflateInit2(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
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
    const std::vector<std::string> browsers = {
        "5.0 (Windows NT 6.3; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/50.0.2661.102 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 4.2.2; SGH-T399 Build/JDQ39) AppleWebKit/537.36 (KHTML, "
        "like Gecko) Chrome/34.0.1847.114 Mobile Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 9_3_2 like Mac OS X) AppleWebKit/601.1.46 (KHTML, "
        "like Gecko) Mobile/13F69 Twitter for iPhone",
        "", "curl/7.50.1"};
    const std::vector<std::string> games = {"Who Wants To Be A Millionaire?",
                                            "Indiana Jones and the Emperor's Tomb",
                                            "Chronicle: RuneScape Legends",
                                            "Caf\xc3\xa9 \\\"Noir\\\"",
                                            "Bad \xff byte",
                                            ""};
    std::mt19937_64 random(42);
    Corpus result;
    std::string& text = result.text;
    text.reserve(k_target_bytes + 4096);
    while (text.size() < k_target_bytes) {
      const auto pick = [&](std::uint64_t count) { return random() % count; };
      const std::uint64_t second = pick(60);
      const std::string time =
          "2017-01-30 16:26:" + std::string(second < 10 ? "0" : "") + std::to_string(second);
      std::string device_id;
      if (pick(10) == 0) {
        device_id = "\\x00\\x00\\x00\\x00\\x00";
      } else {
        for (int digit = 0; digit < 32; ++digit) {
          device_id.push_back("0123456789abcdef"[pick(16)]);
        }
      }
      const std::vector<std::string> fields = {
          time,
          time + "." + std::to_string(pick(1000000)),
          pick(8) == 0 ? "" : (pick(2) == 0 ? "true" : "false"),
          browsers[pick(browsers.size())],
          std::to_string(pick(600)),
          "channel_" + std::to_string(pick(100000)),
          std::to_string(20000000 + pick(80000000)),
          pick(3) == 0 ? "vod" : "live",
          std::to_string(pick(5000)) + "." + std::to_string(pick(100000)),
          device_id,
          games[pick(games.size())],
          pick(2) == 0 ? "true" : "false",
          pick(2) == 0 ? "t" : "",
          "10.192." + std::to_string(pick(256)) + "." + std::to_string(pick(256)),
          pick(2) == 0 ? "xboxone" : "web",
          std::to_string(pick(40)) + "." + std::to_string(pick(1000)),
          pick(9) == 0 ? "v1234" : "",
          pick(2) == 0 ? "US" : "",
          std::to_string(pick(100000)),
          "2017-01-" + std::to_string(10 + pick(19)),
          "0." + std::to_string(pick(1000)),
          std::to_string(pick(10)),
          "https://www.twitch.tv/videos/" + std::to_string(pick(100000000)) + "?t=1h2m\\\t3s",
          pick(2) == 0 ? "1" : "0",
      };
      for (std::size_t index = 0; index < fields.size(); ++index) {
        text += index == 0 ? "\"" : "\t\"";
        text += fields[index];
        text += '"';
      }
      text += '\n';
      ++result.rows;
    }
    result.gzip = gzip(text);
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

// Reads every row with `compression` and writes it as PostgreSQL COPY text.
void read_to_pg_text(benchmark::State& state, std::string_view bytes_in, Compression compression) {
  const Corpus& input = corpus();
  const std::vector<Column> columns = bench_columns();
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
      warehouse::append_pg_copy_row(copy_data, reader->row());
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
  read_to_pg_text(state, corpus().gzip, Compression::gzip);
}

void BM_ParsePgTextUncompressed(benchmark::State& state) {
  read_to_pg_text(state, corpus().text, Compression::none);
}

BENCHMARK(BM_InflateIsal)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_InflateZlib)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_InflateParsePgText)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParsePgTextUncompressed)->Unit(benchmark::kMillisecond);

} // namespace
} // namespace rsi::tsv

BENCHMARK_MAIN();
