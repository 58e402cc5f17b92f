// libcurl's global initialisation for the whole test binary, before main() runs tests.
#include "http/curl_global.hpp"

namespace {

const rsi::http::CurlGlobal k_curl;

} // namespace
