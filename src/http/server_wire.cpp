#include "http/server_wire.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/status.hpp>
#include <fmt/format.h>

#include "core/text.hpp"

namespace rsi::http::wire {
namespace {

std::string reason_phrase(int status) {
  const auto known = beast_http::int_to_status(static_cast<unsigned>(status));
  return known == beast_http::status::unknown ? std::string()
                                              : std::string(beast_http::obsolete_reason(known));
}

bool safe_header_text(std::string_view text) {
  return text.find_first_of("\r\n") == std::string_view::npos;
}

} // namespace

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

std::optional<std::map<std::string, std::string>> parse_query(std::string_view query) {
  std::map<std::string, std::string> params;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    const auto equals = pair.find('=');
    auto name = core::percent_decode(pair.substr(0, equals), true);
    auto value = core::percent_decode(
        equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1), true);
    if (!name || !value) {
      return std::nullopt;
    }
    params.emplace(std::move(*name), std::move(*value));
  }
  return params;
}

bool same_secret(std::string_view given, std::string_view expected) {
  if (expected.empty()) {
    return false; // No token can match an empty one (and expected[0] below needs a byte).
  }
  // Compare in time independent of where they differ.
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (std::size_t index = 0; index < given.size(); ++index) {
    difference |= static_cast<unsigned char>(given[index] ^ expected[index % expected.size()]);
  }
  return difference == 0;
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  constexpr std::string_view k_scheme = "bearer ";
  if (authorization.size() < k_scheme.size() ||
      !iequals_ascii(authorization.substr(0, k_scheme.size()), k_scheme)) {
    return std::nullopt;
  }
  return authorization.substr(k_scheme.size());
}

std::string host_of(std::string_view value) {
  value = trim(value);
  std::string_view host = value;
  if (value.starts_with('[')) {
    const auto close = value.find(']');
    host = close == std::string_view::npos ? std::string_view() : value.substr(0, close + 1);
  } else if (const auto colon = value.find(':'); colon != std::string_view::npos) {
    host = value.substr(0, colon);
  }
  if (host.ends_with('.')) {
    host.remove_suffix(1);
  }
  return to_ascii_lower(host);
}

bool is_ip_address(std::string_view host) {
  if (host.starts_with('[') && host.ends_with(']')) {
    host = host.substr(1, host.size() - 2);
  }
  error_code ec;
  (void)boost::asio::ip::make_address(std::string(host), ec);
  return !ec;
}

std::string origin_key(std::string_view origin) {
  origin = trim(origin);
  if (origin.ends_with('/')) {
    origin.remove_suffix(1);
  }
  return to_ascii_lower(origin);
}

bool is_parse_error(const error_code& ec) {
  return ec.category() == beast_http::make_error_code(beast_http::error::bad_method).category();
}

bool changes_state(std::string_view method) { return method != "GET" && method != "HEAD"; }

ServerResponse refusal(int status, std::string_view message) {
  return {.status = status, .body = error_body(message)};
}

std::string serialize(const ServerResponse& response, bool head_only, bool close,
                      bool http10_keep_alive) {
  std::string out =
      fmt::format("HTTP/1.1 {} {}\r\n", response.status, reason_phrase(response.status));
  // RFC 9110: no content, and no length, in a 1xx, 204 or 304.
  const bool bodiless = response.status < 200 || response.status == 204 || response.status == 304;
  if (!bodiless) {
    if (!response.content_type.empty() && safe_header_text(response.content_type)) {
      out += fmt::format("Content-Type: {}\r\n", response.content_type);
    }
    out += fmt::format("Content-Length: {}\r\n", response.body.size());
  }
  for (const auto& [name, value] : response.headers) {
    const std::string key = to_ascii_lower(name);
    if (key == "content-length" || key == "content-type" || key == "connection" ||
        key == "transfer-encoding" || !safe_header_text(name) || !safe_header_text(value)) {
      continue; // Framing is ours to write.
    }
    out += fmt::format("{}: {}\r\n", name, value);
  }
  if (close) {
    out += "Connection: close\r\n";
  } else if (http10_keep_alive) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  if (!bodiless && !head_only) {
    out += response.body;
  }
  return out;
}

} // namespace rsi::http::wire
