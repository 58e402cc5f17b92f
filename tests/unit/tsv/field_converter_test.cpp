// Test vectors for the value-level COPY rules (field_converter.cpp has the documentation each
// rule comes from): input field -> loaded value, NULL, or the load error.

#include "tsv/field_converter.hpp"

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace rsi::tsv {
namespace {

struct ConvertCase {
  std::string name;
  ColumnType type;
  std::string input;
  std::optional<std::string> expected; // nullopt: NULL.
  std::string error;                   // Non-empty: the load fails with this message.
  std::uint64_t truncated = 0;
  std::uint64_t replaced = 0;
};

std::ostream& operator<<(std::ostream& out, const ConvertCase& convert_case) {
  return out << convert_case.name;
}

ConvertCase loads(std::string name, ColumnType type, std::string input, std::string expected,
                  std::uint64_t truncated = 0, std::uint64_t replaced = 0) {
  return {std::move(name), type, std::move(input), std::move(expected), "", truncated, replaced};
}

ConvertCase null(std::string name, ColumnType type, std::string input) {
  return {std::move(name), type, std::move(input), std::nullopt, ""};
}

ConvertCase fails(std::string name, ColumnType type, std::string input, std::string error) {
  return {std::move(name), type, std::move(input), std::nullopt, std::move(error)};
}

const ColumnType k_varchar = ColumnType::varchar(256);
const ColumnType k_smallint = ColumnType::of(TypeKind::smallint);
const ColumnType k_integer = ColumnType::of(TypeKind::integer);
const ColumnType k_bigint = ColumnType::of(TypeKind::bigint);
const ColumnType k_real = ColumnType::of(TypeKind::real);
const ColumnType k_double = ColumnType::of(TypeKind::double_precision);
const ColumnType k_boolean = ColumnType::of(TypeKind::boolean);
const ColumnType k_timestamp = ColumnType::of(TypeKind::timestamp);
const ColumnType k_date = ColumnType::of(TypeKind::date);

const std::vector<ConvertCase> k_convert_cases = {
    // EMPTYASNULL: empty CHAR/VARCHAR fields are NULL; empty fields of other types always are.
    null("EmptyVarcharIsNull", k_varchar, ""),
    null("EmptyCharIsNull", ColumnType::character(2), ""),
    null("EmptyBigintIsNull", k_bigint, ""),
    null("EmptyBooleanIsNull", k_boolean, ""),
    null("EmptyTimestampIsNull", k_timestamp, ""),
    null("EmptyDecimalIsNull", ColumnType::decimal(8, 2), ""),
    // Blank fields: NULL for non-character types; TRIMBLANKS makes a blank VARCHAR empty.
    loads("BlankVarcharTrimsToEmptyNotNull", k_varchar, "   ", ""),
    null("BlankBigintIsNull", k_bigint, "  "),
    null("BlankTimestampIsNull", k_timestamp, " \t"),
    loads("BlankCharIsKept", ColumnType::character(2), "  ", "  "),
    // ACCEPTINVCHARS '?': each invalid character becomes as many '?' as it has bytes.
    loads("ValidMultibyteIsKept", k_varchar, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
    loads("StrayByteIsReplaced", k_varchar, std::string("a\xff") + "b", "a?b", 0, 1),
    loads("StrayContinuationIsReplaced", k_varchar, "\xa4", "?", 0, 1),
    loads("TruncatedSequenceIsOneCharacter", k_varchar, "\xe2\x82", "??", 0, 1),
    loads("TruncatedSequenceBeforeAsciiKeepsTheAscii", k_varchar, std::string("\xe2\x82") + "A",
          "??A", 0, 1),
    loads("OverlongFormIsReplaced", k_varchar, "\xc0\xaf", "??", 0, 2),
    loads("SurrogateIsReplaced", k_varchar, "\xed\xa0\x80", "???", 0, 3),
    loads("PastU10FFFFIsReplaced", k_varchar, "\xf4\x90\x80\x80", "????", 0, 4),
    loads("NoncharacterFDD0IsReplaced", k_varchar, "x\xef\xb7\x90y", "x???y", 0, 1),
    loads("NoncharacterFFFEIsReplaced", k_varchar, "\xef\xbf\xbe", "???", 0, 1),
    loads("Noncharacter10FFFFIsReplaced", k_varchar, "\xf4\x8f\xbf\xbf", "????", 0, 1),
    fails("CharTakesOnlySingleByteCharacters", ColumnType::character(4), "\xc3\xa9",
          "multibyte character not supported for CHAR \"\\xc3\\xa9\""),
    // TRIMBLANKS: trailing white space of VARCHAR values only.
    loads("TrailingBlanksAreTrimmed", k_varchar, "abc  \t\r", "abc"),
    loads("LeadingBlanksStay", k_varchar, "  abc", "  abc"),
    loads("CharIsNotTrimmed", ColumnType::character(4), "ab  ", "ab  "),
    // TRUNCATECOLUMNS: cut to the width in bytes, never inside a UTF-8 character.
    loads("LongVarcharIsTruncated", ColumnType::varchar(3), "abcdef", "abc", 1),
    loads("TruncationKeepsWholeCharacters", ColumnType::varchar(4), "a\xc3\xa9\xe2\x82\xac",
          "a\xc3\xa9", 1),
    loads("TruncationCanLeaveAnEmptyString", ColumnType::varchar(2), "\xe2\x82\xac", "", 1),
    loads("TrimmingComesBeforeTruncation", ColumnType::varchar(3), "abc   ", "abc"),
    loads("ReplacementThenTruncation", ColumnType::varchar(3), "ab\xff\xff", "ab?", 1, 2),
    loads("LongCharIsTruncated", ColumnType::character(2), "abc", "ab", 1),
    loads("ExactWidthIsNotTruncated", ColumnType::varchar(3), "abc", "abc"),
    // Integers: [+-]digits within range.
    loads("SmallintMax", k_smallint, "32767", "32767"),
    loads("SmallintMin", k_smallint, "-32768", "-32768"),
    fails("SmallintOverflow", k_smallint, "32768", "smallint out of range \"32768\""),
    fails("SmallintUnderflow", k_smallint, "-32769", "smallint out of range \"-32769\""),
    loads("IntegerMax", k_integer, "2147483647", "2147483647"),
    loads("IntegerMin", k_integer, "-2147483648", "-2147483648"),
    fails("IntegerOverflow", k_integer, "2147483648", "integer out of range \"2147483648\""),
    loads("BigintMax", k_bigint, "9223372036854775807", "9223372036854775807"),
    loads("BigintMin", k_bigint, "-9223372036854775808", "-9223372036854775808"),
    fails("BigintOverflow", k_bigint, "9223372036854775808",
          "bigint out of range \"9223372036854775808\""),
    fails("BigintFarOverflow", k_bigint, "99999999999999999999",
          "bigint out of range \"99999999999999999999\""),
    loads("PlusSignAndLeadingZerosAreDropped", k_bigint, "+0042", "42"),
    loads("NegativeZeroIsZero", k_bigint, "-0", "0"),
    loads("IntegerSurroundingBlanksAreIgnored", k_bigint, " 12 ", "12"),
    fails("IntegerWithFractionFails", k_bigint, "1.0", "invalid bigint \"1.0\""),
    fails("IntegerWithExponentFails", k_integer, "1e3", "invalid integer \"1e3\""),
    fails("IntegerWithLettersFails", k_integer, "12a", "invalid integer \"12a\""),
    fails("LoneSignFails", k_integer, "-", "invalid integer \"-\""),
    fails("HexFails", k_integer, "0x10", "invalid integer \"0x10\""),
    // REAL and DOUBLE PRECISION.
    loads("DoubleDecimal", k_double, "2678.179", "2678.179"),
    loads("DoubleExact", k_double, "1616.0107421875", "1616.0107421875"),
    loads("DoubleExponent", k_double, "1.0E4", "10000"),
    loads("DoubleNegativeExponent", k_double, "-1.5e-3", "-0.0015"),
    loads("DoublePlusSign", k_double, "+2.5", "2.5"),
    loads("DoubleNoIntegerPart", k_double, ".5", "0.5"),
    loads("DoubleNaN", k_double, "NaN", "NaN"),
    loads("DoubleInfinity", k_double, "inf", "Infinity"),
    loads("DoubleNegativeInfinity", k_double, "-Infinity", "-Infinity"),
    fails("DoubleWords", k_double, "abc", "invalid double precision \"abc\""),
    fails("DoubleTwoPoints", k_double, "1.2.3", "invalid double precision \"1.2.3\""),
    fails("DoubleTwoSigns", k_double, "+-1", "invalid double precision \"+-1\""),
    fails("DoubleOverflow", k_double, "1e999", "double precision out of range \"1e999\""),
    loads("RealRoundsToSinglePrecision", k_real, "3.14159265358979", "3.1415927"),
    fails("RealOverflow", k_real, "1e39", "real out of range \"1e39\""),
    // ROUNDEC: round half away from zero to the column's scale; precision bounds the rest.
    loads("DocumentedRoundecExample", ColumnType::decimal(8, 2), "20.259", "20.26"),
    loads("RoundsDown", ColumnType::decimal(8, 2), "20.254", "20.25"),
    loads("HalfRoundsAwayFromZero", ColumnType::decimal(8, 2), "6.185", "6.19"),
    loads("NegativeHalfRoundsAwayFromZero", ColumnType::decimal(8, 2), "-20.255", "-20.26"),
    loads("ScaleIsPadded", ColumnType::decimal(10, 4), "1", "1.0000"),
    loads("NoIntegerPart", ColumnType::decimal(10, 4), ".5", "0.5000"),
    loads("NoFractionDigits", ColumnType::decimal(10, 4), "5.", "5.0000"),
    loads("SignAndZerosNormalised", ColumnType::decimal(10, 4), "+0012.30", "12.3000"),
    loads("ScaleZeroRounds", ColumnType::decimal(5, 0), "2.5", "3"),
    loads("ScaleZeroRoundsNegative", ColumnType::decimal(5, 0), "-2.5", "-3"),
    loads("RoundsToNegativeZeroAsZero", ColumnType::decimal(5, 2), "-0.001", "0.00"),
    loads("LargestOfNumeric52", ColumnType::decimal(5, 2), "-999.99", "-999.99"),
    fails("IntegerDigitsBeyondPrecisionFail", ColumnType::decimal(5, 2), "1000",
          "decimal out of range for decimal(5,2) \"1000\""),
    fails("RoundingCarryBeyondPrecisionFails", ColumnType::decimal(5, 2), "999.995",
          "decimal out of range for decimal(5,2) \"999.995\""),
    fails("FractionOnlyColumnCarryFails", ColumnType::decimal(3, 3), "0.9995",
          "decimal out of range for decimal(3,3) \"0.9995\""),
    loads("Decimal19HoldsInt64Max", ColumnType::decimal(19, 0), "9223372036854775807",
          "9223372036854775807"),
    fails("Decimal19StopsAtInt64Max", ColumnType::decimal(19, 0), "9999999999999999999",
          "decimal out of range for decimal(19,0) \"9999999999999999999\""),
    loads("Decimal19ScaledLimit", ColumnType::decimal(19, 18), "9.223372036854775807",
          "9.223372036854775807"),
    fails("Decimal19ScaledBeyondLimit", ColumnType::decimal(19, 18), "9.223372036854775808",
          "decimal out of range for decimal(19,18) \"9.223372036854775808\""),
    loads("Decimal38Digits", ColumnType::decimal(38, 0), std::string(38, '9'),
          std::string(38, '9')),
    fails("DecimalExponentFails", ColumnType::decimal(8, 2), "1e5", "invalid decimal \"1e5\""),
    fails("DecimalPointAloneFails", ColumnType::decimal(8, 2), ".", "invalid decimal \".\""),
    fails("DecimalCommaFails", ColumnType::decimal(8, 2), "1,5", "invalid decimal \"1,5\""),
    // BOOLEAN literals, case-insensitive.
    loads("TrueWord", k_boolean, "true", "t"),
    loads("TrueLetter", k_boolean, "t", "t"),
    loads("TrueUpperCase", k_boolean, "TRUE", "t"),
    loads("TrueY", k_boolean, "y", "t"),
    loads("TrueYes", k_boolean, "Yes", "t"),
    loads("TrueOne", k_boolean, "1", "t"),
    loads("FalseWord", k_boolean, "false", "f"),
    loads("FalseLetter", k_boolean, "F", "f"),
    loads("FalseN", k_boolean, "n", "f"),
    loads("FalseNo", k_boolean, "NO", "f"),
    loads("FalseZero", k_boolean, "0", "f"),
    loads("BooleanBlanksIgnored", k_boolean, " true ", "t"),
    fails("BooleanOnIsNotRedshift", k_boolean, "on", "invalid boolean \"on\""),
    fails("BooleanTwo", k_boolean, "2", "invalid boolean \"2\""),
    // TIMESTAMP: the default TIMEFORMAT YYYY-MM-DD HH:MI:SS, fractions up to microseconds.
    loads("Timestamp", k_timestamp, "2017-01-30 16:26:23", "2017-01-30 16:26:23"),
    loads("TimestampMicroseconds", k_timestamp, "2017-01-30 16:26:23.123456",
          "2017-01-30 16:26:23.123456"),
    loads("TimestampTenths", k_timestamp, "2017-01-30 16:26:23.1", "2017-01-30 16:26:23.1"),
    loads("TimestampLeapDay", k_timestamp, "2016-02-29 12:00:00", "2016-02-29 12:00:00"),
    loads("Timestamp2000LeapDay", k_timestamp, "2000-02-29 00:00:00", "2000-02-29 00:00:00"),
    loads("TimestampBlanksIgnored", k_timestamp, " 2017-01-30 16:26:23 ", "2017-01-30 16:26:23"),
    fails("TimestampMonth13", k_timestamp, "2016-13-01 00:00:00",
          "invalid timestamp \"2016-13-01 00:00:00\""),
    fails("TimestampNoLeapDay", k_timestamp, "2017-02-29 12:00:00",
          "invalid timestamp \"2017-02-29 12:00:00\""),
    fails("Timestamp1900NoLeapDay", k_timestamp, "1900-02-29 00:00:00",
          "invalid timestamp \"1900-02-29 00:00:00\""),
    fails("TimestampHour24", k_timestamp, "2017-01-30 24:00:00",
          "invalid timestamp \"2017-01-30 24:00:00\""),
    fails("TimestampMinute60", k_timestamp, "2017-01-30 23:60:00",
          "invalid timestamp \"2017-01-30 23:60:00\""),
    fails("TimestampSecond60", k_timestamp, "2017-01-30 23:59:60",
          "invalid timestamp \"2017-01-30 23:59:60\""),
    fails("TimestampNanoseconds", k_timestamp, "2017-01-30 16:26:23.1234567",
          "invalid timestamp \"2017-01-30 16:26:23.1234567\""),
    fails("TimestampEmptyFraction", k_timestamp, "2017-01-30 16:26:23.",
          "invalid timestamp \"2017-01-30 16:26:23.\""),
    fails("TimestampIsoT", k_timestamp, "2017-01-30T16:26:23",
          "invalid timestamp \"2017-01-30T16:26:23\""),
    fails("TimestampDateOnly", k_timestamp, "2017-01-30", "invalid timestamp \"2017-01-30\""),
    fails("TimestampTwoDigitYear", k_timestamp, "17-01-30 16:26:23",
          "invalid timestamp \"17-01-30 16:26:23\""),
    fails("TimestampOneDigitMonth", k_timestamp, "2017-1-30 16:26:23",
          "invalid timestamp \"2017-1-30 16:26:23\""),
    fails("TimestampYearZero", k_timestamp, "0000-01-01 00:00:00",
          "invalid timestamp \"0000-01-01 00:00:00\""),
    fails("TimestampEpochSeconds", k_timestamp, "1485793583", "invalid timestamp \"1485793583\""),
    // DATE: the default DATEFORMAT YYYY-MM-DD; a time part is ignored.
    loads("Date", k_date, "2017-01-30", "2017-01-30"),
    loads("DateIgnoresTime", k_date, "2017-01-30 16:26:23.5", "2017-01-30"),
    fails("DateDay32", k_date, "2017-01-32", "invalid date \"2017-01-32\""),
    fails("DateBadTime", k_date, "2017-01-30 25:00:00", "invalid date \"2017-01-30 25:00:00\""),
    fails("DateTrailingText", k_date, "2017-01-30x", "invalid date \"2017-01-30x\""),
};

class TsvConvertFieldTest : public ::testing::TestWithParam<ConvertCase> {};

TEST_P(TsvConvertFieldTest, LoadsWhatCopyLoads) {
  const ConvertCase& convert_case = GetParam();
  std::string raw = convert_case.input;
  std::array<char, k_converted_text_bytes> scratch{};
  ConversionCounts counts;

  const auto field = convert_field(convert_case.type, raw, scratch, counts);

  if (!convert_case.error.empty()) {
    ASSERT_FALSE(field);
    EXPECT_EQ(field.error().kind, ErrorKind::permanent);
    EXPECT_EQ(field.error().message, convert_case.error);
    return;
  }
  ASSERT_TRUE(field) << field.error().message;
  const auto text = field->null ? std::nullopt : std::optional<std::string>(field->text);
  EXPECT_EQ(text, convert_case.expected);
  EXPECT_EQ(counts.truncated_values, convert_case.truncated);
  EXPECT_EQ(counts.replaced_characters, convert_case.replaced);
}

INSTANTIATE_TEST_SUITE_P(CopyRules, TsvConvertFieldTest, ::testing::ValuesIn(k_convert_cases),
                         [](const auto& param_info) { return param_info.param.name; });

Field convert(ColumnType type, std::string input) {
  std::array<char, k_converted_text_bytes> scratch{};
  ConversionCounts counts;
  auto field = convert_field(type, input, scratch, counts);
  EXPECT_TRUE(field) << field.error().message;
  return field.value_or(Field{});
}

TEST(TsvConvertFieldValuesTest, IntegersAndBooleansCarryTheirValue) {
  EXPECT_EQ(convert(k_bigint, "-9223372036854775808").integer, INT64_MIN);
  EXPECT_EQ(convert(k_smallint, "+0042").integer, 42);
  EXPECT_EQ(convert(k_boolean, "yes").integer, 1);
  EXPECT_EQ(convert(k_boolean, "no").integer, 0);
}

TEST(TsvConvertFieldValuesTest, FloatsCarryTheirValue) {
  EXPECT_DOUBLE_EQ(convert(k_double, "2678.179").real, 2678.179);
  EXPECT_FLOAT_EQ(static_cast<float>(convert(k_real, "0.1").real), 0.1F);
  EXPECT_TRUE(std::isnan(convert(k_double, "nan").real));
}

// The converter reads short decimals with one division (Clinger's fast path) and everything
// else with std::from_chars: both must give the same value, bit for bit, and the timestamps and
// dates the same microseconds and days as the calendar.
TEST(TsvConvertFieldValuesTest, FastDecimalsReadAsFromCharsDoes) {
  std::mt19937_64 random(7);
  const auto digits = [&](std::size_t count) {
    std::string out;
    for (std::size_t index = 0; index < count; ++index) {
      out.push_back(static_cast<char>('0' + random() % 10));
    }
    return out;
  };
  for (int sample = 0; sample < 200000; ++sample) {
    std::string text = (random() % 4 == 0 ? "-" : "") + digits(1 + random() % 9);
    if (random() % 5 != 0) {
      text += "." + digits(1 + random() % 12);
    }
    double expected_double = 0;
    float expected_float = 0;
    std::from_chars(text.data(), text.data() + text.size(), expected_double);
    std::from_chars(text.data(), text.data() + text.size(), expected_float);
    EXPECT_EQ(std::bit_cast<std::uint64_t>(convert(k_double, text).real),
              std::bit_cast<std::uint64_t>(expected_double))
        << text;
    EXPECT_EQ(std::bit_cast<std::uint32_t>(static_cast<float>(convert(k_real, text).real)),
              std::bit_cast<std::uint32_t>(expected_float))
        << text;
  }
}

TEST(TsvConvertFieldValuesTest, TimestampsAndDatesCarryMicrosecondsAndDays) {
  EXPECT_EQ(convert(k_timestamp, "1970-01-01 00:00:00").integer, 0);
  EXPECT_EQ(convert(k_timestamp, "2017-01-30 16:26:23.5").integer, 1485793583500000);
  EXPECT_EQ(convert(k_timestamp, "1969-12-31 23:59:59.999999").integer, -1);
  EXPECT_EQ(convert(k_timestamp, "0001-01-01 00:00:00").integer, -62135596800000000);
  EXPECT_EQ(convert(k_date, "2017-01-30").integer, 17196);
  EXPECT_EQ(convert(k_date, "2000-02-29 12:00:00").integer, 11016);
}

TEST(TsvQuoteForMessageTest, EscapesAndShortensValues) {
  EXPECT_EQ(quote_for_message("a\"b\\c\x01\xff"), "\"a\\\"b\\\\c\\x01\\xff\"");
  EXPECT_EQ(quote_for_message(std::string(150, 'x')),
            "\"" + std::string(100, 'x') + "\" (first 100 of 150 bytes)");
}

} // namespace
} // namespace rsi::tsv
