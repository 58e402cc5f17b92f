#pragma once

#include <span>
#include <string>

#include "tsv/field.hpp"

namespace rsi::warehouse {

// PostgreSQL's COPY text format, the twin of pg_copy_binary.hpp (the PostgreSQL warehouse sends
// either). Appends `row` to `out` as one line of PostgreSQL's COPY text format (the default of
// `COPY table FROM STDIN`): fields separated by tabs, NULL as \N, and backslash, tab, newline
// and carriage return in values escaped as \\, \t, \n and \r; the line ends with a newline.
// `row` must be what tsv::Reader produced for `columns`.
void append_pg_copy_row(std::string& out, std::span<const tsv::Field> row,
                        std::span<const tsv::Column> columns);

} // namespace rsi::warehouse
