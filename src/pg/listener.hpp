#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/retry.hpp"
#include "pg/connection.hpp"

namespace rsi::pg {

// One notification as the server delivered it. The payload is whatever the sender chose (anyone
// who can connect to the database can send one): a hint at most, cut to
// Listener::k_max_payload_bytes.
struct Notification {
  std::string channel;
  std::string payload;
  int sender_pid = 0; // The sending session's server process.
};

// A connection of its own that LISTENs on one channel. PostgreSQL delivers a NOTIFY sent inside
// a transaction when (and only if) that transaction commits, to the sessions listening at that
// moment: what is sent while no session listens is lost. Move-only; one thread at a time.
class Listener {
public:
  static constexpr std::size_t k_max_payload_bytes = 256;
  static constexpr std::size_t k_max_per_wait = 1024; // The rest waits for the next wait().

  // Connects with `conninfo` (as Connection::connect does) and runs LISTEN `channel`. Fails
  // transient when the server cannot be reached.
  [[nodiscard]] static Result<Listener> listen(const std::string& conninfo,
                                               std::string_view channel);

  // The notifications that arrived, waiting up to `timeout` for the first one (none arrived:
  // empty). Fails transient when the connection broke; this listener is then of no further use
  // (listen again, knowing that what was sent meanwhile is lost).
  [[nodiscard]] Result<std::vector<Notification>> wait(std::chrono::milliseconds timeout);

  // The server process of this session (what pg_terminate_backend takes).
  [[nodiscard]] int backend_pid() const;

private:
  Listener(Connection conn, std::string channel)
      : m_conn(std::move(conn)), m_channel(std::move(channel)) {}
  // Moves what libpq has parsed already into `out`, up to k_max_per_wait.
  void take_parsed(std::vector<Notification>& out);

  Connection m_conn;
  std::string m_channel;
};

struct ListenOptions {
  // The longest one wait lasts: a stop request is seen within this time.
  std::chrono::milliseconds stop_check{200};
  // At least this long between two calls of `on_notified` (0: none): notifications that arrive
  // sooner are answered by one call when the interval ends.
  std::chrono::milliseconds min_interval{0};
  // Between attempts to listen again after the connection broke (or could not be opened).
  BackoffPolicy reconnect{.initial_delay = std::chrono::milliseconds(500),
                          .max_delay = std::chrono::seconds(30),
                          .max_attempts = 0};
};

// Listens on `channel` until `stop`, on a connection of its own, and calls `on_notified`
// (on this thread) once for whatever notifications arrived together, and each time listening
// starts or starts again (a notification sent while nobody listened is lost, so the caller
// must look for itself). A broken connection is logged once (warn), reopened with
// `options.reconnect`'s backoff, and its return logged (info). Returns only once `stop` is
// requested (within `options.stop_check`, or one connect timeout while the server is down).
void listen_until_stopped(const std::string& conninfo, std::string_view channel,
                          const std::function<void()>& on_notified, std::stop_token stop,
                          const ListenOptions& options = {});

} // namespace rsi::pg
