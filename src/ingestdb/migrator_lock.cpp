// The migrator's lock for both ingester database backends.
//
// PostgreSQL: a session-level advisory lock, taken with pg_try_advisory_lock on a connection
// opened for it alone (the pool's connections come and go, and a session lock must stay with
// one session). Key: the two-int form (pg::advisory::k_migrator, hashtext(current_schema()));
// pg/advisory_locks.hpp lists every lock class. Each try of the
// holder runs "SELECT 1" on that connection: a broken connection means the server has released
// the lock, so it is reported lost and taken again only if still free.
//
// SQLite: the ingester database serves one process, but nothing stops a second one from
// opening the file; an exclusive flock on "<database>.migrator-lock" keeps the migrator single.
// The kernel drops the flock when the process dies.
#include "ingestdb/migrator_lock.hpp"

#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/file_descriptor.hpp"
#include "common/log.hpp"
#include "pg/advisory_locks.hpp"
#include "pg/connection.hpp"

namespace rsi::ingestdb {
namespace {

constexpr int k_migrator_lock = pg::advisory::k_migrator;

class PostgresMigratorLock final : public MigratorLock {
public:
  explicit PostgresMigratorLock(std::string conninfo) : m_conninfo(std::move(conninfo)) {}
  PostgresMigratorLock(const PostgresMigratorLock&) = delete;
  PostgresMigratorLock& operator=(const PostgresMigratorLock&) = delete;
  ~PostgresMigratorLock() override { release(); }

  // MigratorLock
  Result<bool> try_acquire() override {
    const std::lock_guard lock(m_mutex);
    if (m_conn) {
      if (m_conn->healthy() && m_conn->exec("SELECT 1")) {
        return true;
      }
      log::warn("migrator lock lost: its connection to the ingester database broke");
      m_conn.reset();
    }
    RSI_TRY_ASSIGN(pg::Connection conn, pg::Connection::connect(m_conninfo));
    auto taken =
        conn.exec("SELECT pg_try_advisory_lock($1, hashtext(COALESCE(current_schema(), '')))",
                  {std::to_string(k_migrator_lock)});
    if (!taken) {
      return fail(taken.error().wrap("take the migrator lock"));
    }
    if (!taken->boolean(0, 0)) {
      return false; // Another session holds it; this connection closes here.
    }
    m_conn.emplace(std::move(conn));
    return true;
  }

  void release() override {
    const std::lock_guard lock(m_mutex);
    if (!m_conn) {
      return;
    }
    // Closing the session would release the lock too; unlocking first says so explicitly.
    if (auto unlocked =
            m_conn->exec("SELECT pg_advisory_unlock($1, hashtext(COALESCE(current_schema(), '')))",
                         {std::to_string(k_migrator_lock)});
        !unlocked) {
      log::warn("release the migrator lock", {{"error", unlocked.error().message}});
    }
    m_conn.reset();
  }

private:
  std::string m_conninfo;
  std::mutex m_mutex;
  std::optional<pg::Connection> m_conn; // Open exactly while the lock is held.
};

class SqliteMigratorLock final : public MigratorLock {
public:
  explicit SqliteMigratorLock(std::string path) : m_path(std::move(path)) {}

  // MigratorLock
  Result<bool> try_acquire() override {
    const std::lock_guard lock(m_mutex);
    if (m_file) {
      return true;
    }
    FileDescriptor file(::open(m_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (file.get() < 0) {
      return fail(ErrorKind::permanent, fmt::format("open {}: {}", m_path, std::strerror(errno)));
    }
    if (::flock(file.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        return false;
      }
      return fail(ErrorKind::transient, fmt::format("lock {}: {}", m_path, std::strerror(errno)));
    }
    m_file.emplace(std::move(file));
    return true;
  }

  void release() override {
    const std::lock_guard lock(m_mutex);
    m_file.reset(); // Closing the descriptor drops the flock.
  }

private:
  std::string m_path;
  std::mutex m_mutex;
  std::optional<FileDescriptor> m_file; // Open exactly while the lock is held.
};

} // namespace

Result<std::unique_ptr<MigratorLock>> make_postgres_migrator_lock(const PostgresConfig& config) {
  return std::make_unique<PostgresMigratorLock>(config.conninfo);
}

Result<std::unique_ptr<MigratorLock>> make_sqlite_migrator_lock(const SqliteConfig& config) {
  return std::make_unique<SqliteMigratorLock>(config.path.string() + ".migrator-lock");
}

} // namespace rsi::ingestdb
