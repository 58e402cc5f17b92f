#include "http/curl_global.hpp"

#include "http/handles.hpp"

namespace rsi::http {

CurlGlobal::CurlGlobal() : m_ok(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) {}

CurlGlobal::~CurlGlobal() {
  if (m_ok) {
    curl_global_cleanup();
  }
}

} // namespace rsi::http
