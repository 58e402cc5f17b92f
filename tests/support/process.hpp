#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace rsi::test {

// A daemon run as a child process by an end-to-end test, its stdout and stderr appended to
// `log`. The destructor kills it (SIGKILL) if it still runs, so a failing test leaves nothing.
class Process {
public:
  // Extra `env` entries are added to (or replace those of) this process's environment.
  Process(std::filesystem::path program, std::vector<std::string> args, std::filesystem::path log,
          std::map<std::string, std::string> env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  [[nodiscard]] pid_t pid() const { return m_pid; }
  [[nodiscard]] bool running();
  void signal(int signal_number);
  void kill_hard() { signal(9); }
  // Wait up to `timeout` for the exit; its status code (128+signal when killed), or nullopt
  // when it is still running.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  [[nodiscard]] std::string log_text() const;

private:
  pid_t m_pid = -1;
  std::optional<int> m_status;
  std::filesystem::path m_log;
};

// Runs `program` with `args` to its end, its output in `log`: the exit status and the output. A
// run still going after `timeout` fails the test (and is killed); its status is then -1.
std::pair<int, std::string> run_to_end(const std::filesystem::path& program,
                                       std::vector<std::string> args,
                                       const std::filesystem::path& log,
                                       std::chrono::milliseconds timeout);

// Stops a daemon a test left running with SIGTERM and expects it to exit 0 within 30 s, as a
// service manager would. Nothing when it already ended.
void stop_and_expect_clean_exit(Process& daemon);

// Poll `condition` every 50 ms until it holds or `timeout` passes; returns whether it held.
template <class Condition> bool eventually(std::chrono::milliseconds timeout, Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

} // namespace rsi::test
