#pragma once

#include <string>
#include <string_view>

#include "http/server.hpp"

namespace rsi::control::detail {

// The status page (src/control/status_page.html, compiled in): one HTML document with its CSS
// and JavaScript inline, which renders GET /control/status and acts through the API.
extern const std::string_view k_status_page_html;

// The Content-Security-Policy of `page`: nothing loads but the page's own inline <style> and
// <script> (allowed by their SHA-256), requests go to this server only, no frames, forms or
// plugins. Fails (std::logic_error) when `page` lacks exactly one <style> and one <script>.
std::string content_security_policy(std::string_view page);

// GET / (and HEAD): the page, with the CSP above, nosniff and no-store. No token needed, as
// /health: the page holds no data; what it shows comes from the API, which asks for the token.
void install_status_page(http::Server& server);

} // namespace rsi::control::detail
