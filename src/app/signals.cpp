#include "app/signals.hpp"

#include <csignal>
#include <ctime>

#include "common/log.hpp"

namespace rsi::app {
namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

} // namespace

StopOnSignals::StopOnSignals() {
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  m_waiter = std::jthread([this](std::stop_token own) {
    const sigset_t waited = stop_signals();
    const timespec tick{.tv_sec = 0, .tv_nsec = 200'000'000};
    while (!own.stop_requested()) {
      const int signal = sigtimedwait(&waited, nullptr, &tick);
      if (signal == SIGINT || signal == SIGTERM) {
        log::info("stop requested", {{"signal", signal == SIGINT ? "SIGINT" : "SIGTERM"}});
        m_stop.request_stop();
      }
    }
  });
}

StopOnSignals::~StopOnSignals() {
  m_waiter.request_stop();
  m_waiter.join();
}

} // namespace rsi::app
