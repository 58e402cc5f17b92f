// LISTEN on a dedicated connection: the session runs LISTEN once and then only reads. Waiting is
// poll() on libpq's socket with a timeout (so a stop is seen promptly), then PQconsumeInput and
// PQnotifies. A terminated backend sends a FATAL error and closes the socket: PQconsumeInput
// then fails and the status turns CONNECTION_BAD, which is how a break is told. A network that
// silently drops the connection is found by the TCP keepalives Connection::connect turns on.
#include "pg/listener.hpp"

#include <algorithm>
#include <cerrno>
#include <optional>

#include <poll.h>

#include "common/c_handle.hpp"
#include "common/log.hpp"
#include "common/sleep.hpp"

namespace rsi::pg {
namespace {

void free_notify(PGnotify* notify) { PQfreemem(notify); }
using NotifyHandle = CHandle<PGnotify, &free_notify>;

std::string listener_error(PGconn* conn, std::string_view channel) {
  std::string_view message = PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.remove_suffix(1);
  }
  return fmt::format("listen on {}: {}", channel,
                     message.empty() ? std::string_view("connection lost") : message);
}

} // namespace

Result<Listener> Listener::listen(const std::string& conninfo, std::string_view channel) {
  RSI_TRY_ASSIGN(Connection conn, Connection::connect(conninfo));
  RSI_TRY_ASSIGN(const std::string quoted, conn.quote_identifier(channel));
  if (auto listening = conn.exec_script("LISTEN " + quoted); !listening) {
    return fail(listening.error().wrap(fmt::format("listen on {}", channel)));
  }
  return Listener(std::move(conn), std::string(channel));
}

int Listener::backend_pid() const { return PQbackendPID(m_conn.raw()); }

void Listener::take_parsed(std::vector<Notification>& out) {
  while (out.size() < k_max_per_wait) {
    const NotifyHandle notify(PQnotifies(m_conn.raw()));
    if (!notify) {
      return;
    }
    const std::string_view payload = notify->extra != nullptr ? notify->extra : "";
    out.push_back({.channel = notify->relname != nullptr ? notify->relname : "",
                   .payload = std::string(payload.substr(0, k_max_payload_bytes)),
                   .sender_pid = notify->be_pid});
  }
}

Result<std::vector<Notification>> Listener::wait(std::chrono::milliseconds timeout) {
  PGconn* conn = m_conn.raw();
  std::vector<Notification> arrived;
  // Parsed by an earlier read (the LISTEN's reply, or more than one wait's worth).
  take_parsed(arrived);
  if (!arrived.empty()) {
    return arrived;
  }
  if (PQstatus(conn) != CONNECTION_OK || PQsocket(conn) < 0) {
    return fail(ErrorKind::transient, listener_error(conn, m_channel));
  }
  pollfd socket{.fd = PQsocket(conn), .events = POLLIN, .revents = 0};
  const int ready =
      ::poll(&socket, 1, static_cast<int>(std::max<std::int64_t>(timeout.count(), 0)));
  if (ready < 0) {
    if (errno == EINTR) {
      return arrived; // A signal: the caller looks at its stop token and waits again.
    }
    return fail(ErrorKind::transient,
                fmt::format("listen on {}: poll: {}", m_channel, errno_message(errno)));
  }
  if (ready == 0) {
    return arrived;
  }
  if (PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK) {
    return fail(ErrorKind::transient, listener_error(conn, m_channel));
  }
  take_parsed(arrived);
  return arrived;
}

void listen_until_stopped(const std::string& conninfo, std::string_view channel,
                          const std::function<void()>& on_notified, std::stop_token stop,
                          const ListenOptions& options) {
  using Steady = std::chrono::steady_clock;
  std::optional<Listener> listener;
  int failed_attempts = 0; // Since listening last started.
  bool down = false;       // Logged as not listening; the next start is logged as a return.
  bool owed = false;       // Notifications arrived that on_notified has not answered yet.
  Steady::time_point last_call;
  while (!stop.stop_requested()) {
    if (!listener) {
      auto opened = Listener::listen(conninfo, channel);
      if (!opened) {
        if (!down) {
          log::warn("cannot listen for notifications; relying on polls until it can",
                    {{"channel", channel}, {"error", opened.error().message}});
          down = true;
        } else {
          log::debug("still cannot listen for notifications",
                     {{"channel", channel}, {"error", opened.error().message}});
        }
        sleep_unless_stopped(stop, options.reconnect.delay(failed_attempts++, jitter_rng()));
        continue;
      }
      listener.emplace(std::move(*opened));
      if (down) {
        log::info("listening for notifications again",
                  {{"channel", channel}, {"attempts", failed_attempts + 1}});
      } else {
        log::debug("listening for notifications", {{"channel", channel}});
      }
      down = false;
      failed_attempts = 0;
      // Whatever was sent before this session listened is lost: the caller looks now.
      on_notified();
      last_call = Steady::now();
      owed = false;
    }
    auto timeout = options.stop_check;
    if (owed) {
      timeout = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(
                               last_call + options.min_interval - Steady::now()),
                           std::chrono::milliseconds(0), timeout);
    }
    auto arrived = listener->wait(timeout);
    if (!arrived) {
      log::warn("lost the connection that listens for notifications; reconnecting",
                {{"channel", channel}, {"error", arrived.error().message}});
      down = true;
      listener.reset();
      continue;
    }
    if (!arrived->empty()) {
      owed = true;
      log::debug("notified", {{"channel", channel}, {"notifications", arrived->size()}});
    }
    if (owed && Steady::now() - last_call >= options.min_interval) {
      on_notified();
      last_call = Steady::now();
      owed = false;
    }
  }
}

} // namespace rsi::pg
