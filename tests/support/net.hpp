#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace rsi::test {

// A TCP port on 127.0.0.1 that nothing listens on right now.
int free_tcp_port();

// Collects UDP datagrams sent to 127.0.0.1:port() (a statsd server for tests).
class UdpListener {
public:
  UdpListener();
  ~UdpListener();
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  [[nodiscard]] int port() const { return m_port; }
  [[nodiscard]] std::vector<std::string> datagrams() const;

private:
  int m_fd = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  mutable std::mutex m_mutex;
  std::vector<std::string> m_datagrams;
  std::thread m_thread;
};

} // namespace rsi::test
