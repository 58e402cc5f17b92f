#pragma once

// The one protocol every warehouse loads a batch by; the backends supply its steps. Not part
// of the warehouse interface: include only from the backends.

#include <memory>
#include <optional>
#include <string_view>

#include "common/error.hpp"
#include "warehouse/ddl.hpp"
#include "warehouse/warehouse.hpp"

namespace rsi::warehouse::detail {

// One load's transaction in one warehouse. It rolls back when destroyed before commit().
class LoadTransaction {
public:
  LoadTransaction() = default;
  virtual ~LoadTransaction() = default;
  LoadTransaction(const LoadTransaction&) = delete;
  LoadTransaction& operator=(const LoadTransaction&) = delete;

  // Enter `request`'s manifest uuid in the ledger, or (where the row can only be written once
  // the row count is known) make sure it is not there. false: the ledger has it already.
  [[nodiscard]] virtual Result<bool> enter_ledger(const LoadRequest& request) = 0;
  // The table's version (the largest in infra.table_version), or nullopt when it has none.
  [[nodiscard]] virtual Result<std::optional<int>> table_version(std::string_view table) = 0;
  // Every row of every file of `request` into its table (a data failure says which file).
  [[nodiscard]] virtual LoadOutcome<LoadResult> load_rows(const LoadRequest& request) = 0;
  // The ledger row with what was loaded.
  [[nodiscard]] virtual Result<void> complete_ledger(const LoadRequest& request,
                                                     const LoadResult& loaded) = 0;
  [[nodiscard]] virtual Result<void> commit() = 0;
};

// Loads `request` exactly once, in the only order that makes that hold for every warehouse:
//   1. check the request (check_load_request for `dialect`);
//   2. begin the transaction and enter the uuid in the ledger: a uuid the ledger has fails with
//      ErrorKind::conflict ("it was loaded") and nothing is loaded;
//   3. the table must be at `request.version` (ErrorKind::conflict otherwise: the migrator
//      moved it, the batch belongs to another schema);
//   4. the rows, then the ledger row's counts, then one commit: rows and ledger row land
//      together or not at all.
// Errors read "load <uuid> into <table>: …". The caller (the loader) logs the outcome once.
[[nodiscard]] LoadOutcome<LoadResult>
run_load(const LoadRequest& request, Dialect dialect,
         const std::function<Result<std::unique_ptr<LoadTransaction>>()>& begin);

// Conflict unless `current` is `expected` (-1: no version at all), naming `what` and the table.
[[nodiscard]] Result<void> expect_version(std::string_view what, std::string_view table,
                                          std::optional<int> current, int expected);

} // namespace rsi::warehouse::detail
