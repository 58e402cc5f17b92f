#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace rsi::http {

struct ServerRequest {
  std::string method;
  std::string path;
  std::vector<std::string> captures; // The route pattern's groups, in order.
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers; // Lower-case names.
  std::string body;
};

struct ServerResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
};

using Handler = std::function<ServerResponse(const ServerRequest&)>;

// A small HTTP server (cpp-httplib) for /health, /metrics and the control API. Routes are a
// method plus a regular expression matched against the whole path. A path that matches no
// route is 404, a path that matches only under another method 405; both, and a handler that
// throws, answer {"Error":"…"}. Handlers run on the server's threads.
class Server {
public:
  Server();
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Register before start().
  void route(std::string method, std::string path_pattern, Handler handler);

  // Bind `host`:`port` (0 = any free port) and serve on a background thread. Fails
  // `permanent` when the address cannot be bound.
  [[nodiscard]] Result<void> start(const std::string& host, int port);
  // The bound port (after start()).
  [[nodiscard]] int port() const;
  // Stop serving and join the thread; idempotent.
  void stop();

private:
  struct State;
  std::unique_ptr<State> m_state;
};

// {"Error":"<message>"} — the original's error body.
std::string error_body(std::string_view message);

// Split "host:port" ("[::1]:8080", ":8080" = all interfaces); fails `permanent`.
[[nodiscard]] Result<std::pair<std::string, int>> split_host_port(const std::string& address);

} // namespace rsi::http
