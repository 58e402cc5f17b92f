#pragma once

#include <filesystem>
#include <memory>

#include "common/error.hpp"
#include "metadata/metadata_store.hpp"

namespace rsi::metadata {

struct SqliteConfig {
  std::filesystem::path path; // Created with its tables when missing.
  StoreOptions options;
};

// The embedded ingester database for one process (any number of threads).
Result<std::unique_ptr<MetadataStore>> make_sqlite_metadata_store(const SqliteConfig& config);

} // namespace rsi::metadata
