#pragma once

// The quarantine of the SQLite ingester database (table quarantined_file, as PostgreSQL's): files
// whose data cannot load, set aside by split_batch, listed, retried or dropped by an operator.
// Not part of the ingester-database interface: include only from sqlite_ingest_db.cpp, whose
// callers hold its mutex and open the transactions these run in.

#include <cstddef>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "ingestdb/ingest_db.hpp"
#include "sqlite/database.hpp"

namespace rsi::ingestdb::sqlite_quarantine {

// Sets `file`, a file of batch `manifest`, aside: its quarantine row (one more attempt when the
// key was set aside before and retried), and its tsv row deleted.
[[nodiscard]] Result<void> set_aside(sqlite::Database& db, const std::string& manifest,
                                     const FileQuarantine& file, TimePoint now);

// The quarantined files, oldest first; at most `limit`.
[[nodiscard]] Result<std::vector<QuarantinedFile>> list(sqlite::Database& db, std::size_t limit);

// Retries (`requeue`: each becomes a pending file received at `now`, unless its key is pending
// or was loaded at or after `loaded_since`) or drops the selected quarantined files, in one
// transaction; each keeps its row with the new state and `by`.
[[nodiscard]] Result<std::vector<QuarantineOutcome>> change(sqlite::Database& db,
                                                            const QuarantineSelection& selection,
                                                            const std::string& by, TimePoint now,
                                                            TimePoint loaded_since, bool requeue);

// Pending pointers, written the same way by recording and by a retry of the quarantine:
// whether `key` was loaded at or after `since`, and a new tsv row (false when the key is pending
// already).
[[nodiscard]] Result<bool> loaded_since(sqlite::Database& db, const std::string& key,
                                        TimePoint since);
[[nodiscard]] Result<bool> insert_pending(sqlite::Database& db, const std::string& table,
                                          const std::string& key, int version, TimePoint received);

// Per table, how many files are quarantined and when the first was set aside.
[[nodiscard]] Result<std::vector<PendingStat>> stats(sqlite::Database& db);

} // namespace rsi::ingestdb::sqlite_quarantine
