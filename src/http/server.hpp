#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace rsi::http {

struct ServerRequest {
  std::string method;
  std::string path;                  // Percent-decoded.
  std::vector<std::string> captures; // The route pattern's groups, in order.
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers; // Lower-case names; the first of repeated fields.
  std::string body;
};

struct ServerResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
};

using Handler = std::function<ServerResponse(const ServerRequest&)>;

// What one peer, and all peers together, can make the server spend. Each bound holds for any
// byte sequence a peer sends; docs/control-api.md ("Limits") lists the status each answers.
struct ServerLimits {
  std::size_t max_header_bytes = 16 * 1024; // Request line and fields: 431.
  std::size_t max_header_fields = 100;      // 431, found before the 101st field is stored.
  std::size_t max_target_bytes = 4096;      // Path and query: 414.
  std::size_t max_body_bytes =
      1024 * 1024; // 413: a declared length before reading, chunked at the limit.
  std::size_t max_body_bytes_in_flight = 8 * 1024 * 1024; // All bodies being read or handled: 503.
  std::chrono::milliseconds request_deadline{10'000}; // First byte of a request to its last: 408.
  std::chrono::milliseconds idle_timeout{
      5'000}; // Wait for a request on an open connection (closed silently).
  std::size_t max_requests_per_connection = 100;
  std::size_t max_connections = 64; // Beyond it a connection is answered 503 and closed at once.
  int handler_threads = 4;          // Handlers run here, so a slow one never stalls reading.
};

struct ServerOptions {
  ServerLimits limits;
  // Routes that declare `needs_token` want "Authorization: Bearer <token>" (401 otherwise,
  // decided from the request head). No token: those routes are open.
  std::optional<std::string> bearer_token;
  // Requests that change state (every method but GET and HEAD) must name in Host "localhost",
  // an IP address, the bound host or one of `allowed_hosts` (403 otherwise), and may come
  // from a browser page only when its Origin is one of `allowed_origins` or the server's own
  // (`http://` and the Host field: a page this server served) (403 otherwise).
  std::vector<std::string> allowed_hosts;   // "ingester.internal" (a port, if given, is ignored).
  std::vector<std::string> allowed_origins; // "https://blueprint.internal" (scheme, host, port).
};

struct RouteOptions {
  bool needs_token = false; // Refused (401) unless the server's bearer token is given.
};

// A small HTTP/1.1 server for /health, /metrics and the control API. Routes are a method plus
// a regular expression matched against the whole (percent-decoded) path; HEAD is served by
// the GET route without the body. A path that matches no route is 404, a path that matches
// only under another method 405 with Allow; both, the limits' refusals and a handler that
// throws answer {"Error":"…"}. A request is refused from its head (route, token, Host, Origin,
// Content-Type, Content-Encoding, declared length) before any byte of its body is read; a
// state-changing request with a body must be application/json (415), and a body under any
// Content-Encoding is refused (415). Handlers run on a pool of `handler_threads` threads.
class Server {
public:
  explicit Server(ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Register before start().
  void route(std::string method, std::string path_pattern, Handler handler,
             RouteOptions options = {});

  // Bind `host`:`port` (0 = any free port) and serve on background threads. Fails `permanent`
  // when the address cannot be resolved or bound.
  [[nodiscard]] Result<void> start(const std::string& host, int port);
  // The bound port (after start()).
  [[nodiscard]] int port() const;
  // Stop serving, close every connection and join the threads (a running handler finishes
  // first); idempotent.
  void stop();

private:
  struct State;
  std::unique_ptr<State> m_state;
};

// {"Error":"<message>"} — the original's error body.
std::string error_body(std::string_view message);

// Split "host:port" ("[::1]:8080", ":8080" = all interfaces); fails `permanent`.
[[nodiscard]] Result<std::pair<std::string, int>> split_host_port(const std::string& address);

// Whether `host` (a name or an address, IPv6 with or without brackets) is "localhost" or a
// loopback address; an empty host (all interfaces) and every other name are not.
[[nodiscard]] bool is_loopback_host(std::string_view host);

} // namespace rsi::http
