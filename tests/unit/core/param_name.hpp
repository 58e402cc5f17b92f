#pragma once

#include <ostream>
#include <string>

#include <gtest/gtest.h>

namespace rsi::core {

// Names each instance of a value-parameterized test after its case's `test_name`.
template <class Case> std::string param_name(const ::testing::TestParamInfo<Case>& info) {
  return info.param.test_name;
}

// This header's anonymous namespace is the including test file's own, where its case structs
// live, so GoogleTest finds this PrintTo by argument-dependent lookup and prints a failing
// case by name instead of as a byte dump.
namespace {

template <class Case>
  requires requires(const Case& test_case) { test_case.test_name; }
void PrintTo(const Case& test_case, std::ostream* out) {
  *out << test_case.test_name;
}

} // namespace
} // namespace rsi::core
