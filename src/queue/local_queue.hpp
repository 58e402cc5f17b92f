#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "queue/queue.hpp"

namespace rsi::queue {

// A queue kept in a local inbox directory (`dir:///path`): each regular file whose name does not
// start with '.' is one message, its name the message id and its content the body.
struct LocalConfig {
  std::filesystem::path inbox; // Created, with its in-flight folder, when missing.
  std::chrono::seconds visibility_timeout{300};
  // How often a long poll rechecks for expired deliveries; new files wake it at once.
  std::chrono::milliseconds poll_interval{100};
  // Larger message files are not read: they are set aside in `<inbox>/rejected/` with the
  // reason (as are links and anything else that is not a regular file). SQS's limit.
  std::size_t max_message_bytes = 256 * 1024;
};

// Deadlines are read from `clock`, which must outlive the queue. Fails `permanent` when the
// inbox cannot be created.
[[nodiscard]] Result<std::unique_ptr<Queue>> make_local_queue(const LocalConfig& config,
                                                              const Clock& clock);

// The messages in `inbox` at `now`, counted without a queue instance (for `rs_ingester status`
// beside a running process): new files and expired deliveries wait, the others are in flight.
// An inbox that does not exist holds nothing.
[[nodiscard]] Result<QueueDepth> local_inbox_depth(const std::filesystem::path& inbox,
                                                   TimePoint now);

// Producer side: write `body` into `inbox` atomically (a hidden temporary file, synced, then
// renamed into place) and return the new message's id (its file name). Names sort by time.
[[nodiscard]] Result<std::string> publish_local_message(const std::filesystem::path& inbox,
                                                        std::string_view body);

} // namespace rsi::queue
