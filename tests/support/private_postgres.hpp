#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "support/temp_dir.hpp"

namespace rsi::test {

// A PostgreSQL server of the test's own (initdb in a temporary directory, loopback, a free
// port) for tests that stop and start the server; the shared one must stay up for the others.
class PrivatePostgres {
public:
  // nullopt when the server binaries cannot be found (RSI_TEST_PG_BIN or /usr/lib/postgresql).
  static std::optional<std::filesystem::path> binaries();

  PrivatePostgres(); // Throws std::runtime_error when the server does not come up.
  ~PrivatePostgres();
  PrivatePostgres(const PrivatePostgres&) = delete;
  PrivatePostgres& operator=(const PrivatePostgres&) = delete;

  // Connection string of its "ingester" database.
  [[nodiscard]] std::string conninfo() const;
  void stop();  // Fast shutdown; connections break.
  void start(); // Same port, same data.

private:
  void run(const std::string& command) const;

  TempDir m_dir;
  std::filesystem::path m_bin;
  int m_port = 0;
  bool m_running = false;
};

} // namespace rsi::test
