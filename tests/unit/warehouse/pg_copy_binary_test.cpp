// PostgreSQL's binary COPY encoding of converted values, byte for byte. (That the server stores
// the same values as from text is checked with the real Spade file in
// tests/integration/warehouse/spade_file_test.cpp.)

#include "warehouse/pg_copy_binary.hpp"

#include <array>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tsv/field_converter.hpp"

namespace rsi::warehouse {
namespace {

std::string hex(std::string_view bytes) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out;
  for (const char byte : bytes) {
    const auto value = static_cast<unsigned char>(byte);
    out += k_digits[value >> 4U];
    out += k_digits[value & 0xFU];
  }
  return out;
}

// One field of `type` read from `text` as the reader converts it (nullopt: NULL), without the
// row's field count, in hexadecimal.
std::string encode(tsv::ColumnType type, std::optional<std::string> text) {
  std::vector<tsv::Field> row(1);
  std::array<char, tsv::k_converted_text_bytes> scratch{};
  if (text) {
    tsv::ConversionCounts counts;
    auto field = tsv::convert_field(type, *text, scratch, counts);
    EXPECT_TRUE(field) << field.error().message;
    row[0] = field.value_or(tsv::Field{});
  }
  const std::vector<tsv::Column> columns{{"c", type}};
  std::string out;
  append_pg_binary_row(out, row, columns);
  EXPECT_EQ(hex(out.substr(0, 2)), "0001");
  return hex(out.substr(2));
}

// `spaced` without its spaces: expectations are written as "length value".
std::string bytes(std::string_view spaced) {
  std::string out;
  for (const char ch : spaced) {
    if (ch != ' ') {
      out.push_back(ch);
    }
  }
  return out;
}

TEST(PgCopyBinaryTest, HeaderAndTrailer) {
  EXPECT_EQ(hex(pg_binary_header()), bytes("5047434f50590aff0d0a00 00000000 00000000"));
  EXPECT_EQ(hex(k_pg_binary_trailer), "ffff");
}

TEST(PgCopyBinaryTest, NullIsLengthMinusOne) {
  EXPECT_EQ(encode(tsv::ColumnType::varchar(4), std::nullopt), bytes("ffffffff"));
}

TEST(PgCopyBinaryTest, IntegersBooleansAndFloats) {
  using tsv::ColumnType;
  using tsv::TypeKind;
  EXPECT_EQ(encode(ColumnType::of(TypeKind::smallint), "-2"), bytes("00000002 fffe"));
  EXPECT_EQ(encode(ColumnType::of(TypeKind::integer), "258"), bytes("00000004 00000102"));
  EXPECT_EQ(encode(ColumnType::of(TypeKind::bigint), "-1"), bytes("00000008 ffffffffffffffff"));
  EXPECT_EQ(encode(ColumnType::of(TypeKind::boolean), "t"), bytes("00000001 01"));
  EXPECT_EQ(encode(ColumnType::of(TypeKind::boolean), "f"), bytes("00000001 00"));
  EXPECT_EQ(encode(ColumnType::of(TypeKind::double_precision), "1.5"),
            bytes("00000008 3ff8000000000000"));
  EXPECT_EQ(encode(ColumnType::of(TypeKind::real), "0.1"), bytes("00000004 3dcccccd"));
  EXPECT_EQ(encode(ColumnType::of(TypeKind::real), "-Infinity"), bytes("00000004 ff800000"));
}

TEST(PgCopyBinaryTest, TimestampsAndDatesCountFrom2000) {
  using tsv::ColumnType;
  using tsv::TypeKind;
  EXPECT_EQ(encode(ColumnType::of(TypeKind::timestamp), "2000-01-01 00:00:00"),
            bytes("00000008 0000000000000000"));
  EXPECT_EQ(encode(ColumnType::of(TypeKind::timestamp), "2000-01-02 00:00:00.5"),
            bytes("00000008 000000141ddf0120")); // 86,400,000,000 + 500,000
  EXPECT_EQ(encode(ColumnType::of(TypeKind::timestamp), "1999-12-31 23:59:59.999999"),
            bytes("00000008 ffffffffffffffff"));
  EXPECT_EQ(encode(ColumnType::of(TypeKind::date), "2000-01-01"), bytes("00000004 00000000"));
  EXPECT_EQ(encode(ColumnType::of(TypeKind::date), "1970-01-01"),
            bytes("00000004 ffffd533")); // -10957
  EXPECT_EQ(encode(ColumnType::of(TypeKind::date), "2017-01-30"),
            bytes("00000004 0000185f")); // 6239
}

TEST(PgCopyBinaryTest, DecimalsAsBase10000Groups) {
  using tsv::ColumnType;
  // Length; ndigits, weight, sign, dscale; digits.
  EXPECT_EQ(encode(ColumnType::decimal(10, 2), "4.46"),
            bytes("0000000c 0002 0000 0000 0002 0004 11f8"));
  EXPECT_EQ(encode(ColumnType::decimal(10, 2), "0.50"), bytes("0000000a 0001 ffff 0000 0002 1388"));
  EXPECT_EQ(encode(ColumnType::decimal(10, 1), "-12345.6"),
            bytes("0000000e 0003 0001 4000 0001 0001 0929 1770"));
  EXPECT_EQ(encode(ColumnType::decimal(10, 2), "0.00"), bytes("0000000a 0001 ffff 0000 0002 0000"));
  EXPECT_EQ(encode(ColumnType::decimal(18, 0), "10000"),
            bytes("0000000c 0002 0001 0000 0000 0001 0000"));
}

// A DECIMAL(p <= 18) value travels as its unscaled integer; a wider one as text. Random values
// read both ways (the same text for DECIMAL(p, s) and DECIMAL(p + 20, s)) encode to the same
// bytes and have the same text, for every scale.
TEST(PgCopyBinaryTest, IntegerDecimalsEncodeAsTheirText) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20'000; ++round) {
    const auto precision = static_cast<std::uint32_t>(1 + rng() % 18);
    const auto scale = static_cast<std::uint32_t>(rng() % (precision + 1));
    std::string text = rng() % 3 == 0 ? "-" : "";
    const std::size_t int_digits = rng() % (precision - scale + 2);
    for (std::size_t index = 0; index < int_digits; ++index) {
      text.push_back(static_cast<char>('0' + (index == 0 && rng() % 4 == 0 ? 9 : rng() % 10)));
    }
    if (rng() % 2 == 0 || int_digits == 0) {
      text.push_back('.');
      const std::size_t frac_digits = 1 + rng() % (scale + 3);
      for (std::size_t index = 0; index < frac_digits; ++index) {
        text.push_back(static_cast<char>('0' + rng() % 10));
      }
    }
    const auto narrow = tsv::ColumnType::decimal(precision, scale);
    const auto wide = tsv::ColumnType::decimal(precision + 20, scale);
    std::array<char, tsv::k_converted_text_bytes> narrow_scratch{};
    std::array<char, tsv::k_converted_text_bytes> wide_scratch{};
    tsv::ConversionCounts counts;
    tsv::Field as_integer;
    tsv::Field as_text;
    std::string raw = text;
    const tsv::Rejection narrow_result =
        tsv::convert_value(narrow, raw, false, narrow_scratch, counts, as_integer);
    raw = text;
    ASSERT_EQ(tsv::convert_value(wide, raw, false, wide_scratch, counts, as_text),
              tsv::Rejection::none)
        << text;
    if (narrow_result != tsv::Rejection::none) {
      // Out of range for p: the value (rounded) has more than p - s integer digits.
      ASSERT_EQ(narrow_result, tsv::Rejection::out_of_range) << text;
      std::string_view integer_part = as_text.text;
      integer_part.remove_prefix(integer_part.starts_with('-') ? 1 : 0);
      integer_part = integer_part.substr(0, integer_part.find('.'));
      EXPECT_GT(integer_part.size(), precision - scale) << text;
      continue;
    }
    ASSERT_TRUE(as_integer.text.empty()) << text;
    std::array<char, tsv::k_converted_text_bytes> shown{};
    EXPECT_EQ(tsv::field_text(as_integer, narrow, shown), as_text.text) << text;
    std::string from_integer;
    std::string from_text;
    append_pg_binary_row(from_integer, std::span(&as_integer, 1),
                         std::vector<tsv::Column>{{"n", narrow}});
    append_pg_binary_row(from_text, std::span(&as_text, 1), std::vector<tsv::Column>{{"n", wide}});
    EXPECT_EQ(hex(from_integer), hex(from_text))
        << text << " decimal(" << precision << "," << scale << ")";
  }
}

TEST(PgCopyBinaryTest, CharacterTypesAreTheirBytes) {
  EXPECT_EQ(encode(tsv::ColumnType::varchar(8), "x00\xc3\xa9"), bytes("00000005 783030c3a9"));
  EXPECT_EQ(encode(tsv::ColumnType::character(2), "US"), bytes("00000002 5553"));
}

// Text is copied in pieces of 16, 8, 4 or single bytes by its length: every length up to 70
// (the short ones, each piece size, the overlapping last piece) comes out whole, in a row with
// a value after it that the copy must not overwrite.
TEST(PgCopyBinaryTest, TextOfEveryLengthIsCopiedWhole) {
  const std::vector<tsv::Column> columns{{"text", tsv::ColumnType::varchar(100)},
                                         {"after", tsv::ColumnType::of(tsv::TypeKind::smallint)}};
  for (std::size_t length = 0; length <= 70; ++length) {
    std::string text;
    for (std::size_t index = 0; index < length; ++index) {
      text.push_back(static_cast<char>('A' + index % 26));
    }
    const std::vector<tsv::Field> row{{.null = false, .text = text},
                                      {.null = false, .integer = 0x1234}};
    std::string out;
    append_pg_binary_row(out, row, columns);
    const std::string length_word{'\0', '\0', '\0', static_cast<char>(length)};
    EXPECT_EQ(out, std::string("\0\2", 2) + length_word + text + std::string("\0\0\0\2\x12\x34", 6))
        << "length " << length;
  }
}

} // namespace
} // namespace rsi::warehouse
