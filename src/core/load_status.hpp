#pragma once

#include <optional>
#include <string_view>

namespace rsi::core {

// The answer to "did this load commit?", asked of the warehouse before a failed or orphaned
// manifest is retried (docs/architecture.md, "Exactly once").
enum class LoadStatus {
  complete,    // Committed: mark the manifest done, never load it again.
  failed,      // Ran and rolled back: safe to retry.
  not_found,   // No trace of it: safe to retry.
  in_progress, // Still running somewhere: wait, neither retry nor mark done.
};

// "complete", "failed", "not_found", "in_progress".
std::string_view to_string(LoadStatus status);

// The LoadStatus named by to_string, or nullopt.
std::optional<LoadStatus> parse_load_status(std::string_view name);

} // namespace rsi::core
