#pragma once

namespace rsi::http {

// Owns libcurl's process-wide initialisation (curl_global_init / curl_global_cleanup).
// Create exactly one at the top of a run_*() function (or a test main), before any thread
// starts, and keep it alive while any http::Client exists. Not copyable or movable.
class CurlGlobal {
public:
  CurlGlobal();
  ~CurlGlobal();
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
  CurlGlobal(CurlGlobal&&) = delete;
  CurlGlobal& operator=(CurlGlobal&&) = delete;

  // False when curl_global_init failed; every Client::create() will then fail too.
  [[nodiscard]] bool ok() const { return m_ok; }

private:
  bool m_ok = false;
};

} // namespace rsi::http
