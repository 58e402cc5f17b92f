// A command-line tool built only for the streaming-memory test: uploads a generated object
// of a given size through ObjectStore::put_stream (multipart) or downloads one to a sink that
// only hashes, so /usr/bin/time -v can measure the process's peak RSS for each direction.
//
//   objectstore_stream_tool put|get <endpoint> <bucket> <key> <bytes>
//
// Prints "bytes=<n> sha256=<hex>" on success; exit status 1 with the error otherwise.

#include <charconv>
#include <cstdio>
#include <string_view>

#include "http/curl_global.hpp"
#include "http/sha256.hpp"
#include "objectstore/s3_object_store.hpp"

namespace {

using rsi::Result;

// Deterministic, cheap, non-repeating-looking bytes (a 64-bit LCG per 8-byte word).
class Generator {
public:
  explicit Generator(std::uint64_t size) : m_left(size) {}

  Result<std::size_t> read(std::span<char> buffer) {
    const std::size_t size =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), m_left));
    for (std::size_t idx = 0; idx < size; ++idx) {
      if ((m_produced & 7) == 0) {
        m_state = m_state * 6364136223846793005ULL + 1442695040888963407ULL;
      }
      buffer[idx] = static_cast<char>(m_state >> (8 * (m_produced & 7)));
      ++m_produced;
    }
    m_left -= size;
    return size;
  }

private:
  std::uint64_t m_left;
  std::uint64_t m_produced = 0;
  std::uint64_t m_state = 0x9e3779b97f4a7c15ULL;
};

int usage() {
  std::fprintf(stderr,
               "usage: objectstore_stream_tool put|get <endpoint> <bucket> <key> <bytes>\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    return usage();
  }
  const std::string_view mode = argv[1];
  std::uint64_t size = 0;
  const std::string_view size_text = argv[5];
  std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
  const rsi::http::CurlGlobal curl;

  rsi::objectstore::S3Config config;
  config.bucket = argv[3];
  config.aws = {.region = "us-east-1", .endpoint = argv[2], .profile = ""};
  config.credentials = rsi::http::make_static_credentials_provider({.access_key_id = "S3RVER",
                                                                    .secret_access_key = "S3RVER",
                                                                    .session_token = "",
                                                                    .expiration = std::nullopt});
  auto store = rsi::objectstore::make_s3_object_store(config);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().message.c_str());
    return 1;
  }
  rsi::http::Sha256 hash;
  std::uint64_t bytes = 0;
  if (mode == "put") {
    Generator generator(size);
    auto put = (*store)->put_stream(argv[4], [&](std::span<char> buffer) -> Result<std::size_t> {
      auto got = generator.read(buffer);
      hash.update(std::string_view(buffer.data(), *got));
      bytes += *got;
      return got;
    });
    if (!put) {
      std::fprintf(stderr, "%s\n", put.error().message.c_str());
      return 1;
    }
  } else if (mode == "get") {
    auto got = (*store)->get(argv[4], [&](std::string_view chunk) -> Result<void> {
      hash.update(chunk);
      bytes += chunk.size();
      return {};
    });
    if (!got || !*got) {
      std::fprintf(stderr, "%s\n", got ? "no such object" : got.error().message.c_str());
      return 1;
    }
  } else {
    return usage();
  }
  std::printf("bytes=%llu sha256=%s\n", static_cast<unsigned long long>(bytes),
              hash.finish_hex().c_str());
  return 0;
}
