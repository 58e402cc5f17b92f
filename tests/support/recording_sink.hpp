// A statsd sink that keeps every datagram it is given, in order; safe to send from several
// threads (the caller reads `out` under `mutex`).
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "telemetry/statsd.hpp"

namespace rsi::test {

class RecordingSink final : public telemetry::StatsdSink {
public:
  RecordingSink(std::mutex& mutex, std::vector<std::string>& out) : m_mutex(mutex), m_out(out) {}
  void send(std::string_view datagram) override {
    const std::lock_guard lock(m_mutex);
    m_out.emplace_back(datagram);
  }

private:
  std::mutex& m_mutex;
  std::vector<std::string>& m_out;
};

} // namespace rsi::test
