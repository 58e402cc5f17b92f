#include "support/net.hpp"

#include <stdexcept>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace rsi::test {
namespace {

int bound_socket(int type, int& port) {
  const int fd = socket(AF_INET, type, 0);
  if (fd < 0) {
    throw std::runtime_error("socket failed");
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    throw std::runtime_error("bind failed");
  }
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  port = ntohs(address.sin_port);
  return fd;
}

} // namespace

int free_tcp_port() {
  int port = 0;
  close(bound_socket(SOCK_STREAM, port));
  return port;
}

UdpListener::UdpListener() {
  m_fd = bound_socket(SOCK_DGRAM, m_port);
  timeval tick{.tv_sec = 0, .tv_usec = 100'000};
  setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof(tick));
  m_thread = std::thread([this] {
    char buffer[65536];
    while (!m_stop.load()) {
      const auto received = recv(m_fd, buffer, sizeof(buffer), 0);
      if (received > 0) {
        const std::lock_guard lock(m_mutex);
        m_datagrams.emplace_back(buffer, static_cast<std::size_t>(received));
      }
    }
  });
}

UdpListener::~UdpListener() {
  m_stop = true;
  m_thread.join();
  close(m_fd);
}

std::vector<std::string> UdpListener::datagrams() const {
  const std::lock_guard lock(m_mutex);
  return m_datagrams;
}

} // namespace rsi::test
