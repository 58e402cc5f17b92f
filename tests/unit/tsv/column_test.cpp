#include "tsv/column.hpp"

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace rsi::tsv {
namespace {

TEST(TsvColumnTypeTest, ParsesRedshiftSpellings) {
  const std::vector<std::pair<std::string, ColumnType>> cases = {
      {"varchar(32)", ColumnType::varchar(32)},
      {"VARCHAR (15)", ColumnType::varchar(15)},
      {"character varying(8)", ColumnType::varchar(8)},
      {"varchar", ColumnType::varchar(256)},
      {"text", ColumnType::varchar(256)},
      {"varchar(max)", ColumnType::varchar(65535)},
      {"char(MAX)", ColumnType::character(4096)},
      {"char(2)", ColumnType::character(2)},
      {"char", ColumnType::character(1)},
      {"smallint", ColumnType::of(TypeKind::smallint)},
      {"int", ColumnType::of(TypeKind::integer)},
      {"int4", ColumnType::of(TypeKind::integer)},
      {"bigint", ColumnType::of(TypeKind::bigint)},
      {"real", ColumnType::of(TypeKind::real)},
      {"float", ColumnType::of(TypeKind::double_precision)},
      {"double  precision", ColumnType::of(TypeKind::double_precision)},
      {"decimal(10, 2)", ColumnType::decimal(10, 2)},
      {"numeric", ColumnType::decimal(18, 0)},
      {"bool", ColumnType::of(TypeKind::boolean)},
      {"datetime", ColumnType::of(TypeKind::timestamp)},
      {"timestamp without time zone", ColumnType::of(TypeKind::timestamp)},
      {"date", ColumnType::of(TypeKind::date)},
  };
  for (const auto& [text, expected] : cases) {
    const auto parsed = parse_column_type(text);

    ASSERT_TRUE(parsed) << text << ": " << parsed.error().message;
    EXPECT_EQ(*parsed, expected) << text;
  }
}

TEST(TsvColumnTypeTest, RejectsUnknownTypesAndOutOfRangeWidths) {
  for (const std::string text :
       {"varchar(0)", "varchar(65536)", "char(4097)", "decimal(39,0)", "decimal(5,6)",
        "timestamptz", "int(4)", "varchar(1,2)", "varchar(x)", "varchar(3", ""}) {
    const auto parsed = parse_column_type(text);

    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().kind, ErrorKind::permanent);
  }
}

TEST(TsvColumnTypeTest, PrintsCanonicalSql) {
  EXPECT_EQ(to_string(ColumnType::varchar(32)), "varchar(32)");
  EXPECT_EQ(to_string(ColumnType::character(2)), "char(2)");
  EXPECT_EQ(to_string(ColumnType::decimal(10, 2)), "decimal(10,2)");
  EXPECT_EQ(to_string(ColumnType::of(TypeKind::double_precision)), "double precision");
}

} // namespace
} // namespace rsi::tsv
