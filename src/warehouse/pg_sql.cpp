#include "warehouse/pg_sql.hpp"

#include <fmt/format.h>

namespace rsi::warehouse::pg_sql {

std::string rejected_row_insert(std::size_t rows, std::string_view now) {
  std::string sql = "INSERT INTO infra.rejected_row (manifest_uuid, table_name, file_url, "
                    "line_number, column_name, raw_line, reason, rejected_at) VALUES ";
  for (std::size_t row = 0; row < rows; ++row) {
    const std::size_t first = 3 + row * k_rejected_row_params;
    sql += fmt::format("{}($1, $2, ${}, ${}, ${}, ${}, ${}, {})", row == 0 ? "" : ", ", first,
                       first + 1, first + 2, first + 3, first + 4, now);
  }
  return sql;
}

} // namespace rsi::warehouse::pg_sql
