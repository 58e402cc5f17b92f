#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace rsi::tsv {

// The column types a Spade table can have in the warehouse. Redshift's DATETIME is `timestamp`.
enum class TypeKind {
  varchar,          // VARCHAR(width): width in bytes, multibyte UTF-8 allowed.
  character,        // CHAR(width): width in bytes, single-byte (ASCII) characters only.
  smallint,         // 16-bit signed integer.
  integer,          // 32-bit signed integer.
  bigint,           // 64-bit signed integer.
  real,             // IEEE 754 single precision.
  double_precision, // IEEE 754 double precision.
  decimal,          // DECIMAL(precision, scale), precision <= 38.
  boolean,
  timestamp, // Timestamp without time zone, microsecond resolution.
  date,
};

struct ColumnType {
  TypeKind kind = TypeKind::varchar;
  std::uint32_t width = 256;    // varchar/character: maximum length in bytes.
  std::uint32_t precision = 18; // decimal only.
  std::uint32_t scale = 0;      // decimal only.

  static ColumnType varchar(std::uint32_t width) {
    return {.kind = TypeKind::varchar, .width = width};
  }
  static ColumnType character(std::uint32_t width) {
    return {.kind = TypeKind::character, .width = width};
  }
  static ColumnType decimal(std::uint32_t precision, std::uint32_t scale) {
    return {.kind = TypeKind::decimal, .precision = precision, .scale = scale};
  }
  static ColumnType of(TypeKind kind) { return {.kind = kind}; }

  friend bool operator==(const ColumnType&, const ColumnType&) = default;
};

struct Column {
  std::string name;
  ColumnType type;
};

// Parses a Redshift/PostgreSQL column type as written in DDL: `varchar(32)`, `character
// varying(8)`, `char(2)`, `smallint`, `int`, `int4`, `bigint`, `real`, `float4`, `float`,
// `double precision`, `decimal(10,2)`, `numeric`, `bool`, `boolean`, `timestamp`, `datetime`,
// `timestamp without time zone`, `date`. Case-insensitive; a missing width means 256 for
// varchar and 1 for char, and MAX means 65535 and 4096, as in Redshift. Fails with
// ErrorKind::permanent on anything else, including widths out of Redshift's ranges.
[[nodiscard]] Result<ColumnType> parse_column_type(std::string_view sql_type);

// The type's SQL name without parameters ("varchar", "double precision").
std::string_view type_name(TypeKind kind);

// The canonical SQL spelling: "varchar(32)", "char(2)", "decimal(10,2)", "double precision".
std::string to_string(const ColumnType& type);

// Fails with ErrorKind::permanent when `type` is outside Redshift's limits (width 1..65535,
// precision 1..38, scale <= min(precision, 37)).
[[nodiscard]] Result<void> validate(const ColumnType& type);

} // namespace rsi::tsv
