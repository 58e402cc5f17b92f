#include "tsv/field.hpp"

#include <charconv>
#include <cmath>

namespace rsi::tsv {

std::string_view field_text(const Field& field, TypeKind type,
                            std::span<char, k_converted_text_bytes> scratch) {
  switch (type) {
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
        type == TypeKind::real
            ? std::to_chars(scratch.data(), scratch.data() + scratch.size(),
                            static_cast<float>(field.real))
            : std::to_chars(scratch.data(), scratch.data() + scratch.size(), field.real);
    return {scratch.data(), written.ptr};
  }
  default:
    return field.text;
  }
}

} // namespace rsi::tsv
