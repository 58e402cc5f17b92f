#include "support/process.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace rsi::test {

Process::Process(std::filesystem::path program, std::vector<std::string> args,
                 std::filesystem::path log, std::map<std::string, std::string> env)
    : m_log(std::move(log)) {
  std::map<std::string, std::string> merged;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const auto equals = text.find('=');
    if (equals != std::string::npos) {
      merged[text.substr(0, equals)] = text.substr(equals + 1);
    }
  }
  for (auto& [name, value] : env) {
    merged[name] = value;
  }
  std::vector<std::string> env_text;
  for (const auto& [name, value] : merged) {
    env_text.push_back(name + "=" + value);
  }
  std::vector<char*> env_ptrs;
  for (auto& entry : env_text) {
    env_ptrs.push_back(entry.data());
  }
  env_ptrs.push_back(nullptr);

  std::vector<std::string> argv_text{program.string()};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv_ptrs;
  for (auto& arg : argv_text) {
    argv_ptrs.push_back(arg.data());
  }
  argv_ptrs.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, m_log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  // The test may run with SIGINT/SIGTERM blocked; the child starts with a clean mask.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attributes, &empty);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  const int rc = posix_spawn(&m_pid, program.c_str(), &actions, &attributes, argv_ptrs.data(),
                             env_ptrs.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) {
    throw std::runtime_error("cannot start " + program.string());
  }
}

Process::~Process() {
  if (running()) {
    kill_hard();
    wait(std::chrono::seconds(10));
  }
}

bool Process::running() {
  if (m_status || m_pid <= 0) {
    return false;
  }
  int status = 0;
  const pid_t done = waitpid(m_pid, &status, WNOHANG);
  if (done == m_pid) {
    m_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

void Process::signal(int signal_number) {
  if (running()) {
    ::kill(m_pid, signal_number);
  }
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  eventually(timeout, [&] { return !running(); });
  return m_status;
}

std::string Process::log_text() const {
  std::ifstream in(m_log);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::pair<int, std::string> run_to_end(const std::filesystem::path& program,
                                       std::vector<std::string> args,
                                       const std::filesystem::path& log,
                                       std::chrono::milliseconds timeout) {
  Process process(program, std::move(args), log);
  const auto status = process.wait(timeout);
  EXPECT_TRUE(status.has_value()) << program.filename().string() << " still running after "
                                  << timeout.count() << " ms:\n"
                                  << process.log_text();
  return {status.value_or(-1), process.log_text()};
}

void stop_and_expect_clean_exit(Process& daemon) {
  if (!daemon.running()) {
    return;
  }
  daemon.signal(SIGTERM);
  const auto status = daemon.wait(std::chrono::seconds(30));
  EXPECT_TRUE(status.has_value()) << "did not stop within 30 s after SIGTERM";
  EXPECT_EQ(status.value_or(-1), 0) << daemon.log_text();
}

} // namespace rsi::test
