#pragma once

// The rejected messages of the PostgreSQL ingester database (table rejected_message,
// 002_exactly_once.sql and 006_rejected_kind.sql): kept by the storer, listed, and resolved by
// a replay. Not part of the ingester-database interface: include only from
// postgres_ingest_db.cpp, which owns the connections these run on.

#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "ingestdb/ingest_db.hpp"
#include "pg/connection.hpp"

namespace rsi::ingestdb::pg_rejected {

[[nodiscard]] Result<void> insert(pg::Connection& conn, const RejectedMessage& message);

[[nodiscard]] Result<std::vector<StoredRejection>> list(pg::Connection& conn,
                                                        const RejectedSelection& selection);

// Rows per kind and table, the largest groups first; at most `limit` groups.
[[nodiscard]] Result<std::vector<RejectedCount>> counts(pg::Connection& conn, std::size_t limit);

[[nodiscard]] Result<std::int64_t> count_since(pg::Connection& conn, TimePoint since);

// Deletes row `id`; false when there is none.
[[nodiscard]] Result<bool> remove(pg::Connection& conn, std::int64_t id);

// Sets row `id`'s reason, kind and table (empty: NULL); false when there is none.
[[nodiscard]] Result<bool> update(pg::Connection& conn, std::int64_t id, const std::string& reason,
                                  const std::string& kind, const std::string& table);

} // namespace rsi::ingestdb::pg_rejected
