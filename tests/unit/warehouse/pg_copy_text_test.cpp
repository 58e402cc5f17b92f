#include "warehouse/pg_copy_text.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace rsi::warehouse {
namespace {

using tsv::ColumnType;
using tsv::Field;
using tsv::TypeKind;

Field text(std::string_view value) { return Field{.null = false, .text = value}; }

std::vector<tsv::Column> varchars(std::size_t count) {
  return std::vector<tsv::Column>(count, {"v", ColumnType::varchar(64)});
}

TEST(TsvPgCopyTextTest, WritesTabSeparatedLineWithNullMarker) {
  const std::vector<Field> row = {text("a"), Field{}, text("")};
  std::string out = "prefix\n";

  append_pg_copy_row(out, row, varchars(3));

  EXPECT_EQ(out, "prefix\na\t\\N\t\n");
}

TEST(TsvPgCopyTextTest, EscapesBackslashTabNewlineAndCarriageReturn) {
  const std::vector<Field> row = {text("a\\b\tc\nd\re"), text("\\N")};
  std::string out;

  append_pg_copy_row(out, row, varchars(2));

  EXPECT_EQ(out, "a\\\\b\\tc\\nd\\re\t\\\\N\n");
}

TEST(TsvPgCopyTextTest, KeepsMultibyteTextAndQuotes) {
  const std::vector<Field> row = {text("\"caf\xc3\xa9\" 'x'")};
  std::string out;

  append_pg_copy_row(out, row, varchars(1));

  EXPECT_EQ(out, "\"caf\xc3\xa9\" 'x'\n");
}

// Numbers carry only their value: the writer gives them their canonical text.
TEST(TsvPgCopyTextTest, WritesNumbersInCanonicalForm) {
  const std::vector<tsv::Column> columns = {{"i", ColumnType::of(TypeKind::bigint)},
                                            {"r", ColumnType::of(TypeKind::real)},
                                            {"d", ColumnType::of(TypeKind::double_precision)},
                                            {"n", ColumnType::of(TypeKind::double_precision)},
                                            {"b", ColumnType::of(TypeKind::boolean)}};
  const std::vector<Field> row = {
      Field{.null = false, .integer = -42}, Field{.null = false, .real = static_cast<double>(0.1F)},
      Field{.null = false, .real = -std::numeric_limits<double>::infinity()},
      Field{.null = false, .real = std::nan("")}, Field{.null = false, .text = "t", .integer = 1}};
  std::string out;

  append_pg_copy_row(out, row, columns);

  EXPECT_EQ(out, "-42\t0.1\t-Infinity\tNaN\tt\n");
}

} // namespace
} // namespace rsi::warehouse
