#include "tsv/pg_copy_text.hpp"

#include <algorithm>
#include <array>

namespace rsi::tsv {
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

void append_escaped(std::string& out, std::string_view value) {
  const char* run = value.data();
  const char* const end = value.data() + value.size();
  for (const char* p = run; p != end; ++p) {
    const char escape = k_escapes[static_cast<unsigned char>(*p)];
    if (escape != '\0') {
      out.append(run, p);
      out.push_back('\\');
      out.push_back(escape);
      run = p + 1;
    }
  }
  out.append(run, end);
}

} // namespace

void append_pg_copy_row(std::string& out, std::span<const Field> row) {
  bool first = true;
  for (const Field& field : row) {
    if (!first) {
      out.push_back('\t');
    }
    first = false;
    if (field.text) {
      append_escaped(out, *field.text);
    } else {
      out.append("\\N");
    }
  }
  out.push_back('\n');
}

} // namespace rsi::tsv
