// Boost.Beast's HTTP/1 parser over Boost.Asio: one I/O thread reads and writes every connection,
// handlers run on a small thread pool, so neither a slow peer nor a slow handler stalls the rest.
//
// Chosen because every resource a stranger can make the server spend gets a bound that holds
// whatever bytes arrive (docs/control-api.md, "Limits", has the measurements against
// libmicrohttpd): one connection goes
//   wait for a request (idle_timeout: closed silently)
//   → head, under the request deadline (408), within max_header_bytes / max_header_fields (431)
//   → decisions from the head alone: 400, 414, 501, 404/405, 415, 403 (Host, Origin), 401,
//     413 (declared length), 503 (the process's body budget) — no body byte read yet
//   → body, still under the deadline, cut at max_body_bytes under either framing (413)
//   → handler on the pool (not under the deadline: the peer is not slow, the backend is)
//   → response write, under a deadline of its own
//   → the next request, or a close.
// A close after a refusal first shuts down our side and drains what the peer still sends for a
// moment (bounded in time and bytes), so the peer reads the refusal instead of a reset.
#include "http/server.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <future>
#include <regex>
#include <thread>
#include <unordered_set>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "common/strings.hpp"
#include "core/text.hpp"
#include "http/server_wire.hpp"

namespace rsi::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// After a response that closes the connection: how long, and how many bytes, we keep reading
// (and dropping) what the peer still sends before closing.
constexpr auto k_linger = std::chrono::seconds(2);
constexpr std::size_t k_linger_bytes = 4 * 1024 * 1024;
constexpr std::size_t k_drain_buffer_bytes = 16 * 1024;
// When accept() fails (out of descriptors), the wait before trying again.
constexpr auto k_accept_retry = std::chrono::milliseconds(100);
// Refusals for the connection cap are logged at most this often.
constexpr auto k_refusal_log_period = std::chrono::seconds(10);

using wire::bearer_token;
using wire::changes_state;
using wire::Head;
using wire::host_of;
using wire::is_ip_address;
using wire::is_parse_error;
using wire::origin_key;
using wire::parse_query;
using wire::refusal;
using wire::RequestParser;
using wire::same_secret;
using wire::serialize;
using wire::trim;

struct Route {
  std::string method;
  std::regex pattern;
  Handler handler;
  RouteOptions options;
};

struct RouteMatch {
  const Route* route = nullptr;
  std::vector<std::string> captures;
  std::vector<std::string>
      allowed; // Methods of the routes whose pattern matched, when none took the method.
};

class Connection;

// Everything a connection shares with the others. Routes, options and the bound host are fixed
// once start() runs; the connection set, the body budget and the refusal clock are touched on
// the I/O thread only.
class Engine {
public:
  explicit Engine(ServerOptions options)
      : m_options(std::move(options)),
        m_busy_reply(serialize(refusal(503, "too many connections"), false, true, false)) {
    for (const auto& origin : m_options.allowed_origins) {
      m_origins.push_back(origin_key(origin));
    }
    for (const auto& host : m_options.allowed_hosts) {
      m_hosts.push_back(host_of(host));
    }
  }

  void add_route(std::string method, std::string pattern, Handler handler, RouteOptions options) {
    m_routes.push_back({std::move(method), std::regex(pattern), std::move(handler), options});
  }

  Result<void> start(const std::string& host, int port);
  void stop();
  [[nodiscard]] int port() const { return m_port; }

  // For connections.
  [[nodiscard]] const ServerLimits& limits() const { return m_options.limits; }
  [[nodiscard]] asio::io_context& io() { return m_io; }
  [[nodiscard]] asio::thread_pool& pool() { return *m_pool; }
  [[nodiscard]] RouteMatch match(const std::string& method, const std::string& path) const;
  [[nodiscard]] std::optional<ServerResponse> refuse_from_head(const Head& head, const Route& route,
                                                               bool has_body) const;
  [[nodiscard]] bool reserve_body(std::size_t bytes) {
    if (bytes > m_options.limits.max_body_bytes_in_flight - m_body_bytes_in_flight) {
      return false;
    }
    m_body_bytes_in_flight += bytes;
    return true;
  }
  void release_body(std::size_t bytes) { m_body_bytes_in_flight -= bytes; }
  void add(Connection* connection) { m_live.insert(connection); }
  void remove(Connection* connection) { m_live.erase(connection); }

private:
  void accept();
  void refuse_connection(tcp::socket socket);
  [[nodiscard]] bool host_allowed(std::string_view host_field) const;
  [[nodiscard]] bool origin_allowed(std::string_view origin) const;

  ServerOptions m_options;
  std::vector<std::string> m_hosts;
  std::vector<std::string> m_origins;
  std::vector<Route> m_routes;
  std::string m_busy_reply;
  std::string m_bound_host;
  int m_port = 0;
  // Before m_io: connections still queued in its handlers leave this set while it is destroyed.
  std::unordered_set<Connection*> m_live;
  std::size_t m_body_bytes_in_flight = 0;
  std::chrono::steady_clock::time_point m_last_refusal_log;
  std::size_t m_refused_since_log = 0;
  asio::io_context m_io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> m_work;
  tcp::acceptor m_acceptor{m_io};
  asio::steady_timer m_accept_retry{m_io};
  std::optional<asio::thread_pool> m_pool;
  std::thread m_io_thread;
};

class Connection : public std::enable_shared_from_this<Connection> {
public:
  Connection(Engine& engine, tcp::socket socket)
      : m_engine(engine), m_socket(std::move(socket)), m_timer(engine.io()),
        m_buffer(engine.limits().max_header_bytes + 64 * 1024) {
    m_engine.add(this);
  }
  ~Connection() {
    m_engine.release_body(std::exchange(m_body_reserved, 0));
    m_engine.remove(this);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start() {
    error_code ignored;
    m_socket.set_option(tcp::no_delay(true), ignored);
    wait_for_request();
  }

  // The server stops: end whatever this connection waits for.
  void abort() {
    m_aborted = true;
    close();
  }

private:
  // Cancel the socket's operations after `after`; a newer arm() or disarm() voids an older one.
  void arm(std::chrono::milliseconds after) {
    m_timed_out = false;
    const std::uint64_t generation = ++m_timer_generation;
    m_timer.expires_after(after);
    m_timer.async_wait([self = shared_from_this(), generation](error_code ec) {
      if (ec || generation != self->m_timer_generation) {
        return;
      }
      self->m_timed_out = true;
      error_code ignored;
      self->m_socket.cancel(ignored);
    });
  }

  void disarm() {
    ++m_timer_generation;
    m_timer.cancel();
  }

  void wait_for_request() {
    if (m_buffer.size() > 0) {
      read_head(); // Pipelined: the next request is already here.
      return;
    }
    arm(m_engine.limits().idle_timeout);
    m_socket.async_wait(tcp::socket::wait_read, [self = shared_from_this()](error_code ec) {
      if (self->m_aborted) {
        return;
      }
      if (ec) {
        self->close(); // Idle too long, or gone: nothing was asked, so nothing is answered.
        return;
      }
      self->read_head();
    });
  }

  void read_head() {
    // One deadline for head and body: re-armed only for the response.
    arm(m_engine.limits().request_deadline);
    m_parser.emplace(m_engine.limits());
    beast_http::async_read_header(
        m_socket, m_buffer, *m_parser,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_head(ec); });
  }

  void on_head(error_code ec) {
    if (m_aborted) {
      return;
    }
    if (ec) {
      on_head_error(ec);
      return;
    }
    const ServerLimits& limits = m_engine.limits();
    const Head& head = m_parser->head;
    m_head_only = head.method == "HEAD";
    const bool has_body =
        m_parser->chunked() || (m_parser->content_length() && *m_parser->content_length() > 0);
    // A request without Content-Length or Transfer-Encoding has no body (RFC 9112 §6.3); what
    // such a peer sends after the head is never read as one, nor as a next request: the
    // connection closes after the answer.
    m_close_after = !m_parser->keep_alive() || m_served + 1 >= limits.max_requests_per_connection ||
                    (changes_state(head.method) && head.find("content-length") == nullptr &&
                     !m_parser->chunked());

    auto target = read_target(head, has_body);
    if (!target || !framing_trusted(head)) {
      return;
    }
    RouteMatch match = m_engine.match(head.method, target->path);
    if (match.route == nullptr) {
      if (!match.allowed.empty()) {
        ServerResponse response =
            refusal(405, fmt::format("method {} not allowed on {}", head.method, target->path));
        response.headers["Allow"] = fmt::format("{}", fmt::join(match.allowed, ", "));
        refuse_before_body(std::move(response), has_body);
      } else {
        refuse_before_body(refusal(404, fmt::format("no such endpoint: {}", target->path)),
                           has_body);
      }
      return;
    }
    if (auto refused = m_engine.refuse_from_head(head, *match.route, has_body)) {
      refuse_before_body(std::move(*refused), has_body);
      return;
    }

    m_route = match.route;
    m_request = ServerRequest{.method = head.method,
                              .path = std::move(target->path),
                              .captures = std::move(match.captures),
                              .query = std::move(target->query)};
    for (const auto& [name, value] : head.fields) {
      m_request.headers.emplace(name, value);
    }
    if (has_body) {
      start_body();
    } else {
      dispatch();
    }
  }

  // The head could not be read: a refusal saying why, or a quiet close when the peer left.
  void on_head_error(error_code ec) {
    const ServerLimits& limits = m_engine.limits();
    if (m_timed_out) {
      refuse(refusal(408, fmt::format("request head not received within {} ms",
                                      limits.request_deadline.count())));
    } else if (ec == beast_http::error::header_limit && m_parser->too_many_fields) {
      refuse(refusal(431, fmt::format("more than {} header fields", limits.max_header_fields)));
    } else if (ec == beast_http::error::header_limit || ec == beast_http::error::buffer_overflow) {
      refuse(
          refusal(431, fmt::format("request head larger than {} bytes", limits.max_header_bytes)));
    } else if (ec == beast_http::error::end_of_stream || ec == beast_http::error::partial_message ||
               !is_parse_error(ec)) {
      close(); // The peer left (between requests, or half-way through a head), or the socket
               // failed.
    } else {
      refuse(refusal(400, fmt::format("malformed request: {}", ec.message())));
    }
  }

  struct Target {
    std::string path;
    std::map<std::string, std::string> query;
  };

  // The request target's decoded path and query; nullopt after refusing a bad one.
  std::optional<Target> read_target(const Head& head, bool has_body) {
    const ServerLimits& limits = m_engine.limits();
    if (head.target.size() > limits.max_target_bytes) {
      refuse_before_body(
          refusal(414, fmt::format("request target longer than {} bytes", limits.max_target_bytes)),
          has_body);
      return std::nullopt;
    }
    if (!head.target.starts_with('/')) {
      refuse_before_body(refusal(400, "request target must be a path"), has_body);
      return std::nullopt;
    }
    const auto question = head.target.find('?');
    auto path = core::percent_decode(std::string_view(head.target).substr(0, question), false);
    auto query = question == std::string::npos
                     ? std::optional<std::map<std::string, std::string>>(std::in_place)
                     : parse_query(std::string_view(head.target).substr(question + 1));
    if (!path || !query) {
      refuse_before_body(refusal(400, "malformed percent-encoding in the request target"),
                         has_body);
      return std::nullopt;
    }
    return Target{std::move(*path), std::move(*query)};
  }

  // Where a peer and a proxy in front of us could disagree on the request's extent (Host fields,
  // transfer codings), the stream cannot be trusted further: these refusals always close.
  bool framing_trusted(const Head& head) {
    if ((head.version >= 11 && head.count("host") != 1) || head.count("host") > 1) {
      refuse(refusal(400, "exactly one Host field is required"));
      return false;
    }
    if (const std::string* coding = head.find("transfer-encoding"); coding != nullptr) {
      if (!m_parser->chunked()) {
        refuse(refusal(400, "chunked must be the last transfer coding"));
        return false;
      }
      if (head.count("transfer-encoding") > 1 || !iequals_ascii(trim(*coding), "chunked")) {
        refuse(refusal(501, fmt::format("transfer coding not supported: {}", *coding)));
        return false;
      }
    }
    return true;
  }

  // A body within the limits, and room for it among the bodies in flight, or a refusal.
  void start_body() {
    const ServerLimits& limits = m_engine.limits();
    if (m_parser->content_length() && *m_parser->content_length() > limits.max_body_bytes) {
      refuse_before_body(
          refusal(413, fmt::format("body larger than {} bytes", limits.max_body_bytes)), true);
      return;
    }
    const std::size_t reserve = m_parser->content_length()
                                    ? static_cast<std::size_t>(*m_parser->content_length())
                                    : limits.max_body_bytes;
    if (!m_engine.reserve_body(reserve)) {
      ServerResponse busy = refusal(503, "too many request bodies in flight; retry shortly");
      busy.headers["Retry-After"] = "1";
      refuse_before_body(std::move(busy), true);
      return;
    }
    m_body_reserved = reserve;
    read_body();
  }

  void read_body() {
    m_parser->body_limit(m_engine.limits().max_body_bytes);
    const std::string* expect = m_parser->head.find("expect");
    if (expect != nullptr && iequals_ascii(trim(*expect), "100-continue")) {
      // The head passed every check: now the peer may send the body.
      m_out = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(m_socket, asio::buffer(m_out),
                        [self = shared_from_this()](error_code ec, std::size_t) {
                          if (self->m_aborted) {
                            return;
                          }
                          if (ec) {
                            self->close();
                            return;
                          }
                          self->read_rest();
                        });
      return;
    }
    read_rest();
  }

  void read_rest() {
    beast_http::async_read(
        m_socket, m_buffer, *m_parser,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(error_code ec) {
    if (m_aborted) {
      return;
    }
    const ServerLimits& limits = m_engine.limits();
    if (ec) {
      m_close_after = true;
      if (m_timed_out) {
        respond(refusal(408, fmt::format("request body not received within {} ms",
                                         limits.request_deadline.count())));
      } else if (ec == beast_http::error::body_limit || ec == beast_http::error::buffer_overflow) {
        respond(refusal(413, fmt::format("body larger than {} bytes", limits.max_body_bytes)));
      } else if (ec == beast_http::error::end_of_stream ||
                 ec == beast_http::error::partial_message || !is_parse_error(ec)) {
        close();
      } else {
        respond(refusal(400, fmt::format("malformed request body: {}", ec.message())));
      }
      return;
    }
    m_request.body = std::move(m_parser->body);
    dispatch();
  }

  void dispatch() {
    disarm(); // A handler's time is the backend's, not the peer's.
    asio::post(m_engine.pool(), [self = shared_from_this(), route = m_route,
                                 request = std::move(m_request)]() mutable {
      ServerResponse response;
      try {
        response = route->handler(request);
      } catch (const std::exception& error) {
        log::error("HTTP handler failed", {{"path", request.path}, {"error", error.what()}});
        response = refusal(500, "internal error");
      } catch (...) {
        log::error("HTTP handler failed",
                   {{"path", request.path}, {"error", "an exception of unknown type"}});
        response = refusal(500, "internal error");
      }
      // The connection is touched on the I/O thread only; the last reference never drops here.
      auto& io = self->m_engine.io();
      asio::post(io, [self = std::move(self), response = std::move(response)]() mutable {
        if (!self->m_aborted) {
          self->respond(std::move(response));
        }
      });
    });
  }

  // A refusal decided from the head: a body the peer announced is never read, so the
  // connection cannot carry another request.
  void refuse_before_body(ServerResponse response, bool has_body) {
    if (has_body) {
      m_close_after = true;
    }
    respond(std::move(response));
  }

  // A failure that leaves the stream unusable.
  void refuse(ServerResponse response) {
    m_close_after = true;
    respond(std::move(response));
  }

  void respond(ServerResponse response) {
    if (log::enabled(log::Level::debug)) {
      log::debug("HTTP request answered",
                 {{"method", m_parser ? m_parser->head.method : std::string()},
                  {"target", m_parser ? m_parser->head.target : std::string()},
                  {"status", response.status}});
    }
    const bool http10 = m_parser && m_parser->head.version < 11;
    m_out = serialize(response, m_head_only, m_close_after, http10 && !m_close_after);
    arm(m_engine.limits().request_deadline); // A peer that does not read cannot hold us longer.
    asio::async_write(
        m_socket, asio::buffer(m_out),
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_written(ec); });
  }

  void on_written(error_code ec) {
    if (m_aborted) {
      return;
    }
    disarm();
    m_engine.release_body(std::exchange(m_body_reserved, 0));
    m_out.clear();
    m_out.shrink_to_fit();
    m_parser.reset();
    m_head_only = false;
    ++m_served;
    if (ec) {
      close();
    } else if (m_close_after) {
      linger();
    } else {
      wait_for_request();
    }
  }

  void linger() {
    error_code ignored;
    m_socket.shutdown(tcp::socket::shutdown_send, ignored);
    arm(std::chrono::duration_cast<std::chrono::milliseconds>(k_linger));
    m_drain = std::make_unique<std::array<char, k_drain_buffer_bytes>>();
    drain();
  }

  void drain() {
    m_socket.async_read_some(asio::buffer(*m_drain),
                             [self = shared_from_this()](error_code ec, std::size_t bytes) {
                               if (self->m_aborted) {
                                 return;
                               }
                               self->m_drained += bytes;
                               if (ec || self->m_drained > k_linger_bytes) {
                                 self->close();
                                 return;
                               }
                               self->drain();
                             });
  }

  void close() {
    disarm();
    error_code ignored;
    m_socket.close(ignored);
  }

  Engine& m_engine;
  tcp::socket m_socket;
  asio::steady_timer m_timer;
  std::uint64_t m_timer_generation = 0;
  bool m_timed_out = false;
  bool m_aborted = false;
  beast::flat_buffer m_buffer;
  std::optional<RequestParser> m_parser;
  const Route* m_route = nullptr;
  ServerRequest m_request;
  bool m_head_only = false;
  bool m_close_after = false;
  std::size_t m_served = 0;
  std::size_t m_body_reserved = 0;
  std::string m_out;
  std::unique_ptr<std::array<char, k_drain_buffer_bytes>> m_drain;
  std::size_t m_drained = 0;
};

RouteMatch Engine::match(const std::string& method, const std::string& path) const {
  RouteMatch result;
  // HEAD is served by the GET route (without the body).
  const std::string wanted = method == "HEAD" ? std::string("GET") : method;
  for (const auto& route : m_routes) {
    std::smatch groups;
    if (!std::regex_match(path, groups, route.pattern)) {
      continue;
    }
    if (route.method != method && route.method != wanted) {
      if (std::ranges::find(result.allowed, route.method) == result.allowed.end()) {
        result.allowed.push_back(route.method);
      }
      continue;
    }
    result.route = &route;
    for (std::size_t group = 1; group < groups.size(); ++group) {
      result.captures.push_back(groups[group].str());
    }
    return result;
  }
  return result;
}

bool Engine::host_allowed(std::string_view host_field) const {
  const std::string host = host_of(host_field);
  if (host.empty()) {
    return false;
  }
  // A DNS-rebinding page reaches us under a name its author controls; an IP address in Host
  // cannot come from one, so every address (and loopback's name) is fine.
  if (host == "localhost" || host == m_bound_host || is_ip_address(host)) {
    return true;
  }
  return std::ranges::find(m_hosts, host) != m_hosts.end();
}

bool Engine::origin_allowed(std::string_view origin) const {
  return std::ranges::find(m_origins, origin_key(origin)) != m_origins.end();
}

std::optional<ServerResponse> Engine::refuse_from_head(const Head& head, const Route& route,
                                                       bool has_body) const {
  if (head.find("content-encoding") != nullptr) {
    return refusal(415, "Content-Encoding is not accepted; send the body as is");
  }
  if (changes_state(head.method)) {
    // A browser page can send this request too (a form, or a script after DNS rebinding): it
    // is told apart by its Host and Origin, and by a body type a form cannot produce.
    if (const std::string* host = head.find("host"); host != nullptr && !host_allowed(*host)) {
      return refusal(
          403,
          fmt::format("Host {} is not this server's name (see --control-allowed-hosts)", *host));
    }
    if (head.count("origin") > 1) {
      return refusal(403, "more than one Origin field");
    }
    // The server's own pages (the status page) send their Origin: http:// and the Host, which
    // passed the check above (a rebinding page's Host did not).
    const std::string* host = head.find("host");
    if (const std::string* origin = head.find("origin");
        origin != nullptr && !origin_allowed(*origin) &&
        !(host != nullptr && origin_key(*origin) == "http://" + to_ascii_lower(trim(*host)))) {
      return refusal(
          403,
          fmt::format("requests from Origin {} are not allowed (see --control-allowed-origins)",
                      *origin));
    }
  }
  if (route.options.needs_token && m_options.bearer_token) {
    const std::string* authorization = head.find("authorization");
    const auto given = authorization != nullptr && head.count("authorization") == 1
                           ? bearer_token(*authorization)
                           : std::nullopt;
    if (!given || !same_secret(*given, *m_options.bearer_token)) {
      ServerResponse refused = refusal(401, "missing or wrong bearer token");
      refused.headers["WWW-Authenticate"] = "Bearer";
      return refused;
    }
  }
  if (changes_state(head.method) && has_body) {
    const std::string* type = head.find("content-type");
    const std::string media_type =
        type == nullptr ? std::string() : to_ascii_lower(trim(type->substr(0, type->find(';'))));
    if (media_type != "application/json") {
      return refusal(415, "a request body must be Content-Type: application/json");
    }
  }
  return std::nullopt;
}

Result<void> Engine::start(const std::string& host, int port) {
  error_code ec;
  asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) {
    tcp::resolver resolver(m_io);
    const auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) {
      return fail(ErrorKind::permanent, fmt::format("listen on {}:{}: cannot resolve {}: {}", host,
                                                    port, host, ec ? ec.message() : "no address"));
    }
    address = results.begin()->endpoint().address();
  }
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  const auto failed = [&](std::string_view step) {
    return fail(ErrorKind::permanent,
                fmt::format("listen on {}:{}: {}: {}", host, port, step, ec.message()));
  };
  if (m_acceptor.open(endpoint.protocol(), ec); ec) {
    return failed("socket");
  }
  if (m_acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec) {
    return failed("SO_REUSEADDR");
  }
  if (m_acceptor.bind(endpoint, ec); ec) {
    return failed("bind");
  }
  if (m_acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) {
    return failed("listen");
  }
  m_port = m_acceptor.local_endpoint(ec).port();
  m_bound_host = host_of(host.find(':') != std::string::npos ? "[" + host + "]" : host);
  m_pool.emplace(static_cast<std::size_t>(std::max(1, m_options.limits.handler_threads)));
  m_work.emplace(m_io.get_executor());
  accept();
  m_io_thread = std::thread([this] {
    while (true) {
      try {
        m_io.run();
        return;
      } catch (const std::exception& error) {
        // A completion handler threw (out of memory, say): that connection is lost, the rest go on.
        log::error("HTTP server I/O failed", {{"error", error.what()}});
      }
    }
  });
  return {};
}

void Engine::accept() {
  m_acceptor.async_accept([this](error_code ec, tcp::socket socket) {
    if (!m_acceptor.is_open()) {
      return; // Stopping.
    }
    if (ec) {
      log::warn("HTTP accept failed; retrying", {{"error", ec.message()}});
      m_accept_retry.expires_after(k_accept_retry);
      m_accept_retry.async_wait([this](error_code waited) {
        if (!waited) {
          accept();
        }
      });
      return;
    }
    // The next accept first: should serving this one throw (out of memory), accepting goes on.
    accept();
    if (m_live.size() >= m_options.limits.max_connections) {
      refuse_connection(std::move(socket));
    } else {
      std::make_shared<Connection>(*this, std::move(socket))->start();
    }
  });
}

void Engine::refuse_connection(tcp::socket socket) {
  // Answered without waiting: a fresh socket's send buffer takes the whole reply, and a peer
  // that does not read it loses nothing it was owed.
  error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(asio::buffer(m_busy_reply), ignored);
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
  ++m_refused_since_log;
  const auto now = std::chrono::steady_clock::now();
  if (now - m_last_refusal_log >= k_refusal_log_period) {
    log::warn(
        "HTTP connections refused: the connection cap is reached",
        {{"max_connections", m_options.limits.max_connections}, {"refused", m_refused_since_log}});
    m_last_refusal_log = now;
    m_refused_since_log = 0;
  }
}

void Engine::stop() {
  if (!m_io_thread.joinable()) {
    return;
  }
  std::promise<void> closed;
  asio::post(m_io, [this, &closed] {
    error_code ignored;
    m_acceptor.close(ignored);
    m_accept_retry.cancel();
    // abort() may end a connection (and erase it from the set) at once: iterate over a copy.
    const std::vector<Connection*> live(m_live.begin(), m_live.end());
    for (Connection* connection : live) {
      connection->abort();
    }
    closed.set_value();
  });
  closed.get_future().wait();
  m_pool->join(); // Running handlers finish; what they post back is dropped below.
  m_work.reset();
  m_io.stop();
  m_io_thread.join();
}

} // namespace

struct Server::State {
  explicit State(ServerOptions options) : engine(std::move(options)) {}
  Engine engine;
};

std::string error_body(std::string_view message) {
  return nlohmann::json{{"Error", message}}.dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace);
}

Result<std::pair<std::string, int>> split_host_port(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    return fail(ErrorKind::permanent, fmt::format("address \"{}\": expected host:port", address));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) {
    host = "0.0.0.0";
  }
  int port = -1;
  try {
    std::size_t used = 0;
    port = std::stoi(address.substr(colon + 1), &used);
    if (used != address.size() - colon - 1) {
      port = -1;
    }
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535) {
    return fail(ErrorKind::permanent, fmt::format("address \"{}\": bad port", address));
  }
  return std::pair{host, port};
}

bool is_loopback_host(std::string_view host) {
  if (host.starts_with('[') && host.ends_with(']')) {
    host = host.substr(1, host.size() - 2);
  }
  if (iequals_ascii(host, "localhost")) {
    return true;
  }
  error_code ec;
  const auto address = asio::ip::make_address(std::string(host), ec);
  return !ec && address.is_loopback();
}

Server::Server(ServerOptions options) : m_state(std::make_unique<State>(std::move(options))) {}

Server::~Server() { stop(); }

void Server::route(std::string method, std::string path_pattern, Handler handler,
                   RouteOptions options) {
  m_state->engine.add_route(std::move(method), std::move(path_pattern), std::move(handler),
                            options);
}

Result<void> Server::start(const std::string& host, int port) {
  return m_state->engine.start(host, port);
}

int Server::port() const { return m_state->engine.port(); }

void Server::stop() {
  if (m_state) {
    m_state->engine.stop();
  }
}

} // namespace rsi::http
