#include "support/testdata.hpp"

#include <cstdlib>
#include <string_view>

namespace rsi::test {
namespace {

std::optional<std::filesystem::path> existing(const std::filesystem::path& path) {
  std::error_code error;
  if (std::filesystem::exists(path, error)) {
    return path;
  }
  return std::nullopt;
}

} // namespace

std::optional<std::filesystem::path> testdata_file(const std::string& name) {
  return existing(std::filesystem::path(RSI_TESTDATA_DIR) / name);
}

std::optional<std::filesystem::path> spec_file(const std::string& name) {
  return existing(std::filesystem::path(RSI_SPEC_DIR) / name);
}

bool in_ci() {
  const char* value = std::getenv("CI");
  return value != nullptr && (std::string_view(value) == "true" || std::string_view(value) == "1");
}

} // namespace rsi::test
