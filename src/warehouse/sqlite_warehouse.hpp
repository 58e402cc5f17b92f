#pragma once

#include <filesystem>
#include <memory>

#include "common/error.hpp"
#include "warehouse/batch_files.hpp"
#include "warehouse/warehouse.hpp"

namespace rsi::warehouse {

// SQLite as the warehouse (the embedded default). One database file holds everything: event
// tables under their own names, views as "<viewSchema>.<table>", and the bookkeeping tables
// "infra.table_version", "infra.load_manifest" and "infra.rejected_row" (docs/warehouse.md).
// `layout.physical_schema` is not used.
struct SqliteConfig {
  std::filesystem::path path; // Created with its bookkeeping tables when missing.
  Layout layout;
  FileLocator files; // Where the batch files are read from.
  BatchReadOptions read;
};

[[nodiscard]] Result<std::unique_ptr<Warehouse>> make_sqlite_warehouse(const SqliteConfig& config);

} // namespace rsi::warehouse
