#include "spade_generator.hpp"

#include <array>
#include <cstdio>
#include <fstream>
#include <random>
#include <stdexcept>

#include <fmt/format.h>
#include <zlib.h>

#include "common/byte_source.hpp"
#include "tsv/reader.hpp"
#include "warehouse/ddl.hpp"
#include "warehouse/pg_copy_text.hpp"

namespace rsi::bench {
namespace {

core::Operation add(std::string name, std::string type, std::string options = "") {
  return {.action = core::Action::add,
          .name = name,
          .version = 0,
          .inbound = std::move(name),
          .column_type = std::move(type),
          .column_options = std::move(options)};
}

constexpr std::array<std::string_view, 5> k_browsers = {
    "5.0 (Windows NT 6.3; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/50.0.2661.102 "
    "Safari/537.36",
    "5.0 (Macintosh; Intel Mac OS X 10_11_4) AppleWebKit/601.5.17 (KHTML, like Gecko) Version/9.1 "
    "Safari/601.5.17",
    "5.0 (X11; Linux x86_64; rv:45.0) Gecko/20100101 Firefox/45.0",
    "5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.79 "
    "Safari/537.36 "
    "Edge/14.14393 with a very long tail of extension identifiers that no column is wide enough "
    "for",
    "5.0 (iPhone; CPU iPhone OS 9_3_2 like Mac OS X) AppleWebKit/601.1.46 (KHTML, like Gecko) "
    "Mobile/13F69",
};
constexpr std::array<std::string_view, 6> k_channels = {
    "kazimirtv", "stiannorway", "some_streamer",
    "",          "a",           "channel_with_a_name_longer_than_twenty_five"};
constexpr std::array<std::string_view, 6> k_games = {
    "Who Wants To Be A Millionaire?", "Fallout 4",        "Tera", "The \\\"Quoted\\\" Game",
    "Caf\xc3\xa9 Simulator",          "Broken \xff Bytes"};
constexpr std::array<std::string_view, 4> k_platforms = {"xboxone", "playstation", "web", ""};
constexpr std::array<std::string_view, 4> k_modes = {"other", "live", "", "vod"};
constexpr std::array<std::string_view, 3> k_vod_types = {"highlight", "archive", ""};
constexpr std::array<std::string_view, 5> k_cities = {"Berlin", "San Francisco", "S\xc3\xa3o Paulo",
                                                      "", "Oslo"};
constexpr std::array<std::string_view, 5> k_countries = {"US", "DE", "BR", "NO", ""};

template <class Pool> std::string_view pick(const Pool& pool, std::mt19937_64& rng) {
  return pool[rng() % pool.size()];
}

void append_row(std::string& out, std::mt19937_64& rng, std::uint64_t row) {
  const auto quoted = [&](std::string_view value) {
    out.push_back('"');
    out.append(value);
    out += "\"\t";
  };
  const unsigned second = static_cast<unsigned>(row % 86400);
  const std::string time =
      fmt::format("2017-01-30 {:02}:{:02}:{:02}", second / 3600, second / 60 % 60, second % 60);
  quoted(time);
  quoted(time);
  quoted(rng() % 3 == 0 ? "true" : "false");
  quoted(pick(k_browsers, rng));
  quoted(fmt::format("{}", rng() % 200));
  quoted(pick(k_channels, rng));
  quoted(fmt::format("{}", 20000000 + rng() % 40000000));
  quoted(pick(k_modes, rng));
  quoted(fmt::format("{}.{}", rng() % 8000, rng() % 100000));
  if (rng() % 20 == 0) {
    quoted("\\x00\\x00\\x00\\x00\\x00"); // Go's escaped NULs: loaded as x00x00x00x00x00.
  } else {
    quoted(fmt::format("{:016x}{:016x}", rng(), rng()));
  }
  quoted(pick(k_games, rng));
  quoted(rng() % 2 == 0 ? "true" : "false");
  quoted(rng() % 5 == 0 ? "" : "true");
  quoted(fmt::format("10.{}.{}.{}", rng() % 256, rng() % 256, rng() % 256));
  quoted(pick(k_platforms, rng));
  quoted(fmt::format("{}.{:03}", rng() % 100, rng() % 1000)); // decimal(10,2): ROUNDEC.
  quoted(rng() % 4 == 0 ? fmt::format("v{}", rng() % 10000000) : "");
  quoted(pick(k_vod_types, rng));
  quoted(pick(k_countries, rng));
  quoted(fmt::format("{}", rng() % 10));
  quoted(fmt::format("2017-01-{:02}", 1 + rng() % 28));
  quoted(fmt::format("0.{}", rng() % 1000));
  quoted(fmt::format("{}", rng() % 2));
  quoted(pick(k_cities, rng));
  out.back() = '\n'; // The last field ends the line, not a tab.
}

class GzipWriter {
public:
  explicit GzipWriter(const std::filesystem::path& path) : m_file(std::fopen(path.c_str(), "wb")) {
    if (m_file == nullptr ||
        deflateInit2(&m_stream, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::runtime_error("cannot write " + path.string());
    }
  }
  GzipWriter(const GzipWriter&) = delete;
  GzipWriter& operator=(const GzipWriter&) = delete;
  ~GzipWriter() {
    deflateEnd(&m_stream);
    if (m_file != nullptr) {
      std::fclose(m_file);
    }
  }

  void write(std::string_view data, bool finish) {
    m_stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    m_stream.avail_in = static_cast<uInt>(data.size());
    int rc = Z_OK;
    do {
      m_stream.next_out = reinterpret_cast<Bytef*>(m_out.data());
      m_stream.avail_out = static_cast<uInt>(m_out.size());
      rc = deflate(&m_stream, finish ? Z_FINISH : Z_NO_FLUSH);
      const std::size_t produced = m_out.size() - m_stream.avail_out;
      if (std::fwrite(m_out.data(), 1, produced, m_file) != produced ||
          (finish && rc == Z_STREAM_END && std::fflush(m_file) != 0)) {
        throw std::runtime_error("cannot write a generated file (disk full?)");
      }
    } while (m_stream.avail_out == 0 || (finish && rc != Z_STREAM_END));
  }

private:
  std::FILE* m_file;
  z_stream m_stream{};
  std::array<char, 1U << 18U> m_out{};
};

} // namespace

std::vector<core::Operation> bench_table_operations() {
  return {
      add("time", "f@timestamp@unix", " sortkey"),
      add("time_utc", "f@timestamp@unix-utc"),
      add("adblock", "bool"),
      add("browser", "varchar", "(128)"),
      add("buffer_empty_count", "bigint"),
      add("channel", "varchar", "(25)"),
      add("channel_id", "bigint", " distkey"),
      add("content_mode", "varchar", "(16)"),
      add("current_bitrate", "float"),
      add("device_id", "varchar", "(32)"),
      add("game", "varchar", "(64)"),
      add("live", "bool"),
      add("logged_in", "bool"),
      add("ip", "varchar", "(15)"),
      add("platform", "varchar", "(16)"),
      add("buffer_seconds", "decimal", "(10,2)"),
      add("vod_id", "varchar", "(8)"),
      add("vod_type", "varchar", "(16)"),
      add("country", "ipCountry"),
      add("retries", "int"),
      add("session_date", "date"),
      add("volume", "real"),
      add("hidden", "smallint"),
      add("city", "ipCity"),
  };
}

std::string bench_schema_json() {
  // The steps' names, types and options are plain ASCII without quotes or backslashes.
  std::string columns;
  for (const auto& op : bench_table_operations()) {
    columns +=
        fmt::format(R"({}{{"OutboundName":"{}","Transformer":"{}","ColumnCreationOptions":"{}"}})",
                    columns.empty() ? "" : ",", op.name, op.column_type, op.column_options);
  }
  return fmt::format(R"({{"Columns":[{}]}})", columns);
}

std::vector<GeneratedFile> generate_spade_files(const std::filesystem::path& dir, int count,
                                                std::uint64_t bytes_per_file) {
  std::filesystem::create_directories(dir);
  std::vector<GeneratedFile> files;
  for (int index = 0; index < count; ++index) {
    GeneratedFile file{.path = dir / fmt::format("part-{:02}.gz", index)};
    const auto meta = std::filesystem::path(file.path.string() + ".meta");
    std::uint64_t target = 0;
    if (std::ifstream in(meta); in >> target >> file.uncompressed_bytes >> file.rows &&
                                target == bytes_per_file && std::filesystem::exists(file.path)) {
      files.push_back(file);
      continue;
    }
    // Written under a temporary name and renamed, the description last: an interrupted run
    // leaves no file whose description promises more than it holds, and a new file is a new
    // inode, never written through a hard link an earlier run made to the old one.
    const auto partial = std::filesystem::path(file.path.string() + ".partial");
    std::mt19937_64 rng(0x5eedULL + static_cast<std::uint64_t>(index));
    {
      GzipWriter writer(partial);
      std::string chunk;
      chunk.reserve((1U << 20U) + 4096);
      while (file.uncompressed_bytes < bytes_per_file) {
        append_row(chunk, rng, file.rows++);
        if (chunk.size() >= (1U << 20U)) {
          file.uncompressed_bytes += chunk.size();
          writer.write(chunk, false);
          chunk.clear();
        }
      }
      file.uncompressed_bytes += chunk.size();
      writer.write(chunk, true);
    }
    std::filesystem::remove(meta);
    std::filesystem::rename(partial, file.path);
    std::ofstream(meta) << bytes_per_file << ' ' << file.uncompressed_bytes << ' ' << file.rows
                        << '\n';
    files.push_back(file);
  }
  return files;
}

std::string spade_text(std::uint64_t bytes, std::uint64_t seed, std::uint64_t& rows) {
  std::mt19937_64 rng(seed);
  std::string text;
  text.reserve(bytes + 4096);
  rows = 0;
  while (text.size() < bytes) {
    append_row(text, rng, rows++);
  }
  return text;
}

Result<std::vector<tsv::Column>> bench_columns() {
  std::vector<tsv::Column> columns;
  for (const auto& op : bench_table_operations()) {
    RSI_TRY_ASSIGN(const auto spec,
                   warehouse::column_spec(op.name, op.column_type, op.column_options));
    columns.push_back({op.name, spec.type});
  }
  return columns;
}

Result<std::filesystem::path> convert_to_copy_text(const std::filesystem::path& gzip,
                                                   const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  const fs::path out_path = dir / (gzip.stem().string() + ".txt");
  const fs::path done = fs::path(out_path.string() + ".done");
  if (fs::exists(done) && fs::last_write_time(done) >= fs::last_write_time(gzip)) {
    return out_path;
  }
  RSI_TRY_ASSIGN(auto source, open_file_source(gzip));
  RSI_TRY_ASSIGN(auto columns, bench_columns());
  RSI_TRY_ASSIGN(auto reader,
                 tsv::Reader::open(*source, std::move(columns), {.name = gzip.string()}));
  std::ofstream out(out_path, std::ios::binary);
  std::string buffer;
  while (true) {
    RSI_TRY_ASSIGN(const bool more, reader.next());
    if (!more) {
      break;
    }
    warehouse::append_pg_copy_row(buffer, reader.row(), reader.columns());
    if (buffer.size() >= (1U << 20U)) {
      out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      buffer.clear();
    }
  }
  out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  if (!out) {
    return fail(ErrorKind::permanent, "write " + out_path.string());
  }
  std::ofstream{done} << "ok\n";
  return out_path;
}

} // namespace rsi::bench
