#include "warehouse/pg_copy_text.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace rsi::warehouse {
namespace {

using tsv::Field;

TEST(TsvPgCopyTextTest, WritesTabSeparatedLineWithNullMarker) {
  const std::vector<Field> row = {Field{.text = "a"}, Field{}, Field{.text = ""}};
  std::string out = "prefix\n";

  append_pg_copy_row(out, row);

  EXPECT_EQ(out, "prefix\na\t\\N\t\n");
}

TEST(TsvPgCopyTextTest, EscapesBackslashTabNewlineAndCarriageReturn) {
  const std::vector<Field> row = {Field{.text = "a\\b\tc\nd\re"}, Field{.text = "\\N"}};
  std::string out;

  append_pg_copy_row(out, row);

  EXPECT_EQ(out, "a\\\\b\\tc\\nd\\re\t\\\\N\n");
}

TEST(TsvPgCopyTextTest, KeepsMultibyteTextAndQuotes) {
  const std::vector<Field> row = {Field{.text = "\"caf\xc3\xa9\" 'x'"}};
  std::string out;

  append_pg_copy_row(out, row);

  EXPECT_EQ(out, "\"caf\xc3\xa9\" 'x'\n");
}

} // namespace
} // namespace rsi::warehouse
