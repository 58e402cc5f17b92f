// One thread accepts; each connection gets a thread of its own that polls its sockets every
// 100 ms, so stopping the proxy needs nothing but a flag. Requests and responses are not
// parsed beyond finding the end of a head ("\r\n\r\n") and a response's Content-Length.

#include "support/fault_proxy.hpp"

#include <array>
#include <charconv>
#include <chrono>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace rsi::test {
namespace {

constexpr int k_poll_ms = 100;
constexpr std::size_t k_max_head_bytes = 64 * 1024;
constexpr auto k_head_timeout = std::chrono::seconds(10);

// A socket closed on destruction.
class Socket {
public:
  explicit Socket(int fd) : m_fd(fd) {}
  ~Socket() {
    if (m_fd >= 0) {
      close(m_fd);
    }
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  [[nodiscard]] int fd() const { return m_fd; }

private:
  int m_fd;
};

sockaddr_in loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  return address;
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const auto sent = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent <= 0) {
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

// Waits up to one poll period for `fd` to be readable; false when it is not (yet).
bool readable(int fd) {
  pollfd entry{.fd = fd, .events = POLLIN, .revents = 0};
  return poll(&entry, 1, k_poll_ms) > 0;
}

// The Content-Length of a response head, or nullopt when it has none.
std::optional<std::size_t> content_length(std::string_view head) {
  std::size_t at = 0;
  while ((at = head.find("\r\n", at)) != std::string_view::npos) {
    at += 2;
    constexpr std::string_view k_name = "content-length:";
    if (head.size() - at < k_name.size()) {
      break;
    }
    bool matches = true;
    for (std::size_t index = 0; index < k_name.size(); ++index) {
      const char ch = head[at + index];
      matches = matches &&
                (ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch) == k_name[index];
    }
    if (matches) {
      std::size_t value_at = at + k_name.size();
      while (value_at < head.size() && head[value_at] == ' ') {
        ++value_at;
      }
      std::size_t length = 0;
      const auto parsed =
          std::from_chars(head.data() + value_at, head.data() + head.size(), length);
      return parsed.ec == std::errc() ? std::optional(length) : std::nullopt;
    }
  }
  return std::nullopt;
}

const std::string k_slow_down_body =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please "
    "reduce "
    "your request rate.</Message><RequestId>fault-proxy</RequestId></Error>";

} // namespace

FaultProxy::FaultProxy(int upstream_port) : m_upstream_port(upstream_port) {
  m_listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  if (m_listen_fd < 0) {
    throw std::runtime_error("fault proxy: socket failed");
  }
  const int yes = 1;
  setsockopt(m_listen_fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  sockaddr_in address = loopback(0);
  socklen_t length = sizeof(address);
  if (bind(m_listen_fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(m_listen_fd, 128) != 0 ||
      getsockname(m_listen_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(m_listen_fd);
    throw std::runtime_error("fault proxy: cannot listen on 127.0.0.1");
  }
  m_port = ntohs(address.sin_port);
  m_accept_thread = std::thread([this] { accept_loop(); });
}

FaultProxy::~FaultProxy() {
  m_stop = true;
  m_accept_thread.join();
  for (auto& connection : m_connections) {
    connection->thread.join();
  }
  close(m_listen_fd);
}

void FaultProxy::set_policy(FaultPolicy policy) {
  const std::lock_guard lock(m_mutex);
  m_policy = std::move(policy);
}

std::string FaultProxy::url() const { return fmt::format("http://127.0.0.1:{}", m_port); }

std::size_t FaultProxy::connections(ConnectionFault fault) const {
  return m_counts[static_cast<std::size_t>(fault)].load();
}

void FaultProxy::accept_loop() {
  while (!m_stop) {
    reap_finished();
    if (!readable(m_listen_fd)) {
      continue;
    }
    const int client_fd = accept(m_listen_fd, nullptr, nullptr);
    if (client_fd < 0) {
      continue;
    }
    ConnectionFault fault = ConnectionFault::none;
    {
      const std::lock_guard lock(m_mutex);
      if (m_policy) {
        fault = m_policy();
      }
    }
    ++m_counts[static_cast<std::size_t>(fault)];
    auto connection = std::make_unique<Connection>();
    Connection* raw = connection.get();
    connection->thread = std::thread([this, client_fd, fault, raw] {
      serve(client_fd, fault);
      raw->finished = true;
    });
    m_connections.push_back(std::move(connection));
  }
}

void FaultProxy::reap_finished() {
  for (auto it = m_connections.begin(); it != m_connections.end();) {
    if ((*it)->finished) {
      (*it)->thread.join();
      it = m_connections.erase(it);
    } else {
      ++it;
    }
  }
}

void FaultProxy::serve(int client_fd, ConnectionFault fault) {
  const Socket client(client_fd);
  if (fault == ConnectionFault::none || fault == ConnectionFault::cut_response) {
    forward(client_fd, fault);
    return;
  }
  // Both other faults wait for the request head first, as a server that fails while handling a
  // request would.
  std::string head;
  const auto deadline = std::chrono::steady_clock::now() + k_head_timeout;
  char buffer[4096];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < k_max_head_bytes) {
    if (m_stop || std::chrono::steady_clock::now() > deadline) {
      return;
    }
    if (!readable(client_fd)) {
      continue;
    }
    const auto got = recv(client_fd, buffer, sizeof(buffer), 0);
    if (got <= 0) {
      return;
    }
    head.append(buffer, static_cast<std::size_t>(got));
  }
  if (fault == ConnectionFault::drop) {
    return;
  }
  const std::string response = fmt::format(
      "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n"
      "Connection: close\r\n\r\n{}",
      k_slow_down_body.size(), k_slow_down_body);
  if (!send_all(client_fd, response)) {
    return;
  }
  // Let the client read the answer before the socket goes: closing with its request body
  // unread would reset the connection and discard the 503 on the way.
  shutdown(client_fd, SHUT_WR);
  const auto drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!m_stop && std::chrono::steady_clock::now() < drain_deadline) {
    if (readable(client_fd) && recv(client_fd, buffer, sizeof(buffer), 0) <= 0) {
      return;
    }
  }
}

void FaultProxy::forward(int client_fd, ConnectionFault fault) {
  const Socket upstream(socket(AF_INET, SOCK_STREAM, 0));
  const sockaddr_in address = loopback(m_upstream_port);
  if (upstream.fd() < 0 ||
      connect(upstream.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return;
  }
  // cut_response: the first response's bytes are counted until `cut_at`, known once its head
  // has arrived: the head and half the body (or half the head when there is no body).
  std::string response_head;
  std::size_t forwarded = 0;
  std::size_t cut_at = std::numeric_limits<std::size_t>::max();
  char buffer[16384];
  while (!m_stop) {
    std::array<pollfd, 2> fds{{{.fd = client_fd, .events = POLLIN, .revents = 0},
                               {.fd = upstream.fd(), .events = POLLIN, .revents = 0}}};
    if (poll(fds.data(), fds.size(), k_poll_ms) <= 0) {
      continue;
    }
    if (fds[0].revents != 0) {
      const auto got = recv(client_fd, buffer, sizeof(buffer), 0);
      if (got <= 0 ||
          !send_all(upstream.fd(), std::string_view(buffer, static_cast<std::size_t>(got)))) {
        return;
      }
    }
    if (fds[1].revents != 0) {
      const auto got = recv(upstream.fd(), buffer, sizeof(buffer), 0);
      if (got <= 0) {
        return;
      }
      std::string_view bytes(buffer, static_cast<std::size_t>(got));
      if (fault == ConnectionFault::cut_response) {
        if (cut_at == std::numeric_limits<std::size_t>::max()) {
          response_head.append(bytes.substr(0, k_max_head_bytes));
          if (const auto end = response_head.find("\r\n\r\n"); end != std::string::npos) {
            const std::size_t head_bytes = end + 4;
            const std::size_t body_bytes =
                content_length(response_head.substr(0, head_bytes)).value_or(0);
            cut_at = body_bytes >= 2 ? head_bytes + body_bytes / 2 : head_bytes / 2;
          }
        }
        if (forwarded + bytes.size() >= cut_at) {
          if (cut_at > forwarded) {
            (void)send_all(client_fd, bytes.substr(0, cut_at - forwarded));
          }
          return;
        }
      }
      if (!send_all(client_fd, bytes)) {
        return;
      }
      forwarded += bytes.size();
    }
  }
}

} // namespace rsi::test
