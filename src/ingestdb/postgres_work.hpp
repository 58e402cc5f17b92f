#pragma once

// Work notifications of the PostgreSQL ingester database (k_work_channel in
// postgres_ingest_db.hpp). Not part of the ingester-database interface: include only from the
// PostgreSQL backend's files, which own the transactions these run in.

#include <string>

#include "common/error.hpp"
#include "pg/transaction.hpp"

namespace rsi::ingestdb::pg_work {

// In `tx`: one NOTIFY on k_work_channel naming `table` (cut to 127 characters), delivered when
// `tx` commits. PostgreSQL folds identical notifications of one transaction into one.
[[nodiscard]] Result<void> announce(pg::Transaction& tx, const std::string& table);

} // namespace rsi::ingestdb::pg_work
