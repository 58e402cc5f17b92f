#include "http/url.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "common/strings.hpp"
#include "core/text.hpp"

namespace rsi::http {
namespace {

bool is_unreserved(unsigned char byte) {
  return (byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
         (byte >= '0' && byte <= '9') || byte == '-' || byte == '.' || byte == '_' || byte == '~';
}

} // namespace

std::string uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char k_digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char raw : text) {
    const auto byte = static_cast<unsigned char>(raw);
    if (is_unreserved(byte) || (keep_slash && byte == '/')) {
      out.push_back(raw);
    } else {
      out.push_back('%');
      out.push_back(k_digits[byte >> 4]);
      out.push_back(k_digits[byte & 0x0f]);
    }
  }
  return out;
}

std::string uri_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t idx = 0; idx < text.size(); ++idx) {
    if (text[idx] == '%' && idx + 2 < text.size()) {
      const int high = core::hex_digit(text[idx + 1]);
      const int low = core::hex_digit(text[idx + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        idx += 2;
        continue;
      }
    }
    out.push_back(text[idx]);
  }
  return out;
}

std::string canonical_query(std::vector<QueryParam> params) {
  for (auto& param : params) {
    param.name = uri_encode(param.name);
    param.value = uri_encode(param.value);
  }
  std::sort(params.begin(), params.end(), [](const QueryParam& left, const QueryParam& right) {
    return left.name != right.name ? left.name < right.name : left.value < right.value;
  });
  std::string out;
  for (const auto& param : params) {
    if (!out.empty()) {
      out.push_back('&');
    }
    out += param.name;
    out.push_back('=');
    out += param.value;
  }
  return out;
}

std::string Url::origin() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  std::string out = fmt::format("{}://{}{}{}", scheme, ipv6 ? "[" : "", host, ipv6 ? "]" : "");
  if (port != 0) {
    out += fmt::format(":{}", port);
  }
  return out;
}

Result<Url> parse_url(std::string_view text) {
  const auto invalid = [&](std::string_view why) {
    return fail(ErrorKind::permanent, fmt::format("parse URL {}: {}", strip_query(text), why));
  };
  const std::size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    return invalid("not an absolute URL");
  }
  Url url;
  url.scheme = to_ascii_lower(text.substr(0, scheme_end));
  if (url.scheme != "http" && url.scheme != "https") {
    return invalid("scheme must be http or https");
  }
  std::string_view rest = text.substr(scheme_end + 3);
  const std::size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  rest = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    return invalid("credentials in URLs are not supported");
  }
  std::string_view port_text;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return invalid("unterminated IPv6 literal");
    }
    url.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        return invalid("garbage after IPv6 literal");
      }
      port_text = authority.substr(close + 2);
    }
  } else {
    const std::size_t colon = authority.find(':');
    url.host = to_ascii_lower(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
    }
  }
  if (url.host.empty()) {
    return invalid("no host");
  }
  if (!port_text.empty()) {
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), url.port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || url.port <= 0 ||
        url.port > 65535) {
      return invalid("bad port");
    }
  }
  rest = rest.substr(0, rest.find('#'));
  const std::size_t question = rest.find('?');
  const std::string_view path = rest.substr(0, question);
  url.path = path.empty() ? "/" : std::string(path);
  if (question != std::string_view::npos) {
    url.query = std::string(rest.substr(question + 1));
  }
  return url;
}

std::string strip_query(std::string_view url) { return std::string(url.substr(0, url.find('?'))); }

} // namespace rsi::http
