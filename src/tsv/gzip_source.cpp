// Streaming gzip decompression with ISA-L's igzip (isal_inflate), which parses the gzip header
// and trailer itself when `crc_flag` is ISAL_GZIP and verifies the CRC-32 and ISIZE of each
// member. At the end of a member isal_inflate leaves the unread input in next_in/avail_in, so
// a following member starts from there after isal_inflate_reset.

#include "tsv/gzip_source.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <isa-l/igzip_lib.h>

namespace rsi::tsv {
namespace {

constexpr std::size_t k_input_buffer_bytes = 256 * 1024;
constexpr std::size_t k_max_chunk_bytes = std::numeric_limits<std::uint32_t>::max();

std::string_view describe(int rc) {
  switch (rc) {
  case ISAL_INVALID_BLOCK:
  case ISAL_INVALID_SYMBOL:
  case ISAL_INVALID_LOOKBACK:
    return "corrupt deflate data";
  case ISAL_INVALID_WRAPPER:
    return "invalid gzip header";
  case ISAL_UNSUPPORTED_METHOD:
    return "unsupported compression method";
  case ISAL_INCORRECT_CHECKSUM:
    return "CRC-32 or length mismatch";
  case ISAL_NEED_DICT:
    return "preset dictionary required";
  default:
    return "inflate failed";
  }
}

class IsalGzipSource final : public GzipSource {
public:
  IsalGzipSource(ByteSource& compressed, std::string name)
      : m_compressed(&compressed), m_name(std::move(name)),
        m_state(std::make_unique<inflate_state>()),
        m_input(std::make_unique_for_overwrite<std::uint8_t[]>(k_input_buffer_bytes)) {
    isal_inflate_init(m_state.get());
    start();
  }

  void restart(ByteSource& compressed, std::string name) override {
    m_compressed = &compressed;
    m_name = std::move(name);
    m_member = 1;
    m_input_eof = false;
    m_finished = false;
    m_error.reset();
    m_fault = GzipFault::none;
    isal_inflate_reset(m_state.get()); // ISA-L's call for reusing a state on a new stream.
    start();
  }

  // ByteSource
  Result<std::size_t> read(std::span<char> buffer) override {
    if (m_error) {
      return fail(*m_error);
    }
    auto produced = inflate_into(buffer);
    if (!produced) {
      m_error = produced.error();
      if (m_fault == GzipFault::none) {
        m_fault = GzipFault::source;
      }
    }
    return produced;
  }

  GzipFault fault() const override { return m_fault; }

private:
  Result<std::size_t> inflate_into(std::span<char> buffer) {
    std::size_t produced = 0;
    while (produced < buffer.size() && !m_finished) {
      if (m_state->block_state == ISAL_BLOCK_FINISH) {
        RSI_TRY(start_next_member());
        continue;
      }
      if (m_state->avail_in == 0) {
        RSI_TRY(refill());
        if (m_state->avail_in == 0) {
          m_fault = GzipFault::truncated;
          return fail(ErrorKind::permanent,
                      fmt::format("read {}: unexpected end of gzip stream", m_name));
        }
      }
      const std::size_t room = std::min(buffer.size() - produced, k_max_chunk_bytes);
      m_state->next_out = reinterpret_cast<std::uint8_t*>(buffer.data() + produced);
      m_state->avail_out = static_cast<std::uint32_t>(room);
      const int rc = isal_inflate(m_state.get());
      produced += room - m_state->avail_out;
      if (rc != ISAL_DECOMP_OK) {
        return corrupt(rc);
      }
    }
    return produced;
  }

  // Called when a member ended: either the input ends here too, or another member follows.
  Result<void> start_next_member() {
    if (m_state->avail_in == 0) {
      RSI_TRY(refill());
    }
    if (m_state->avail_in == 0) {
      m_finished = true;
      return {};
    }
    std::uint8_t* next_in = m_state->next_in;
    const std::uint32_t avail_in = m_state->avail_in;
    isal_inflate_reset(m_state.get());
    m_state->crc_flag = ISAL_GZIP;
    m_state->next_in = next_in;
    m_state->avail_in = avail_in;
    ++m_member;
    return {};
  }

  // Refills the input buffer once isal_inflate has taken all of it; at the end of the input
  // avail_in stays 0.
  Result<void> refill() {
    if (m_input_eof) {
      return {};
    }
    const std::span<char> room(reinterpret_cast<char*>(m_input.get()), k_input_buffer_bytes);
    RSI_TRY_ASSIGN(const std::size_t got, m_compressed->read(room));
    m_input_eof = got == 0;
    m_state->next_in = m_input.get();
    m_state->avail_in = static_cast<std::uint32_t>(got);
    return {};
  }

  void start() {
    m_state->crc_flag = ISAL_GZIP;
    m_state->next_in = m_input.get();
    m_state->avail_in = 0;
  }

  std::unexpected<Error> corrupt(int rc) {
    m_fault = GzipFault::corrupt;
    if (rc == ISAL_INVALID_WRAPPER && m_member > 1) {
      return fail(
          ErrorKind::permanent,
          fmt::format("read {}: data after gzip member {} is not gzip", m_name, m_member - 1));
    }
    return fail(ErrorKind::permanent,
                fmt::format("read {}: gzip member {}: {}", m_name, m_member, describe(rc)));
  }

  ByteSource* m_compressed;
  std::string m_name;
  std::unique_ptr<inflate_state> m_state;  // Large (tens of KiB): keep it off the stack.
  std::unique_ptr<std::uint8_t[]> m_input; // k_input_buffer_bytes, not zeroed.
  std::size_t m_member = 1;                // 1-based number of the member being inflated.
  bool m_input_eof = false;
  bool m_finished = false;
  std::optional<Error> m_error; // Sticky: a failed stream stays failed.
  GzipFault m_fault = GzipFault::none;
};

} // namespace

std::unique_ptr<GzipSource> make_gzip_source(ByteSource& compressed, std::string name) {
  return std::make_unique<IsalGzipSource>(compressed, std::move(name));
}

} // namespace rsi::tsv
