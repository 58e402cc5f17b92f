#pragma once

#include <memory>

#include "common/error.hpp"
#include "ingestdb/postgres_ingest_db.hpp"
#include "ingestdb/sqlite_ingest_db.hpp"

namespace rsi::ingestdb {

// Which process runs the migrator among those sharing one ingester database: the migrator
// runs in one process at a time. The lock belongs to this object; a process
// that dies loses it with its connection (PostgreSQL: a session-level advisory lock held on a
// connection of its own) or its open file (SQLite: an flock on "<database>.migrator-lock"),
// and another process takes it on its next try. Thread-safe.
class MigratorLock {
public:
  virtual ~MigratorLock() = default;

  // Take the lock, or confirm that this object still holds it. true: held here; false:
  // another holder has it. Fails `transient` when the database cannot be reached; the lock
  // then counts as lost (a PostgreSQL lock dies with its connection), so the caller must stop
  // acting as the holder until a later call returns true.
  [[nodiscard]] virtual Result<bool> try_acquire() = 0;

  // Give the lock up; nothing happens when it is not held. The destructor does the same.
  virtual void release() = 0;
};

// PostgreSQL: pg_try_advisory_lock on the key (pg::advisory::k_migrator,
// hashtext(current_schema())), so
// ingester databases in different schemas of one server do not contend.
[[nodiscard]] Result<std::unique_ptr<MigratorLock>>
make_postgres_migrator_lock(const PostgresConfig& config);

// SQLite: an exclusive flock on the file "<config.path>.migrator-lock" (created when missing).
[[nodiscard]] Result<std::unique_ptr<MigratorLock>>
make_sqlite_migrator_lock(const SqliteConfig& config);

} // namespace rsi::ingestdb
