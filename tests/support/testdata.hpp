#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace rsi::test {

// A file under ../shared/testdata, or nullopt when the folder is absent.
std::optional<std::filesystem::path> testdata_file(const std::string& name);
// A file under ../shared/spec (recorded wire formats), or nullopt when absent.
std::optional<std::filesystem::path> spec_file(const std::string& name);

// True in CI (CI=true), where absent shared data is a failure, not a skip.
bool in_ci();

} // namespace rsi::test

// Skip (or, in CI, fail) when a shared data file is missing; else bind it to `var`.
#define RSI_REQUIRE_TESTDATA(var, lookup)                                                          \
  const auto var##_found = (lookup);                                                               \
  if (!var##_found) {                                                                              \
    if (::rsi::test::in_ci()) {                                                                    \
      FAIL() << "shared test data missing in CI: " #lookup;                                        \
    }                                                                                              \
    GTEST_SKIP() << "shared test data not found (expected ../shared beside the repository)";       \
  }                                                                                                \
  const std::filesystem::path var = *var##_found
