#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "common/error.hpp"
#include "metadata/metadata_store.hpp"

namespace rsi::metadata {

struct PostgresConfig {
  std::string conninfo;            // libpq URI or key=value string (-databaseURL).
  std::size_t max_connections = 5; // -maxDBConnections.
  // How long one search for eligible groups serves further claims of this process.
  std::chrono::milliseconds candidate_ttl{1000};
  StoreOptions options;
};

// Connects, applies pending schema migrations (serialised across processes) and returns
// the store. Fails `transient` when the server cannot be reached.
Result<std::unique_ptr<MetadataStore>> make_postgres_metadata_store(const PostgresConfig& config);

} // namespace rsi::metadata
