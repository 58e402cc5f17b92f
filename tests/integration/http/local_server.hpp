#pragma once

// A cpp-httplib server on 127.0.0.1, port 0, serving from a background thread for the life of
// the object; over HTTPS when given a certificate. Register handlers on server() before start().

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>

namespace rsi::test {

// PEM files of the certificate an HTTPS LocalServer presents and of its private key.
struct TlsFiles {
  std::string certificate;
  std::string private_key;
};

class LocalServer {
public:
  LocalServer() : m_server(std::make_unique<httplib::Server>()) {}
  explicit LocalServer(const TlsFiles& tls)
      : m_server(
            std::make_unique<httplib::SSLServer>(tls.certificate.c_str(), tls.private_key.c_str())),
        m_scheme("https") {
    if (!m_server->is_valid()) {
      throw std::runtime_error("LocalServer: cannot load the certificate or the key");
    }
  }
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;
  ~LocalServer() { stop(); }

  [[nodiscard]] httplib::Server& server() { return *m_server; }

  void start() {
    m_port = m_server->bind_to_any_port("127.0.0.1");
    if (m_port <= 0) {
      throw std::runtime_error("LocalServer: bind failed");
    }
    // The socket already listens; connections queue until the accept loop runs.
    m_thread = std::thread([this] { m_server->listen_after_bind(); });
    // stop() is a no-op until the accept loop runs, so wait for it (bounded).
    for (int waited_ms = 0; !m_server->is_running(); ++waited_ms) {
      if (waited_ms > 5000) {
        throw std::runtime_error("LocalServer: accept loop did not start");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  void stop() {
    if (m_thread.joinable()) {
      m_server->stop();
      m_thread.join();
    }
  }

  [[nodiscard]] int port() const { return m_port; }
  [[nodiscard]] std::string url(const std::string& path = "") const {
    return fmt::format("{}://127.0.0.1:{}{}", m_scheme, m_port, path);
  }

private:
  std::unique_ptr<httplib::Server> m_server;
  std::string m_scheme = "http";
  std::thread m_thread;
  int m_port = 0;
};

} // namespace rsi::test
