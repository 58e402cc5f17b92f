#include "warehouse/pg_copy_binary.hpp"

#include <array>
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>

namespace rsi::warehouse {
namespace {

constexpr std::int64_t k_micros_per_day = 86'400'000'000;
constexpr std::uint16_t k_numeric_negative = 0x4000;

template <class Integer> void put(std::string& out, Integer value) {
  using Unsigned = std::make_unsigned_t<Integer>;
  auto bits = static_cast<Unsigned>(value);
  std::array<char, sizeof(Integer)> bytes{};
  for (std::size_t index = sizeof(Integer); index-- > 0;) {
    bytes[index] = static_cast<char>(bits & 0xFFU);
    bits = static_cast<Unsigned>(bits >> 8U);
  }
  out.append(bytes.data(), bytes.size());
}

int digits_value(std::string_view text, std::size_t pos, std::size_t count) {
  int value = 0;
  for (std::size_t index = pos; index < pos + count; ++index) {
    value = value * 10 + (text[index] - '0');
  }
  return value;
}

// Days from 1970-01-01 to the civil date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

// "YYYY-MM-DD" at the start of `text` as days since 2000-01-01, PostgreSQL's epoch.
std::int64_t pg_days(std::string_view text) {
  static const std::int64_t k_pg_epoch = days_from_civil(2000, 1, 1);
  return days_from_civil(digits_value(text, 0, 4), static_cast<unsigned>(digits_value(text, 5, 2)),
                         static_cast<unsigned>(digits_value(text, 8, 2))) -
         k_pg_epoch;
}

// "YYYY-MM-DD HH:MI:SS[.f{1,6}]" as microseconds since 2000-01-01 00:00:00.
std::int64_t pg_micros(std::string_view text) {
  const std::int64_t seconds =
      (static_cast<std::int64_t>(digits_value(text, 11, 2)) * 60 + digits_value(text, 14, 2)) * 60 +
      digits_value(text, 17, 2);
  std::int64_t fraction = 0;
  if (text.size() > 20) {
    const std::size_t length = text.size() - 20;
    fraction = digits_value(text, 20, length);
    for (std::size_t pad = length; pad < 6; ++pad) {
      fraction *= 10;
    }
  }
  return pg_days(text) * k_micros_per_day + seconds * 1'000'000 + fraction;
}

// Canonical decimal text ("-123.45", exactly `scale` fraction digits) as a numeric value:
// ndigits, weight, sign, dscale, then base-10000 digits, most significant first.
void put_numeric(std::string& out, std::string_view text, std::uint32_t scale) {
  const bool negative = !text.empty() && text.front() == '-';
  if (negative) {
    text.remove_prefix(1);
  }
  const auto point = text.find('.');
  std::string_view integer = text.substr(0, point);
  const std::string_view fraction =
      point == std::string_view::npos ? std::string_view() : text.substr(point + 1);
  integer.remove_prefix(std::min(integer.find_first_not_of('0'), integer.size()));

  std::array<std::int16_t, 16> groups{}; // 38 digits make at most 11 groups.
  std::size_t count = 0;
  // Integer groups of four digits counted from the point; the first may be shorter.
  std::size_t first = integer.size() % 4 == 0 ? 4 : integer.size() % 4;
  for (std::size_t pos = 0; pos < integer.size(); pos += first, first = 4) {
    groups[count++] = static_cast<std::int16_t>(digits_value(integer, pos, first));
  }
  const auto weight = static_cast<std::int16_t>(static_cast<int>(count) - 1);
  for (std::size_t pos = 0; pos < fraction.size(); pos += 4) {
    const std::size_t length = std::min<std::size_t>(4, fraction.size() - pos);
    int value = digits_value(fraction, pos, length);
    for (std::size_t pad = length; pad < 4; ++pad) {
      value *= 10;
    }
    groups[count++] = static_cast<std::int16_t>(value);
  }
  put(out, static_cast<std::int16_t>(count));
  put(out, weight);
  put(out, static_cast<std::uint16_t>(negative ? k_numeric_negative : 0));
  put(out, static_cast<std::uint16_t>(scale));
  for (std::size_t index = 0; index < count; ++index) {
    put(out, groups[index]);
  }
}

void put_sized_field(std::string& out, std::size_t length_at) {
  const auto length = static_cast<std::int32_t>(out.size() - length_at - sizeof(std::int32_t));
  std::array<char, 4> bytes{};
  auto bits = static_cast<std::uint32_t>(length);
  for (std::size_t index = 4; index-- > 0;) {
    bytes[index] = static_cast<char>(bits & 0xFFU);
    bits >>= 8U;
  }
  std::memcpy(out.data() + length_at, bytes.data(), bytes.size());
}

} // namespace

std::string_view pg_binary_header() {
  static constexpr std::array<char, 19> k_header{
      'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\xff', '\r', '\n', '\0', 0, 0, 0, 0, 0, 0, 0, 0};
  return {k_header.data(), k_header.size()};
}

void append_pg_binary_row(std::string& out, std::span<const tsv::Field> row,
                          std::span<const tsv::Column> columns) {
  put(out, static_cast<std::int16_t>(row.size()));
  for (std::size_t index = 0; index < row.size(); ++index) {
    const tsv::Field& field = row[index];
    if (!field.text) {
      put(out, std::int32_t{-1});
      continue;
    }
    const std::string_view text = *field.text;
    const tsv::ColumnType& type = columns[index].type;
    switch (type.kind) {
    case tsv::TypeKind::smallint:
      put(out, std::int32_t{2});
      put(out, static_cast<std::int16_t>(field.integer));
      break;
    case tsv::TypeKind::integer:
      put(out, std::int32_t{4});
      put(out, static_cast<std::int32_t>(field.integer));
      break;
    case tsv::TypeKind::bigint:
      put(out, std::int32_t{8});
      put(out, field.integer);
      break;
    case tsv::TypeKind::boolean:
      put(out, std::int32_t{1});
      out.push_back(field.integer != 0 ? '\1' : '\0');
      break;
    case tsv::TypeKind::real: {
      // float4in reads the shortest text; a double narrowed to float could round differently.
      float value = 0;
      std::from_chars(text.data(), text.data() + text.size(), value);
      put(out, std::int32_t{4});
      put(out, std::bit_cast<std::uint32_t>(value));
      break;
    }
    case tsv::TypeKind::double_precision:
      put(out, std::int32_t{8});
      put(out, std::bit_cast<std::uint64_t>(field.real));
      break;
    case tsv::TypeKind::timestamp:
      put(out, std::int32_t{8});
      put(out, pg_micros(text));
      break;
    case tsv::TypeKind::date:
      put(out, std::int32_t{4});
      put(out, static_cast<std::int32_t>(pg_days(text)));
      break;
    case tsv::TypeKind::decimal: {
      const std::size_t length_at = out.size();
      put(out, std::int32_t{0});
      put_numeric(out, text, type.scale);
      put_sized_field(out, length_at);
      break;
    }
    case tsv::TypeKind::varchar:
    case tsv::TypeKind::character:
      put(out, static_cast<std::int32_t>(text.size()));
      out.append(text);
      break;
    }
  }
}

} // namespace rsi::warehouse
