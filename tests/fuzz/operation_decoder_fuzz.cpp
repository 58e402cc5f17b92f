// libFuzzer target for the Blueprint migration decoder (core::parse_migration) and the DDL the
// warehouses build from what it accepts (warehouse::plan_migration). Any input must end in
// operations or a clean ErrorKind::permanent error, never a crash, a sanitizer report or a hang.
// Accepted operations must survive encode → decode unchanged, and every statement planned from
// them, in every dialect, must keep its identifiers inside balanced double quotes and hold no
// NUL byte. The first byte picks the current columns (table absent, or a few names); the rest
// is the response body. Build and run: tests/fuzz/run_operation_decoder_fuzz.sh.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/operation.hpp"
#include "pg/connection.hpp"
#include "warehouse/migration_plan.hpp"

namespace {

void check(bool condition) {
  if (!condition) {
    __builtin_trap();
  }
}

const rsi::warehouse::QuoteFn& quoter() {
  static rsi::pg::Connection conn = rsi::pg::Connection::detached().value();
  static const rsi::warehouse::QuoteFn quote = [](std::string_view name) {
    return conn.quote_identifier(name);
  };
  return quote;
}

std::optional<std::vector<std::string>> current_columns(std::uint8_t selector) {
  switch (selector % 4) {
  case 0:
    return std::nullopt; // The table does not exist: a create.
  case 1:
    return std::vector<std::string>{"time"};
  case 2:
    return std::vector<std::string>{"time", "channel", "device_id", "it's", "naïve"};
  default:
    return std::vector<std::string>{};
  }
}

void check_plan(const std::vector<rsi::core::Operation>& operations, std::uint8_t selector) {
  rsi::warehouse::Layout layout{.physical_schema = "logs",
                                .view_schema = "views",
                                .view_column = (selector & 4U) != 0 ? "time" : "",
                                .full_view_schema = "fullviews",
                                .full_view_replacements = {{"device_id", "NULL"}}};
  const int version = operations.empty() ? 0 : operations.front().version;
  for (const auto dialect : {rsi::warehouse::Dialect::redshift, rsi::warehouse::Dialect::postgres,
                             rsi::warehouse::Dialect::sqlite}) {
    const rsi::warehouse::SqlNames names(dialect, quoter(), layout);
    const auto plan = rsi::warehouse::plan_migration(names, "fuzz_table", version, operations,
                                                     current_columns(selector));
    if (!plan) {
      check(plan.error().kind == rsi::ErrorKind::permanent);
      check(!plan.error().message.empty());
      continue;
    }
    for (const auto& statement : plan->statements) {
      check(statement.find('\0') == std::string::npos);
      check(std::count(statement.begin(), statement.end(), '"') % 2 == 0);
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::uint8_t selector = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  const auto operations = rsi::core::parse_migration(body);
  if (!operations) {
    check(operations.error().kind == rsi::ErrorKind::permanent);
    check(!operations.error().message.empty());
    return 0;
  }
  const std::string encoded = rsi::core::encode_migration(*operations);
  const auto decoded = rsi::core::parse_migration(encoded);
  check(decoded.has_value());
  check(*decoded == *operations);
  check_plan(*operations, selector);
  return 0;
}
