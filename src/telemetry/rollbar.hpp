#pragma once

// Error reporting to Rollbar, as the original daemons did through their logger: every log line
// at error level becomes an item (a "message" occurrence at level "error") posted to Rollbar's
// item API. Reporting is best effort and never holds the daemon up: lines are queued (bounded;
// when full, new items are dropped and counted) and one background thread posts them with
// short timeouts and a few retries. The access token is a secret: it goes into the request only,
// never into a log line or an error message.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/log.hpp"

namespace rsi::telemetry {

inline constexpr std::string_view k_rollbar_endpoint = "https://api.rollbar.com/api/1/item/";

// The largest item (its "data" object, serialized) kept in the queue; longer messages and
// fields are cut so that the queue's memory stays bounded.
inline constexpr std::size_t k_rollbar_max_item_bytes = 16 * 1024;

struct RollbarConfig {
  std::string token;       // A post_server_item access token; empty: no reporting.
  std::string environment; // Rollbar's "environment" of every item.
  std::string endpoint = std::string(k_rollbar_endpoint); // Overridden by tests and proxies.
  std::string host; // "server.host"; empty: this machine's host name.
  std::size_t queue_capacity = 1000;
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds request_timeout{5'000}; // One attempt.
  int max_attempts = 3;                             // Per item, for 429, 5xx and timeouts.
  std::chrono::milliseconds drain_timeout{3'000};   // How long close() may spend sending.
  std::chrono::milliseconds warning_interval{
      std::chrono::minutes(1)}; // Between "dropped" warnings.
};

// The "data" object of the item for `record` (without the token), serialized and at most
// k_rollbar_max_item_bytes long: body.message.body is the line's message, the line's fields
// and caller sit beside it in body.message.
[[nodiscard]] std::string rollbar_item_data(const log::Record& record, std::string_view environment,
                                            std::string_view host);

class RollbarReporter {
public:
  struct Stats {
    std::uint64_t queued = 0;  // Waiting now.
    std::uint64_t sent = 0;    // Accepted by Rollbar (2xx).
    std::uint64_t failed = 0;  // Given up after the retries, or refused (4xx).
    std::uint64_t dropped = 0; // Never sent: the queue was full, or still held it at close().
    std::size_t queued_bytes = 0;
  };

  // Start the sender thread. Fails permanent without a token, an environment or an http(s)
  // endpoint, or when no HTTP client can be made. `clock` (for the warning interval) must
  // outlive the reporter.
  [[nodiscard]] static Result<std::unique_ptr<RollbarReporter>> start(RollbarConfig config,
                                                                      const Clock& clock);

  ~RollbarReporter(); // close()
  RollbarReporter(const RollbarReporter&) = delete;
  RollbarReporter& operator=(const RollbarReporter&) = delete;

  // Make every error-level log line an item (log::set_error_hook) until close().
  void attach_to_log();

  // Queue `record` as an item; false when it was dropped. Never blocks on the network.
  // Thread-safe.
  bool report(const log::Record& record);

  // Detach from the log, send what is queued for at most `drain_timeout`, then stop the
  // sender (an unfinished request is aborted). Idempotent.
  void close();

  [[nodiscard]] Stats stats() const;

private:
  struct State;
  explicit RollbarReporter(std::unique_ptr<State> state);

  std::unique_ptr<State> m_state;
};

} // namespace rsi::telemetry
