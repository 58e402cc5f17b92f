#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "core/operation.hpp"
#include "core/schema.hpp"

namespace rsi::registry {

// Where table schemas and the migrations between their versions come from: Blueprint over
// HTTP, or a local directory of schema files (docs/schema-registry.md). Implementations are
// thread-safe.
//
// Errors: `transient` when the registry cannot be reached or answers 5xx (retry later);
// `permanent` for what retrying cannot fix: Blueprint's {"Error":…} answers (their message is
// kept, e.g. "No migration for table 'x' to v2."), a response or schema file that does not
// decode (the file and field are named), a table name that fails validate_table_name.
class SchemaRegistry {
public:
  virtual ~SchemaRegistry() = default;

  // The steps that take `table` from version `to_version - 1` (nothing, for 0) to
  // `to_version`, ordered by Ordering, each with Version == `to_version`. Blueprint's
  // GET /migration/<table>?to_version=N. An empty vector is an empty migration.
  [[nodiscard]] virtual Result<std::vector<core::Operation>> migration(std::string_view table,
                                                                       int to_version) = 0;

  // The schema of `table` at `version`, or nullopt when that version is dropped or the table
  // or version is unknown (Blueprint's 404). Blueprint's GET /schema/<table>?version=N.
  [[nodiscard]] virtual Result<std::optional<core::TableSchema>> schema(std::string_view table,
                                                                        int version) = 0;

  // The newest version of `table`, or nullopt when the table is unknown or its newest version
  // dropped it. Blueprint's GET /schema/<table> (no version). What a --route without a version
  // records a key with (core/route.hpp).
  [[nodiscard]] virtual Result<std::optional<int>> current_version(std::string_view table) = 0;
};

} // namespace rsi::registry
