#include "control/status_page.hpp"

#include <array>
#include <cstdint>
#include <stdexcept>

#include <fmt/format.h>

#include "http/sha256.hpp"

namespace rsi::control::detail {
namespace {

std::string base64(const std::string& bytes) {
  static constexpr std::string_view k_alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t at = 0; at < bytes.size(); at += 3) {
    const std::size_t left = bytes.size() - at;
    std::uint32_t chunk = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at])) << 16;
    if (left > 1) {
      chunk |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + 1])) << 8;
    }
    if (left > 2) {
      chunk |= static_cast<unsigned char>(bytes[at + 2]);
    }
    out += k_alphabet[(chunk >> 18) & 63];
    out += k_alphabet[(chunk >> 12) & 63];
    out += left > 1 ? k_alphabet[(chunk >> 6) & 63] : '=';
    out += left > 2 ? k_alphabet[chunk & 63] : '=';
  }
  return out;
}

// CSP's hash source of `text`: 'sha256-<base64 of the digest>'.
std::string hash_source(std::string_view text) {
  const std::string hex = http::sha256_hex(text);
  std::string digest;
  for (std::size_t at = 0; at + 1 < hex.size(); at += 2) {
    digest += static_cast<char>(std::stoi(hex.substr(at, 2), nullptr, 16));
  }
  return fmt::format("'sha256-{}'", base64(digest));
}

// The text between `<tag>` and `</tag>`, which must occur once.
std::string_view inline_content(std::string_view page, std::string_view tag) {
  const std::string open = fmt::format("<{}>", tag);
  const std::string close = fmt::format("</{}>", tag);
  const auto start = page.find(open);
  const auto end = start == std::string_view::npos ? start : page.find(close, start);
  if (end == std::string_view::npos || page.find(open, start + 1) != std::string_view::npos) {
    throw std::logic_error(fmt::format("the status page needs exactly one {}…{}", open, close));
  }
  return page.substr(start + open.size(), end - start - open.size());
}

} // namespace

std::string content_security_policy(std::string_view page) {
  return fmt::format("default-src 'none'; script-src {}; style-src {}; connect-src 'self'; "
                     "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                     hash_source(inline_content(page, "script")),
                     hash_source(inline_content(page, "style")));
}

void install_status_page(http::Server& server) {
  http::ServerResponse page{.content_type = "text/html; charset=utf-8",
                            .body = std::string(k_status_page_html)};
  page.headers = {{"Content-Security-Policy", content_security_policy(k_status_page_html)},
                  {"X-Content-Type-Options", "nosniff"},
                  {"Cache-Control", "no-store"},
                  {"Referrer-Policy", "no-referrer"},
                  {"X-Frame-Options", "DENY"}};
  server.route("GET", "/", [page = std::move(page)](const http::ServerRequest&) { return page; });
}

} // namespace rsi::control::detail
