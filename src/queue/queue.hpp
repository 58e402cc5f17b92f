#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"

namespace rsi::queue {

// Limits shared by every backend (they are SQS's): messages per receive or per batch call,
// and the longest long poll.
inline constexpr std::size_t k_max_batch = 10;
inline constexpr std::chrono::seconds k_max_wait{20};

// A permanent error when a batch call names more than k_max_batch messages.
inline Result<void> validate_batch(std::size_t size, std::string_view operation) {
  if (size > k_max_batch) {
    return fail(ErrorKind::permanent, fmt::format("{}: at most {} messages per batch, got {}",
                                                  operation, k_max_batch, size));
  }
  return {};
}

// A permanent error unless a receive asks for 1 to k_max_batch messages and waits 0 to k_max_wait.
inline Result<void> validate_receive(std::size_t max_messages, std::chrono::seconds wait,
                                     std::string_view queue) {
  if (max_messages == 0 || max_messages > k_max_batch || wait < std::chrono::seconds(0) ||
      wait > k_max_wait) {
    return fail(
        ErrorKind::permanent,
        fmt::format("receive {}: max_messages must be 1..{} and wait 0..{}s, got {} and {}s", queue,
                    k_max_batch, k_max_wait.count(), max_messages, wait.count()));
  }
  return {};
}

struct Message {
  std::string id;      // Stable across redeliveries of the same message.
  std::string receipt; // Identifies this delivery; needed to remove it or change its visibility.
  std::string body;
  int receive_count = 1; // 1 on the first delivery, incremented on each redelivery.
  // When the producer sent the message, or when it was first received if the backend does not
  // know the send time; nullopt when neither is known.
  std::optional<TimePoint> sent_at;
};

// How many messages a queue holds, as far as it can tell.
struct QueueDepth {
  std::int64_t waiting = 0;   // Visible: nobody has received them yet (or their lease ran out).
  std::int64_t in_flight = 0; // Received and not yet removed (being processed, or deferred).
  std::int64_t delayed = 0;   // Sent with a delay that has not passed yet.
  bool approximate = false;   // SQS's counts are approximate; a local inbox's are exact.
  // Local inbox: files set aside in `rejected/` (not messages: links, oversize files), not
  // counted in the others.
  std::int64_t set_aside = 0;

  [[nodiscard]] std::int64_t total() const { return waiting + in_flight + delayed; }
};

// One message of a batch call that did not succeed. `error.kind` is `conflict` when the
// receipt is stale (its visibility expired and the message may be with another consumer, or
// it was already removed), `permanent` for a rejected entry, `transient` for a server fault.
struct BatchFailure {
  std::string id; // Message::id of the failed entry.
  Error error;
};

// The per-message outcome of a batch call: every message not listed in `failed` succeeded.
struct BatchOutcome {
  std::vector<BatchFailure> failed;

  [[nodiscard]] bool all_succeeded() const { return failed.empty(); }
};

// An at-least-once message source. A message that is not removed within its visibility
// timeout is delivered again (with a higher `receive_count`), so consumers must be idempotent.
// Not thread-safe: use one instance per consuming thread; instances on the same queue never
// hold the same message at the same time.
class Queue {
public:
  Queue() = default;
  virtual ~Queue() = default;
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;
  Queue(Queue&&) = delete;
  Queue& operator=(Queue&&) = delete;

  // Wait up to `wait` (at most k_max_wait) for messages and return 1 to `max_messages` (at
  // most k_max_batch) of them, hidden from other consumers for the visibility timeout. An
  // empty vector means the wait elapsed, or `stop` was requested; neither is an error. Fails
  // `transient` on a network or server fault and `permanent` when the queue does not exist or
  // is not allowed.
  [[nodiscard]] virtual Result<std::vector<Message>>
  receive(std::size_t max_messages, std::chrono::seconds wait, std::stop_token stop = {}) = 0;

  // Delete the deliveries of `messages` (at most k_max_batch; none is a no-op). Entries that
  // fail are listed in the outcome (a stale receipt is a `conflict`); the call itself fails
  // only when the whole request failed, with the kinds of `receive`.
  [[nodiscard]] virtual Result<BatchOutcome> remove(std::span<const Message> messages) = 0;

  // Hide the deliveries of `messages` (at most k_max_batch) for `timeout` from now on:
  // extends the lease of slow work, or with a zero `timeout` releases the messages for
  // redelivery at once. Failures are reported as for `remove`.
  [[nodiscard]] virtual Result<BatchOutcome> change_visibility(std::span<const Message> messages,
                                                               std::chrono::seconds timeout) = 0;

  // How many messages the queue holds now (for status pages and "is everything loaded?").
  // Fails with the kinds of `receive`.
  [[nodiscard]] virtual Result<QueueDepth> depth() = 0;
};

} // namespace rsi::queue
