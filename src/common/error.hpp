#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/format.h>

namespace rsi {

// How the unit-of-work boundary should react to a failure (docs/architecture.md, "Errors").
enum class ErrorKind {
  transient, // Back off and retry; reconnect first.
  permanent, // Retrying the same input cannot help: reject, fail the batch, alert.
  conflict,  // Someone else changed the state: re-read it and carry on.
};

std::string_view to_string(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::permanent;
  std::string message; // "<operation> <target>: <cause>", never credentials.

  // The same error with `context` in front: "context: message".
  [[nodiscard]] Error wrap(std::string_view context) const {
    return Error{kind, fmt::format("{}: {}", context, message)};
  }
};

template <class T> using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(ErrorKind kind, std::string message) {
  return std::unexpected<Error>(Error{kind, std::move(message)});
}

inline std::unexpected<Error> fail(Error error) { return std::unexpected<Error>(std::move(error)); }

// `result`, its error (if any) with `context` in front: for RSI_TRY_ASSIGN(x, with_context(f(),
// "--flag")).
template <class T> Result<T> with_context(Result<T> result, std::string_view context) {
  if (!result) {
    return fail(result.error().wrap(context));
  }
  return result;
}

// The text of an errno value ("No such file or directory"), for error messages.
inline std::string errno_message(int error) { return std::generic_category().message(error); }

inline std::string_view to_string(ErrorKind kind) {
  switch (kind) {
  case ErrorKind::transient:
    return "transient";
  case ErrorKind::permanent:
    return "permanent";
  case ErrorKind::conflict:
    return "conflict";
  }
  return "unknown";
}

} // namespace rsi

#define RSI_CONCAT_IMPL(a, b) a##b
#define RSI_CONCAT(a, b) RSI_CONCAT_IMPL(a, b)

// Evaluate `expr` (a Result); on error return it from the enclosing function.
#define RSI_TRY(expr)                                                                              \
  do {                                                                                             \
    auto&& rsi_try_result = (expr);                                                                \
    if (!rsi_try_result) {                                                                         \
      return ::std::unexpected<::rsi::Error>(std::move(rsi_try_result.error()));                   \
    }                                                                                              \
  } while (false)

// `RSI_TRY_ASSIGN(auto x, f())`: declare/assign the value of `f()` or return its error.
#define RSI_TRY_ASSIGN(lhs, expr) RSI_TRY_ASSIGN_IMPL(RSI_CONCAT(rsi_try_tmp_, __LINE__), lhs, expr)
#define RSI_TRY_ASSIGN_IMPL(tmp, lhs, expr)                                                        \
  auto tmp = (expr);                                                                               \
  if (!tmp) {                                                                                      \
    return ::std::unexpected<::rsi::Error>(std::move(tmp.error()));                                \
  }                                                                                                \
  lhs = std::move(*tmp)
