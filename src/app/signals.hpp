#pragma once

#include <stop_token>
#include <thread>

namespace rsi::app {

// SIGINT and SIGTERM request a stop instead of killing the process. Construct it first in
// run_*(), before any other thread starts, so that every thread inherits the blocked mask.
class StopOnSignals {
public:
  StopOnSignals();
  ~StopOnSignals();
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;

  [[nodiscard]] std::stop_token token() const { return m_stop.get_token(); }
  std::stop_source& source() { return m_stop; }

private:
  std::stop_source m_stop;
  std::jthread m_waiter;
};

} // namespace rsi::app
