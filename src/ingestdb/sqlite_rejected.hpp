#pragma once

// The rejected messages of the SQLite ingester database (table rejected_message, as
// PostgreSQL's): kept by the storer, listed, and resolved by a replay. Not part of the
// ingester-database interface: include only from sqlite_ingest_db.cpp, whose callers hold its
// mutex.

#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "ingestdb/ingest_db.hpp"
#include "sqlite/database.hpp"

namespace rsi::ingestdb::sqlite_rejected {

[[nodiscard]] Result<void> insert(sqlite::Database& db, const RejectedMessage& message);

[[nodiscard]] Result<std::vector<StoredRejection>> list(sqlite::Database& db,
                                                        const RejectedSelection& selection);

// Rows per kind and table, the largest groups first; at most `limit` groups.
[[nodiscard]] Result<std::vector<RejectedCount>> counts(sqlite::Database& db, std::size_t limit);

[[nodiscard]] Result<std::int64_t> count_since(sqlite::Database& db, TimePoint since);

// Deletes row `id`; false when there is none.
[[nodiscard]] Result<bool> remove(sqlite::Database& db, std::int64_t id);

// Sets row `id`'s reason, kind and table (empty: NULL); false when there is none.
[[nodiscard]] Result<bool> update(sqlite::Database& db, std::int64_t id, const std::string& reason,
                                  const std::string& kind, const std::string& table);

} // namespace rsi::ingestdb::sqlite_rejected
