#pragma once

// URL pieces for AWS requests. libcurl 7.88 signs the path and query exactly as they are
// sent, so callers build both in canonical form with these helpers.

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace rsi::http {

// SigV4 URI encoding: unreserved bytes (A-Z a-z 0-9 - . _ ~) stay, every other byte becomes
// %XX with upper-case hex. With `keep_slash`, '/' stays too (object keys inside a path).
std::string uri_encode(std::string_view text, bool keep_slash = false);

// Undo %XX escapes; malformed escapes are kept literally. '+' is not treated as a space.
std::string uri_decode(std::string_view text);

struct QueryParam {
  std::string name;
  std::string value;
};

// The canonical query string: names and values uri_encode()d, sorted by encoded name then
// value, joined as `name=value` with '&' (a parameter without value is written `uploads=`).
// Put it after '?' in the URL as is; it is also what SigV4 signs.
std::string canonical_query(std::vector<QueryParam> params);

// An absolute http(s) URL split into parts. `path` keeps its encoding ("/" when absent).
struct Url {
  std::string scheme; // Lower case: "http" or "https".
  std::string host;   // Without brackets for IPv6 literals.
  int port = 0;       // 0 when the URL names none.
  std::string path = "/";
  std::string query; // Without '?'.

  // scheme://host[:port], the part an endpoint override gives.
  [[nodiscard]] std::string origin() const;
};

// Parse an absolute http:// or https:// URL. Fails (permanent) on anything else.
[[nodiscard]] Result<Url> parse_url(std::string_view text);

// `url` without its query string, for messages (queries may carry tokens worth keeping out).
std::string strip_query(std::string_view url);

} // namespace rsi::http
