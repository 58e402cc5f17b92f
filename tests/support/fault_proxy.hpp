#pragma once

// A TCP proxy on 127.0.0.1 (port 0) in front of an HTTP server, for tests that need the server
// to misbehave: per accepted connection, a policy chooses to pass the bytes through unchanged
// (so request signatures still verify), to drop the connection once the request head has
// arrived, to cut the response off halfway, or to answer 503 itself. Thread-safe.

#include <array>
#include <atomic>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace rsi::test {

enum class ConnectionFault {
  none,                // Forward both ways until either side closes.
  drop,                // Read the request head, then close without answering.
  cut_response,        // Forward the request; close after the response head and half its body.
  service_unavailable, // Read the request head, answer `HTTP/1.1 503` (S3's SlowDown), close.
};
inline constexpr std::size_t k_connection_fault_count = 4;

// Chooses the fate of the next connection; called on the accept thread, one call at a time.
using FaultPolicy = std::function<ConnectionFault()>;

class FaultProxy {
public:
  // Forwards to 127.0.0.1:`upstream_port`. Throws std::runtime_error when it cannot listen.
  explicit FaultProxy(int upstream_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  // Applies to connections accepted from now on; connections already open keep their fate.
  // The default passes everything through.
  void set_policy(FaultPolicy policy);

  [[nodiscard]] int port() const { return m_port; }
  // "http://127.0.0.1:<port>".
  [[nodiscard]] std::string url() const;
  // How many accepted connections were given `fault`.
  [[nodiscard]] std::size_t connections(ConnectionFault fault) const;

private:
  struct Connection {
    std::thread thread;
    std::atomic<bool> finished{false};
  };

  void accept_loop();
  void serve(int client_fd, ConnectionFault fault);
  void forward(int client_fd, ConnectionFault fault);
  void reap_finished();

  int m_upstream_port = 0;
  int m_listen_fd = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  mutable std::mutex m_mutex;
  FaultPolicy m_policy;
  std::list<std::unique_ptr<Connection>> m_connections;
  std::array<std::atomic<std::size_t>, k_connection_fault_count> m_counts{};
  std::thread m_accept_thread;
};

} // namespace rsi::test
