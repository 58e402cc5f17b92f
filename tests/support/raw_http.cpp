#include "support/raw_http.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace rsi::test {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return text;
}

int poll_ms(std::chrono::milliseconds timeout) {
  return static_cast<int>(std::max<std::chrono::milliseconds::rep>(0, timeout.count()));
}

} // namespace

RawConnection::RawConnection(int port) {
  m_fd = socket(AF_INET, SOCK_STREAM, 0);
  if (m_fd < 0) {
    return;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (connect(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(m_fd);
    m_fd = -1;
    return;
  }
  timeval send_timeout{.tv_sec = 5, .tv_usec = 0};
  setsockopt(m_fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
  const int on = 1;
  setsockopt(m_fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

RawConnection::~RawConnection() {
  if (m_fd >= 0) {
    close(m_fd);
  }
}

bool RawConnection::send(std::string_view bytes) {
  while (!bytes.empty() && m_fd >= 0) {
    const auto sent = ::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
  return m_fd >= 0;
}

std::size_t RawConnection::send_until_answered(const std::function<std::string()>& next_chunk) {
  std::size_t total = 0;
  while (true) {
    if (readable_within(std::chrono::milliseconds(0))) {
      return total;
    }
    const std::string chunk = next_chunk();
    if (chunk.empty() || !send(chunk)) {
      return total;
    }
    total += chunk.size();
  }
}

bool RawConnection::readable_within(std::chrono::milliseconds timeout) {
  if (!m_pending.empty()) {
    return true;
  }
  pollfd waiting{.fd = m_fd, .events = POLLIN, .revents = 0};
  return poll(&waiting, 1, poll_ms(timeout)) > 0;
}

bool RawConnection::fill(std::chrono::milliseconds timeout) {
  pollfd waiting{.fd = m_fd, .events = POLLIN, .revents = 0};
  if (poll(&waiting, 1, poll_ms(timeout)) <= 0) {
    return false;
  }
  char buffer[16384];
  const auto received = recv(m_fd, buffer, sizeof(buffer), 0);
  if (received <= 0) {
    return false;
  }
  m_pending.append(buffer, static_cast<std::size_t>(received));
  return true;
}

std::optional<RawResponse> RawConnection::read_response(std::chrono::milliseconds timeout,
                                                        bool head_request) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now());
  };
  std::size_t head_end = std::string::npos;
  while ((head_end = m_pending.find("\r\n\r\n")) == std::string::npos) {
    if (left().count() <= 0 || !fill(left())) {
      return std::nullopt;
    }
  }
  RawResponse response;
  const std::string head = m_pending.substr(0, head_end);
  std::size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.")) {
    return std::nullopt;
  }
  response.status = std::stoi(status_line.substr(9, 3));
  while (line_end != std::string::npos) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line =
        head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      const auto value_start = line.find_first_not_of(' ', colon + 1);
      response.headers[lower(line.substr(0, colon))] =
          value_start == std::string::npos ? std::string() : line.substr(value_start);
    }
  }
  m_pending.erase(0, head_end + 4);
  std::size_t length = 0;
  if (!head_request && response.status != 204 && response.status != 304 && response.status >= 200) {
    length = std::stoul(
        response.header("content-length").empty() ? "0" : response.header("content-length"));
  }
  while (m_pending.size() < length) {
    if (left().count() <= 0 || !fill(left())) {
      return std::nullopt;
    }
  }
  response.body = m_pending.substr(0, length);
  m_pending.erase(0, length);
  return response;
}

bool RawConnection::closed_within(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd waiting{.fd = m_fd, .events = POLLIN, .revents = 0};
    if (left.count() < 0 || poll(&waiting, 1, poll_ms(left)) <= 0) {
      return false;
    }
    char buffer[16384];
    const auto received = recv(m_fd, buffer, sizeof(buffer), 0);
    if (received <= 0) {
      return true;
    }
  }
}

void RawConnection::shutdown_write() { ::shutdown(m_fd, SHUT_WR); }

std::optional<RawResponse> raw_get(int port, const std::string& path,
                                   std::chrono::milliseconds timeout,
                                   const std::string& extra_headers) {
  RawConnection connection(port);
  if (!connection.send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                       extra_headers + "\r\n")) {
    return std::nullopt;
  }
  return connection.read_response(timeout);
}

} // namespace rsi::test
