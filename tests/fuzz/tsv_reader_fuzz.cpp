// libFuzzer target for the Spade TSV reader: any input must end in rows or a clean
// ErrorKind::permanent error, never a crash, a sanitizer report or a hang, and every row must
// hold what a warehouse can take. The first byte picks plain or gzip input, the table schema
// and (its top bit) whether to go on past rejected rows, as a load with a bad-row limit does;
// the rest is the file. Build and run: tests/fuzz/run_tsv_reader_fuzz.sh.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/utf8.hpp"
#include "tsv/reader.hpp"
#include "warehouse/pg_copy_text.hpp"

namespace {

using rsi::tsv::Column;
using rsi::tsv::ColumnType;
using rsi::tsv::TypeKind;

const std::vector<std::vector<Column>>& schemas() {
  static const std::vector<std::vector<Column>> all = {
      {
          {"time", ColumnType::of(TypeKind::timestamp)},
          {"name", ColumnType::varchar(8)},
          {"flag", ColumnType::of(TypeKind::boolean)},
          {"count", ColumnType::of(TypeKind::bigint)},
          {"small", ColumnType::of(TypeKind::smallint)},
          {"ratio", ColumnType::of(TypeKind::double_precision)},
          {"price", ColumnType::decimal(6, 2)},
          {"day", ColumnType::of(TypeKind::date)},
          {"code", ColumnType::character(2)},
          {"level", ColumnType::of(TypeKind::real)},
          {"n", ColumnType::of(TypeKind::integer)},
          {"big", ColumnType::decimal(38, 10)},
      },
      {{"a", ColumnType::varchar(3)},
       {"b", ColumnType::varchar(1)},
       {"c", ColumnType::varchar(65535)}},
      {{"d", ColumnType::decimal(19, 0)}},
  };
  return all;
}

void check(bool condition) {
  if (!condition) {
    __builtin_trap();
  }
}

// What any loaded value must satisfy, whatever the input.
void check_row(std::span<const rsi::tsv::Field> row, const std::vector<Column>& columns) {
  check(row.size() == columns.size());
  for (std::size_t index = 0; index < row.size(); ++index) {
    if (row[index].null) {
      continue;
    }
    std::array<char, rsi::tsv::k_converted_text_bytes> scratch{};
    const std::string_view text = rsi::tsv::field_text(row[index], columns[index].type, scratch);
    check(text.find('\0') == std::string_view::npos);
    check(rsi::is_valid_utf8(text));
    const ColumnType& type = columns[index].type;
    if (type.kind == TypeKind::varchar || type.kind == TypeKind::character) {
      check(text.size() <= type.width);
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::uint8_t selector = data[0];
  const auto compression =
      (selector & 1U) != 0 ? rsi::tsv::Compression::gzip : rsi::tsv::Compression::none;
  const std::vector<Column>& columns = schemas()[(selector >> 1U) % schemas().size()];
  const bool skip_bad_rows = (selector & 0x80U) != 0;
  auto source =
      rsi::make_memory_source(std::string(reinterpret_cast<const char*>(data + 1), size - 1));

  auto reader = rsi::tsv::Reader::open(*source, columns,
                                       {.name = "fuzz",
                                        .compression = compression,
                                        .max_record_bytes = 4096,
                                        .keep_failed_record_text = skip_bad_rows});
  check(reader.has_value());
  std::string copy_text;
  std::uint64_t rows = 0;
  while (true) {
    const auto more = reader->next();
    if (!more) {
      check(more.error().kind == rsi::ErrorKind::permanent);
      check(!more.error().message.empty());
      check(reader->failure().has_value());
      const rsi::tsv::ReadFault fault = reader->failure()->fault;
      check(reader->failed_record_text().size() <= rsi::tsv::k_failed_record_text_bytes);
      if (skip_bad_rows && rsi::tsv::is_row_fault(fault)) {
        check(reader->failure()->line > 0);
        continue;
      }
      if (!rsi::tsv::is_row_fault(fault)) {
        check(!reader->next().has_value()); // The reader stays failed.
      }
      break;
    }
    if (!*more) {
      break;
    }
    ++rows;
    check_row(reader->row(), columns);
    copy_text.clear();
    rsi::warehouse::append_pg_copy_row(copy_text, reader->row(), columns);
    check(!copy_text.empty() && copy_text.back() == '\n');
    // One row is one line of COPY text: every newline in a value is escaped.
    check(copy_text.find('\n') == copy_text.size() - 1);
  }
  check(reader->counts().rows == rows);
  return 0;
}
