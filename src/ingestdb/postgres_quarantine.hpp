#pragma once

// The quarantine of the PostgreSQL ingester database (table quarantined_file, 005_quarantine.sql):
// files whose data cannot load, set aside by split_batch, listed, retried or dropped by an
// operator. Not part of the ingester-database interface: include only from
// postgres_ingest_db.cpp, which owns the connections and transactions these run in.

#include <cstddef>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "ingestdb/ingest_db.hpp"
#include "pg/connection.hpp"
#include "pg/transaction.hpp"

namespace rsi::ingestdb::pg_quarantine {

// Sets `file`, a file of batch `manifest`, aside in `tx`: its quarantine row (one more attempt
// when the key was set aside before and retried), and its tsv row deleted.
[[nodiscard]] Result<void> set_aside(pg::Transaction& tx, const std::string& manifest,
                                     const FileQuarantine& file, TimePoint now);

// The quarantined files, oldest first; at most `limit`.
[[nodiscard]] Result<std::vector<QuarantinedFile>> list(pg::Connection& conn, std::size_t limit);

// Retries (`requeue`: each becomes a pending file received at `now`, unless its key is pending
// or was loaded at or after `loaded_since`) or drops the selected quarantined files, in one
// transaction; each keeps its row with the new state and `by`.
[[nodiscard]] Result<std::vector<QuarantineOutcome>> change(pg::Connection& conn,
                                                            const QuarantineSelection& selection,
                                                            const std::string& by, TimePoint now,
                                                            TimePoint loaded_since, bool requeue);

// Per table, how many files are quarantined and when the first was set aside.
[[nodiscard]] Result<std::vector<PendingStat>> stats(pg::Connection& conn);

} // namespace rsi::ingestdb::pg_quarantine
