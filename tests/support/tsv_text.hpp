#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tsv/field.hpp"

namespace rsi::test {

// A converted value's canonical text (tsv::field_text), nullopt for NULL.
inline std::optional<std::string> text_of(const tsv::Field& field, const tsv::ColumnType& type) {
  if (field.null) {
    return std::nullopt;
  }
  std::array<char, tsv::k_converted_text_bytes> scratch{};
  return std::string(tsv::field_text(field, type, scratch));
}

// Every value of `row` (read for `columns`) as text.
inline std::vector<std::optional<std::string>> texts_of(std::span<const tsv::Field> row,
                                                        std::span<const tsv::Column> columns) {
  std::vector<std::optional<std::string>> texts;
  texts.reserve(row.size());
  for (std::size_t index = 0; index < row.size(); ++index) {
    texts.push_back(text_of(row[index], columns[index].type));
  }
  return texts;
}

} // namespace rsi::test
