#pragma once
// The HTTP/1 text the control server reads and writes, apart from its connections: the request
// head (Beast's parser filling a Head, its fields capped), what the server checks in a head's
// fields (Host, Origin, the bearer token, the query string) and a response's bytes. Pure
// functions of their arguments, used by server.cpp and tested on their own.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/system/error_code.hpp>

#include "common/strings.hpp"
#include "http/server.hpp"

namespace rsi::http::wire {

namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
using boost::system::error_code;

// `text` without the spaces and tabs at either end.
std::string_view trim(std::string_view text);

// The parameters of a query string ("a=1&b=x%20y"), percent-decoded with '+' as a space; the
// first of a repeated name wins. nullopt when an escape is malformed.
std::optional<std::map<std::string, std::string>> parse_query(std::string_view query);

// Whether `given` is `expected`, in a time that does not depend on where they differ. Never true
// for an empty `expected`.
bool same_secret(std::string_view given, std::string_view expected);

// The token of an "Authorization: Bearer <token>" field; the scheme is case-insensitive
// (RFC 7235), so "bearer" works too.
std::optional<std::string_view> bearer_token(std::string_view authorization);

// The host of a Host field or an allowed-hosts entry, lower case, without port or final dot:
// "[::1]:8080" → "[::1]", "Ingester.Internal.:80" → "ingester.internal".
std::string host_of(std::string_view value);

// Whether `host` is an IP address (IPv6 with or without brackets) rather than a name.
bool is_ip_address(std::string_view host);

// An Origin field or an allowed-origins entry as compared: trimmed, lower case, without a final
// '/'.
std::string origin_key(std::string_view origin);

// An error of Beast's HTTP parser (the peer sent something that is not HTTP), as opposed to
// one of the socket's.
bool is_parse_error(const error_code& ec);

// Whether a request of `method` may change state: anything but GET and HEAD.
bool changes_state(std::string_view method);

// The request head as the parser saw it. Field names are lower case, in arrival order.
struct Head {
  std::string method;
  std::string target;
  int version = 11;
  std::vector<std::pair<std::string, std::string>> fields;

  [[nodiscard]] const std::string* find(std::string_view name) const {
    for (const auto& [field, value] : fields) {
      if (field == name) {
        return &value;
      }
    }
    return nullptr;
  }
  [[nodiscard]] std::size_t count(std::string_view name) const {
    return static_cast<std::size_t>(
        std::ranges::count_if(fields, [&](const auto& field) { return field.first == name; }));
  }
};

// Beast's parser feeding a Head and a string body. A field past max_header_fields is refused
// before it is stored, so many small fields cost no more than one large one.
class RequestParser final : public beast_http::basic_parser<true> {
public:
  explicit RequestParser(const ServerLimits& limits) : m_max_fields(limits.max_header_fields) {
    header_limit(
        static_cast<std::uint32_t>(std::min<std::size_t>(limits.max_header_bytes, UINT32_MAX)));
    // The declared length is judged by us after the head (a 401 must come before a 413), so
    // the parser must not refuse it first; read_body() sets the real limit.
    body_limit(std::numeric_limits<std::uint64_t>::max());
  }

  Head head;
  std::string body;
  bool too_many_fields = false;

private:
  void on_request_impl(beast_http::verb, beast::string_view method, beast::string_view target,
                       int version, error_code&) override {
    head.method = std::string(method);
    head.target = std::string(target);
    head.version = version;
  }
  void on_response_impl(int, beast::string_view, int, error_code&) override {}
  void on_field_impl(beast_http::field, beast::string_view name, beast::string_view value,
                     error_code& ec) override {
    if (head.fields.size() >= m_max_fields) {
      too_many_fields = true;
      ec = beast_http::error::header_limit;
      return;
    }
    head.fields.emplace_back(to_ascii_lower(std::string_view(name.data(), name.size())),
                             std::string(value));
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
    if (length) {
      body.reserve(
          static_cast<std::size_t>(*length)); // At most the body limit: checked from the head.
    }
  }
  std::size_t on_body_impl(beast::string_view data, error_code&) override {
    body.append(data.data(), data.size());
    return data.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view data, error_code&) override {
    body.append(data.data(), data.size());
    return data.size();
  }
  void on_finish_impl(error_code&) override {}

  std::size_t m_max_fields;
};

// A refusal: `status` with the original's error body, {"Error":"<message>"}.
ServerResponse refusal(int status, std::string_view message);

// The bytes of `response` on an HTTP/1.1 connection: status line, Content-Type and
// Content-Length (none for a 1xx, 204 or 304), the handler's headers except those that frame the
// message and any holding CR or LF, "Connection: close" when `close` (else "keep-alive" when
// `http10_keep_alive`), and the body unless `head_only`.
std::string serialize(const ServerResponse& response, bool head_only, bool close,
                      bool http10_keep_alive);

} // namespace rsi::http::wire
