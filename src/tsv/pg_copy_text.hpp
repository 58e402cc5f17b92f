#pragma once

#include <span>
#include <string>

#include "tsv/field.hpp"

namespace rsi::tsv {

// Appends `row` to `out` as one line of PostgreSQL's COPY text format (the default of
// `COPY table FROM STDIN`): fields separated by tabs, NULL as \N, and backslash, tab, newline
// and carriage return in values escaped as \\, \t, \n and \r; the line ends with a newline.
void append_pg_copy_row(std::string& out, std::span<const Field> row);

} // namespace rsi::tsv
