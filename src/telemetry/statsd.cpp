#include "telemetry/statsd.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.hpp"

namespace rsi::telemetry {
namespace {

class UdpStatsdSink final : public StatsdSink {
public:
  UdpStatsdSink(int fd, sockaddr_storage address, socklen_t length)
      : m_fd(fd), m_address(address), m_length(length) {}
  ~UdpStatsdSink() override { close(m_fd); }
  UdpStatsdSink(const UdpStatsdSink&) = delete;
  UdpStatsdSink& operator=(const UdpStatsdSink&) = delete;

  void send(std::string_view datagram) override {
    const auto sent = sendto(m_fd, datagram.data(), datagram.size(), MSG_DONTWAIT,
                             reinterpret_cast<const sockaddr*>(&m_address), m_length);
    if (sent < 0 && m_dropped.fetch_add(1) % 10000 == 0) {
      log::warn("statsd datagram dropped", {{"dropped_so_far", m_dropped.load()}});
    }
  }

private:
  int m_fd;
  sockaddr_storage m_address;
  socklen_t m_length;
  std::atomic<std::uint64_t> m_dropped{0};
};

struct AddrInfoFree {
  void operator()(addrinfo* info) const noexcept { freeaddrinfo(info); }
};

} // namespace

std::string statsd_safe(std::string_view name) {
  std::string out(name);
  for (char& byte : out) {
    const bool keep = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
                      (byte >= '0' && byte <= '9') || byte == '_' || byte == '.' || byte == '-';
    if (!keep) {
      byte = '_';
    }
  }
  return out;
}

Result<std::unique_ptr<StatsdSink>> make_udp_statsd_sink(const std::string& host_port) {
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == host_port.size()) {
    return fail(ErrorKind::permanent,
                fmt::format("statsd address \"{}\": expected host:port", host_port));
  }
  std::string host = host_port.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port = host_port.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* raw = nullptr;
  const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &raw);
  std::unique_ptr<addrinfo, AddrInfoFree> found(raw);
  if (rc != 0 || !found) {
    return fail(ErrorKind::permanent,
                fmt::format("statsd address {}: {}", host_port, gai_strerror(rc)));
  }
  const int fd = socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return fail(ErrorKind::transient, fmt::format("statsd socket: errno {}", errno));
  }
  sockaddr_storage address{};
  std::memcpy(&address, found->ai_addr, found->ai_addrlen);
  return std::unique_ptr<StatsdSink>(
      std::make_unique<UdpStatsdSink>(fd, address, static_cast<socklen_t>(found->ai_addrlen)));
}

} // namespace rsi::telemetry
