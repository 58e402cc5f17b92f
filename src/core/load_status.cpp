#include "core/load_status.hpp"

#include <array>

namespace rsi::core {
namespace {

constexpr std::array k_statuses{LoadStatus::complete, LoadStatus::failed, LoadStatus::not_found,
                                LoadStatus::in_progress};

} // namespace

std::string_view to_string(LoadStatus status) {
  switch (status) {
  case LoadStatus::complete:
    return "complete";
  case LoadStatus::failed:
    return "failed";
  case LoadStatus::not_found:
    return "not_found";
  case LoadStatus::in_progress:
    return "in_progress";
  }
  return "unknown";
}

std::optional<LoadStatus> parse_load_status(std::string_view name) {
  for (const LoadStatus status : k_statuses) {
    if (to_string(status) == name) {
      return status;
    }
  }
  return std::nullopt;
}

} // namespace rsi::core
