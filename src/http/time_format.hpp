#pragma once

// Timestamps as AWS and HTTP write them.

#include <optional>
#include <string_view>

#include "common/clock.hpp"

namespace rsi::http {

// "2024-05-01T12:00:00Z", also with fractional seconds or a numeric offset ("+02:00"), as
// credential endpoints and S3 listings write them.
std::optional<TimePoint> parse_iso8601(std::string_view text);

// An HTTP date (RFC 9110 IMF-fixdate): "Wed, 12 Oct 2009 17:50:00 GMT" (Last-Modified).
std::optional<TimePoint> parse_http_date(std::string_view text);

} // namespace rsi::http
