#pragma once

#include <span>
#include <string>
#include <string_view>

#include "tsv/column.hpp"
#include "tsv/field.hpp"

namespace rsi::warehouse {

// PostgreSQL's binary COPY format (`COPY ... FROM STDIN (FORMAT binary)`, "Binary Format" in
// the COPY reference): the server stores binary values without parsing text, which is most of
// its work in a text COPY, so the same rows load with less server CPU (bench/warehouse).
//
// The values are those the text format would carry, from the reader's parsed values (nothing
// is parsed twice): integers, booleans, real (the float the reader read, as float4in would) and
// double precision as they are, timestamps as microseconds and dates as days since 2000-01-01,
// decimals as base-10000 digit groups with the column's scale, character types as their UTF-8
// bytes (the server still checks widths and encoding as for text). Each row is sized once and
// written through a pointer.

// The 19-byte file header: signature, flags, header extension length.
std::string_view pg_binary_header();

// The file trailer: a field count of -1.
inline constexpr std::string_view k_pg_binary_trailer{"\xff\xff", 2};

// Appends `row`, one field per column of `columns`, to `out`. `row` must be what tsv::Reader
// produced for `columns`; the types map to PostgreSQL's as parse_column_type
// reads them (smallint int2, integer int4, bigint int8, real float4, double precision float8,
// decimal numeric, boolean bool, timestamp timestamp, date date, varchar/char text bytes).
void append_pg_binary_row(std::string& out, std::span<const tsv::Field> row,
                          std::span<const tsv::Column> columns);

} // namespace rsi::warehouse
