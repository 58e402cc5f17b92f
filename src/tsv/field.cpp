#include "tsv/field.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

namespace rsi::tsv {
namespace {

// An unscaled decimal as text with `scale` fraction digits: "-0.05" for -5 at scale 2.
std::string_view decimal_text(std::int64_t unscaled, std::uint32_t scale,
                              std::span<char, k_converted_text_bytes> scratch) {
  std::array<char, 24> digits{};
  const std::uint64_t magnitude = unscaled < 0 ? 0U - static_cast<std::uint64_t>(unscaled)
                                               : static_cast<std::uint64_t>(unscaled);
  const std::size_t count = static_cast<std::size_t>(
      std::to_chars(digits.data(), digits.data() + digits.size(), magnitude).ptr - digits.data());
  char* write = scratch.data();
  if (unscaled < 0) {
    *write++ = '-';
  }
  if (count <= scale) { // No integer digits: "0." and the fraction's leading zeros.
    *write++ = '0';
    *write++ = '.';
    write = std::fill_n(write, scale - count, '0');
    write = std::copy_n(digits.data(), count, write);
  } else {
    write = std::copy_n(digits.data(), count - scale, write);
    if (scale > 0) {
      *write++ = '.';
      write = std::copy_n(digits.data() + (count - scale), scale, write);
    }
  }
  return {scratch.data(), write};
}

} // namespace

std::string_view field_text(const Field& field, const ColumnType& type,
                            std::span<char, k_converted_text_bytes> scratch) {
  switch (type.kind) {
  case TypeKind::smallint:
  case TypeKind::integer:
  case TypeKind::bigint: {
    const auto written =
        std::to_chars(scratch.data(), scratch.data() + scratch.size(), field.integer);
    return {scratch.data(), written.ptr};
  }
  case TypeKind::real:
  case TypeKind::double_precision: {
    if (std::isnan(field.real)) {
      return "NaN";
    }
    if (std::isinf(field.real)) {
      return field.real > 0 ? "Infinity" : "-Infinity";
    }
    // A real's shortest text is the float's, not the double's that holds it.
    const auto written =
        type.kind == TypeKind::real
            ? std::to_chars(scratch.data(), scratch.data() + scratch.size(),
                            static_cast<float>(field.real))
            : std::to_chars(scratch.data(), scratch.data() + scratch.size(), field.real);
    return {scratch.data(), written.ptr};
  }
  case TypeKind::decimal:
    if (field.text.empty()) {
      return decimal_text(field.integer, type.scale, scratch);
    }
    return field.text;
  default:
    return field.text;
  }
}

} // namespace rsi::tsv
