#pragma once

#include <filesystem>
#include <memory>

#include "common/error.hpp"
#include "ingestdb/ingest_db.hpp"

namespace rsi::ingestdb {

struct SqliteConfig {
  std::filesystem::path path; // Created with its tables when missing.
  StoreOptions options;
};

// The embedded ingester database for one process (any number of threads).
Result<std::unique_ptr<IngestDb>> make_sqlite_ingest_db(const SqliteConfig& config);

} // namespace rsi::ingestdb
