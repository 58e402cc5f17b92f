#include "warehouse/pg_copy_text.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include "tsv/byte_scan.hpp"

namespace rsi::warehouse {
namespace {

// Bytes COPY text format needs escaped, with the letter that follows the backslash.
constexpr std::array<char, 256> make_escapes() {
  std::array<char, 256> escapes{};
  escapes[static_cast<unsigned char>('\\')] = '\\';
  escapes[static_cast<unsigned char>('\t')] = 't';
  escapes[static_cast<unsigned char>('\n')] = 'n';
  escapes[static_cast<unsigned char>('\r')] = 'r';
  return escapes;
}
constexpr auto k_escapes = make_escapes();

// Writes `value` escaped at `out`, which has room for twice its size; returns the new end.
char* write_escaped(char* out, std::string_view value) {
  const char* p = value.data();
  const char* const end = p + value.size();
  while (true) {
    const char* special = tsv::find_first_of4(p, end, '\\', '\t', '\n', '\r');
    const auto run = static_cast<std::size_t>(special - p);
    std::memcpy(out, p, run);
    out += run;
    if (special == end) {
      return out;
    }
    *out++ = '\\';
    *out++ = k_escapes[static_cast<unsigned char>(*special)];
    p = special + 1;
  }
}

} // namespace

void append_pg_copy_row(std::string& out, std::span<const tsv::Field> row,
                        std::span<const tsv::Column> columns) {
  // Numbers get their text here; the rest have it already.
  std::array<char, tsv::k_converted_text_bytes> scratch{};
  // Size the output once for the worst case (every byte escaped, a number's text as long as
  // the scratch) and write through a pointer: much cheaper than appending piece by piece.
  std::size_t worst = row.size() * 3 + 1;
  for (const tsv::Field& field : row) {
    worst += field.null ? 0 : std::max(field.text.size() * 2, scratch.size());
  }
  const std::size_t start = out.size();
  out.resize_and_overwrite(start + worst, [&](char* data, std::size_t) {
    char* write = data + start;
    for (std::size_t index = 0; index < row.size(); ++index) {
      if (index > 0) {
        *write++ = '\t';
      }
      const tsv::Field& field = row[index];
      if (field.null) {
        *write++ = '\\';
        *write++ = 'N';
      } else {
        write = write_escaped(write, tsv::field_text(field, columns[index].type, scratch));
      }
    }
    *write++ = '\n';
    return static_cast<std::size_t>(write - data);
  });
}

} // namespace rsi::warehouse
