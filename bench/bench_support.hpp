#pragma once

// What every benchmark needs: the median of its runs, and a way out of a run that failed (die(),
// value_or_die()) that main() turns into a message and exit status 1.

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace rsi::bench {

// The middle value; the mean of the two middle ones for an even count; 0 for none.
inline double median(std::vector<double> values) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  const std::size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

// Thrown by die(): main() catches it (so that destructors stop what the run started).
struct BenchFailure {
  std::string message;
};

[[noreturn]] inline void die(const std::string& message) { throw BenchFailure{message}; }

// main() of a benchmark: what `body` returns, or 1 after a failure (die()) or another exception,
// whose message goes to stderr after `name`.
template <class Body> int run_main(const char* name, Body&& body) {
  try {
    return body();
  } catch (const BenchFailure& failure) {
    std::fprintf(stderr, "%s: %s\n", name, failure.message.c_str());
  } catch (const std::exception& error) { // The test helpers' PostgresSchema and the like.
    std::fprintf(stderr, "%s: %s\n", name, error.what());
  }
  return 1;
}

template <class T> T value_or_die(Result<T> result) {
  if (!result) {
    die(result.error().message);
  }
  if constexpr (!std::is_void_v<T>) {
    return std::move(*result);
  }
}

} // namespace rsi::bench
