#include "warehouse/load_protocol.hpp"

#include <fmt/format.h>

namespace rsi::warehouse::detail {
namespace {

LoadOutcome<LoadResult>
load_in_transaction(const LoadRequest& request,
                    const std::function<Result<std::unique_ptr<LoadTransaction>>()>& begin) {
  RSI_TRY_ASSIGN(const auto transaction, begin());
  RSI_TRY_ASSIGN(const bool entered, transaction->enter_ledger(request));
  if (!entered) {
    return fail(ErrorKind::conflict, "the manifest is in the ledger already: it was loaded");
  }
  RSI_TRY_ASSIGN(const auto version, transaction->table_version(request.table));
  RSI_TRY(expect_version("load into", request.table, version, request.version));
  auto loaded = transaction->load_rows(request);
  if (!loaded) {
    return loaded; // A data failure keeps its file.
  }
  RSI_TRY(transaction->complete_ledger(request, *loaded));
  RSI_TRY(transaction->commit());
  return loaded;
}

} // namespace

LoadOutcome<LoadResult>
run_load(const LoadRequest& request, Dialect dialect,
         const std::function<Result<std::unique_ptr<LoadTransaction>>()>& begin) {
  if (auto checked = check_load_request(request, dialect); !checked) {
    return std::unexpected(std::move(checked.error()));
  }
  auto loaded = load_in_transaction(request, begin);
  if (!loaded) {
    LoadError& error = loaded.error();
    error.message =
        fmt::format("load {} into {}: {}", request.manifest, request.table, error.message);
  }
  return loaded;
}

Result<void> expect_version(std::string_view what, std::string_view table,
                            std::optional<int> current, int expected) {
  if (current.value_or(-1) == expected) {
    return {};
  }
  const std::string held = current ? fmt::format("version {}", *current) : "no version";
  const std::string wanted = expected < 0 ? "none" : fmt::format("{}", expected);
  return fail(ErrorKind::conflict, fmt::format("{} {}: the warehouse holds {} (expected {})", what,
                                               table, held, wanted));
}

} // namespace rsi::warehouse::detail
