#include "warehouse/pg_copy_binary.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <span>

namespace rsi::warehouse {
namespace {

// PostgreSQL's epoch, 2000-01-01, from the reader's (1970-01-01).
constexpr std::int64_t k_pg_epoch_days = 10'957;
constexpr std::int64_t k_pg_epoch_micros = k_pg_epoch_days * 86'400'000'000;
constexpr std::uint16_t k_numeric_negative = 0x4000;
// A numeric of 38 digits: 8 bytes of header and at most 11 groups of 2 bytes, with room to spare.
constexpr std::size_t k_max_numeric_bytes = 8 + 2 * 16;

// Writes `value` big-endian at `out`; returns the position after it.
template <class Integer> char* put(char* out, Integer value) {
  using Unsigned = std::make_unsigned_t<Integer>;
  auto bits = static_cast<Unsigned>(value);
  if constexpr (std::endian::native == std::endian::little) {
    bits = std::byteswap(bits);
  }
  std::memcpy(out, &bits, sizeof(bits));
  return out + sizeof(bits);
}

int digits_value(std::string_view text, std::size_t pos, std::size_t count) {
  int value = 0;
  for (std::size_t index = pos; index < pos + count; ++index) {
    value = value * 10 + (text[index] - '0');
  }
  return value;
}

// A numeric value: ndigits, weight, sign, dscale, then the base-10000 digits, most significant
// first.
char* put_numeric_groups(char* out, std::span<const std::int16_t> groups, std::int16_t weight,
                         bool negative, std::uint32_t scale) {
  out = put(out, static_cast<std::int16_t>(groups.size()));
  out = put(out, weight);
  out = put(out, static_cast<std::uint16_t>(negative ? k_numeric_negative : 0));
  out = put(out, static_cast<std::uint16_t>(scale));
  for (const std::int16_t group : groups) {
    out = put(out, group);
  }
  return out;
}

// Canonical decimal text ("-123.45", exactly `scale` fraction digits) as a numeric value:
// ndigits, weight, sign, dscale, then base-10000 digits, most significant first.
char* put_numeric(char* out, std::string_view text, std::uint32_t scale) {
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
  return put_numeric_groups(out, std::span(groups.data(), count), weight, negative, scale);
}

// An unscaled decimal (the reader's integer form, DECIMAL(p <= 18)) as a numeric value, the same
// as its text would give: shifted left by up to three digits so that the fraction fills whole
// groups of four, then cut into groups from the least significant end (divisions by a constant).
// A magnitude of 10^15 or more goes through its text, which keeps the shifted value below 10^18.
char* put_numeric(char* out, const tsv::Field& field, const tsv::ColumnType& type) {
  const std::int64_t unscaled = field.integer;
  const bool negative = unscaled < 0;
  const std::uint64_t magnitude =
      negative ? 0U - static_cast<std::uint64_t>(unscaled) : static_cast<std::uint64_t>(unscaled);
  if (magnitude >= 1'000'000'000'000'000U) {
    std::array<char, tsv::k_converted_text_bytes> scratch{};
    return put_numeric(out, tsv::field_text(field, type, scratch), type.scale);
  }
  static constexpr std::array<std::uint64_t, 4> k_shift{1, 10, 100, 1000};
  const std::size_t fraction_groups = (type.scale + 3) / 4;
  std::uint64_t value = magnitude * k_shift[4 * fraction_groups - type.scale];
  std::array<std::int16_t, 8> reversed{}; // Least significant first: 18 digits + 3 make 6.
  std::size_t count = 0;
  while (count < fraction_groups || value > 0) {
    reversed[count++] = static_cast<std::int16_t>(value % 10'000);
    value /= 10'000;
  }
  std::array<std::int16_t, 8> groups{};
  std::reverse_copy(reversed.begin(), reversed.begin() + static_cast<std::ptrdiff_t>(count),
                    groups.begin());
  const auto weight = static_cast<std::int16_t>(static_cast<int>(count - fraction_groups) - 1);
  return put_numeric_groups(out, std::span(groups.data(), count), weight, negative, type.scale);
}

// Copies `count` bytes as std::memcpy does, inline: a row's text values are mostly short, where
// a call into libc's memcpy (which picks its variant at run time) costs more than the copy.
// Reads and writes only inside the two ranges: overlapping loads of 16, 8 or 4 bytes.
[[gnu::always_inline]] inline char* copy_text(char* out, const char* from, std::size_t count) {
  const auto copy = [](char* to, const char* source, auto word) {
    std::memcpy(&word, source, sizeof(word));
    std::memcpy(to, &word, sizeof(word));
  };
  struct Chunk {
    std::uint64_t low, high;
  };
  if (count >= 16) {
    for (std::size_t at = 0; at + 16 < count; at += 16) {
      copy(out + at, from + at, Chunk{});
    }
    copy(out + count - 16, from + count - 16, Chunk{});
  } else if (count >= 8) {
    copy(out, from, std::uint64_t{});
    copy(out + count - 8, from + count - 8, std::uint64_t{});
  } else if (count >= 4) {
    copy(out, from, std::uint32_t{});
    copy(out + count - 4, from + count - 4, std::uint32_t{});
  } else {
    for (std::size_t at = 0; at < count; ++at) {
      out[at] = from[at];
    }
  }
  return out + count;
}

// The most bytes a field takes besides its text: its length word and a fixed-size value, or a
// numeric.
constexpr std::size_t k_max_field_bytes = 4 + k_max_numeric_bytes;

} // namespace

std::string_view pg_binary_header() {
  static constexpr std::array<char, 19> k_header{
      'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\xff', '\r', '\n', '\0', 0, 0, 0, 0, 0, 0, 0, 0};
  return {k_header.data(), k_header.size()};
}

void append_pg_binary_row(std::string& out, std::span<const tsv::Field> row,
                          std::span<const tsv::Column> columns) {
  // At most: the field count, then each field's length word and fixed-size value or numeric,
  // or its text (a NULL's is empty). No branch on the type: a cheap bound.
  std::size_t worst = 2 + row.size() * k_max_field_bytes;
  for (const tsv::Field& field : row) {
    worst += field.text.size();
  }
  const std::size_t start = out.size();
  out.resize_and_overwrite(start + worst, [&](char* data, std::size_t) {
    char* write = put(data + start, static_cast<std::int16_t>(row.size()));
    for (std::size_t index = 0; index < row.size(); ++index) {
      const tsv::Field& field = row[index];
      if (field.null) {
        write = put(write, std::int32_t{-1});
        continue;
      }
      const tsv::ColumnType& type = columns[index].type;
      switch (type.kind) {
      case tsv::TypeKind::smallint:
        write = put(put(write, std::int32_t{2}), static_cast<std::int16_t>(field.integer));
        break;
      case tsv::TypeKind::integer:
        write = put(put(write, std::int32_t{4}), static_cast<std::int32_t>(field.integer));
        break;
      case tsv::TypeKind::bigint:
        write = put(put(write, std::int32_t{8}), field.integer);
        break;
      case tsv::TypeKind::boolean:
        write = put(write, std::int32_t{1});
        *write++ = field.integer != 0 ? '\1' : '\0';
        break;
      case tsv::TypeKind::real:
        write = put(put(write, std::int32_t{4}),
                    std::bit_cast<std::uint32_t>(static_cast<float>(field.real)));
        break;
      case tsv::TypeKind::double_precision:
        write = put(put(write, std::int32_t{8}), std::bit_cast<std::uint64_t>(field.real));
        break;
      case tsv::TypeKind::timestamp:
        write = put(put(write, std::int32_t{8}), field.integer - k_pg_epoch_micros);
        break;
      case tsv::TypeKind::date:
        write = put(put(write, std::int32_t{4}),
                    static_cast<std::int32_t>(field.integer - k_pg_epoch_days));
        break;
      case tsv::TypeKind::decimal: {
        char* const value = field.text.empty() ? put_numeric(write + 4, field, type)
                                               : put_numeric(write + 4, field.text, type.scale);
        put(write, static_cast<std::int32_t>(value - write - 4));
        write = value;
        break;
      }
      case tsv::TypeKind::varchar:
      case tsv::TypeKind::character:
        write = copy_text(put(write, static_cast<std::int32_t>(field.text.size())),
                          field.text.data(), field.text.size());
        break;
      }
    }
    return static_cast<std::size_t>(write - data);
  });
}

} // namespace rsi::warehouse
