#pragma once

// A fake Rollbar item API on 127.0.0.1 (port 0), for tests of error reporting: it records every
// POST to /api/1/item/ and answers as Rollbar does (200 {"err":0,…}), or with a chosen status,
// optionally after stalling until released. Thread-safe.

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "integration/http/local_server.hpp"

namespace rsi::test {

struct RollbarPost {
  std::string body;
  std::string token_header;
  std::string content_type;
};

class FakeRollbar {
public:
  FakeRollbar() {
    m_server.server().Post(
        "/api/1/item/", [this](const httplib::Request& request, httplib::Response& response) {
          {
            const std::lock_guard lock(m_mutex);
            m_posts.push_back({request.body, request.get_header_value("X-Rollbar-Access-Token"),
                               request.get_header_value("Content-Type")});
          }
          const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
          while (m_stall && !m_released && std::chrono::steady_clock::now() < give_up) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
          }
          const std::lock_guard lock(m_mutex);
          response.status = m_status;
          response.set_content(m_status == 200 ? R"({"err":0,"result":{"id":null,"uuid":"x"}})"
                                               : m_error_body,
                               "application/json");
        });
    m_server.start();
  }
  ~FakeRollbar() { m_released = true; }
  FakeRollbar(const FakeRollbar&) = delete;
  FakeRollbar& operator=(const FakeRollbar&) = delete;

  [[nodiscard]] std::string endpoint() const { return m_server.url("/api/1/item/"); }
  void stall(bool on) { m_stall = on; }
  void answer(int status, std::string body = R"({"err":1,"message":"server error"})") {
    const std::lock_guard lock(m_mutex);
    m_error_body = std::move(body);
    m_status = status;
  }
  [[nodiscard]] std::vector<RollbarPost> posts() const {
    const std::lock_guard lock(m_mutex);
    return m_posts;
  }
  [[nodiscard]] std::size_t count() const { return posts().size(); }
  // The bodies of the POSTs so far, parsed (null for a body that is not JSON).
  [[nodiscard]] std::vector<nlohmann::json> items() const {
    std::vector<nlohmann::json> out;
    for (const RollbarPost& post : posts()) {
      out.push_back(nlohmann::json::parse(post.body, nullptr, false));
    }
    return out;
  }

private:
  mutable std::mutex m_mutex;
  std::vector<RollbarPost> m_posts;
  std::string m_error_body;
  int m_status = 200;
  std::atomic<bool> m_stall{false};
  std::atomic<bool> m_released{false};
  LocalServer m_server; // Last: stopped (its handlers finished) before the rest goes.
};

} // namespace rsi::test
