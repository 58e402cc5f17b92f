// cpp-httplib underneath: one catch-all handler per method feeds our router, so that routes
// are matched in one place (and a wrong method can answer 405, not 404).
#include "http/server.hpp"

#include <httplib.h>

#include <regex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/log.hpp"

namespace rsi::http {

struct Server::State {
  struct Route {
    std::string method;
    std::regex pattern;
    Handler handler;
  };
  httplib::Server server;
  std::vector<Route> routes;
  std::thread thread;
  int port = 0;

  ServerResponse dispatch(const httplib::Request& raw) {
    ServerRequest request;
    request.method = raw.method;
    request.path = raw.path;
    request.body = raw.body;
    for (const auto& [name, value] : raw.params) {
      request.query.emplace(name, value);
    }
    for (const auto& [name, value] : raw.headers) {
      std::string lower = name;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      request.headers.emplace(std::move(lower), value);
    }
    std::vector<std::string> allowed;
    for (const auto& route : routes) {
      std::smatch match;
      if (!std::regex_match(request.path, match, route.pattern)) {
        continue;
      }
      if (route.method != request.method) {
        allowed.push_back(route.method);
        continue;
      }
      for (std::size_t group = 1; group < match.size(); ++group) {
        request.captures.push_back(match[group].str());
      }
      try {
        return route.handler(request);
      } catch (const std::exception& error) {
        log::error("HTTP handler failed", {{"path", request.path}, {"error", error.what()}});
        return {.status = 500, .body = error_body("internal error")};
      }
    }
    if (!allowed.empty()) {
      return {.status = 405,
              .body = error_body(fmt::format("method {} not allowed on {}", request.method, request.path)),
              .headers = {{"Allow", fmt::format("{}", fmt::join(allowed, ", "))}}};
    }
    return {.status = 404, .body = error_body(fmt::format("no such endpoint: {}", request.path))};
  }
};

std::string error_body(std::string_view message) {
  return nlohmann::json{{"Error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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

Server::Server() : m_state(std::make_unique<State>()) {}

Server::~Server() { stop(); }

void Server::route(std::string method, std::string path_pattern, Handler handler) {
  m_state->routes.push_back({std::move(method), std::regex(path_pattern), std::move(handler)});
}

Result<void> Server::start(const std::string& host, int port) {
  auto serve = [state = m_state.get()](const httplib::Request& raw, httplib::Response& out) {
    ServerResponse response = state->dispatch(raw);
    out.status = response.status;
    for (const auto& [name, value] : response.headers) {
      out.set_header(name, value);
    }
    if (!response.body.empty() || response.status != 204) {
      out.set_content(response.body, response.content_type);
    }
  };
  auto& server = m_state->server;
  server.Get(".*", serve);
  server.Post(".*", serve);
  server.Put(".*", serve);
  server.Delete(".*", serve);
  server.Patch(".*", serve);
  server.set_payload_max_length(1U << 20U);
  // Errors httplib answers itself (413, 400, unknown methods) carry our JSON body too.
  server.set_error_handler([](const httplib::Request& raw, httplib::Response& out) {
    if (out.body.empty()) {
      out.set_content(error_body(fmt::format("HTTP {} for {} {}", out.status, raw.method, raw.path)),
                      "application/json");
    }
  });
  server.set_read_timeout(10, 0);
  server.set_write_timeout(10, 0);
  const int bound = port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (bound < 0) {
    return fail(ErrorKind::permanent, fmt::format("listen on {}:{}: address unavailable", host, port));
  }
  m_state->port = bound;
  m_state->thread = std::thread([state = m_state.get()] { state->server.listen_after_bind(); });
  // stop() is ignored until the listener runs, so a stop right after start would hang.
  for (int waited = 0; !server.is_running() && waited < 5000; ++waited) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return {};
}

int Server::port() const { return m_state->port; }

void Server::stop() {
  if (m_state && m_state->thread.joinable()) {
    m_state->server.stop();
    m_state->thread.join();
  }
}

} // namespace rsi::http
