#include "support/private_postgres.hpp"

#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace rsi::test {
namespace {

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

} // namespace

std::optional<std::filesystem::path> PrivatePostgres::binaries() {
  if (const char* bin = std::getenv("RSI_TEST_PG_BIN"); bin != nullptr && *bin != '\0') {
    return std::filesystem::path(bin);
  }
  std::optional<std::filesystem::path> best;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", error)) {
    const auto candidate = entry.path() / "bin";
    if (std::filesystem::exists(candidate / "pg_ctl") && (!best || candidate > *best)) {
      best = candidate;
    }
  }
  return best;
}

PrivatePostgres::PrivatePostgres() : m_port(free_port()) {
  const auto bin = binaries();
  if (!bin) {
    throw std::runtime_error("PostgreSQL server binaries not found");
  }
  m_bin = *bin;
  if (geteuid() == 0) {
    std::filesystem::permissions(m_dir.path(), std::filesystem::perms::all);
    run(fmt::format("chown postgres: '{}'", m_dir.path().string()));
  }
  run(fmt::format("{} '{}/initdb' -D '{}/data' -U postgres -A trust -E UTF8 --no-locale --no-sync "
                  ">'{}/initdb.log' 2>&1",
                  geteuid() == 0 ? "runuser -u postgres --" : "", m_bin.string(),
                  m_dir.path().string(), m_dir.path().string()));
  start();
  run(fmt::format("psql -h 127.0.0.1 -p {} -U postgres -d postgres -qAt -c 'CREATE DATABASE "
                  "ingester' >/dev/null",
                  m_port));
}

PrivatePostgres::~PrivatePostgres() {
  try {
    stop();
  } catch (const std::exception&) {
    // The server may already be gone; the directory is removed either way.
  }
}

std::string PrivatePostgres::conninfo() const {
  return fmt::format("host=127.0.0.1 port={} user=postgres dbname=ingester", m_port);
}

void PrivatePostgres::run(const std::string& command) const {
  if (std::system(command.c_str()) != 0) {
    throw std::runtime_error("command failed: " + command);
  }
}

void PrivatePostgres::start() {
  if (m_running) {
    return;
  }
  run(fmt::format(
      "{} '{}/pg_ctl' -D '{}/data' -l '{}/log' -w -t 30 -o \"-c listen_addresses=127.0.0.1 -p {} "
      "-k '{}' "
      "-c fsync=off -c synchronous_commit=off -c full_page_writes=off\" start >/dev/null",
      geteuid() == 0 ? "runuser -u postgres --" : "", m_bin.string(), m_dir.path().string(),
      m_dir.path().string(), m_port, m_dir.path().string()));
  m_running = true;
}

void PrivatePostgres::stop() {
  if (!m_running) {
    return;
  }
  m_running = false;
  run(fmt::format("{} '{}/pg_ctl' -D '{}/data' -m fast -w stop >/dev/null",
                  geteuid() == 0 ? "runuser -u postgres --" : "", m_bin.string(),
                  m_dir.path().string()));
}

} // namespace rsi::test
