#pragma once

#include <filesystem>
#include <string>

#include "common/error.hpp"
#include "registry/event_metadata.hpp"

namespace rsi::app {

// The layout of the embedded default's data directory.
struct DataDir {
  std::filesystem::path root;

  [[nodiscard]] std::filesystem::path ingester_db() const { return root / "ingester.db"; }
  [[nodiscard]] std::filesystem::path warehouse_db() const { return root / "warehouse.db"; }
  [[nodiscard]] std::filesystem::path objects() const { return root / "objects"; }
  [[nodiscard]] std::filesystem::path inbox() const { return root / "inbox"; }
  [[nodiscard]] std::filesystem::path schemas() const { return root / "schemas"; }
  // Optional: Blueprint's /allmetadata shape. Without it every table of schemas/ loads.
  [[nodiscard]] std::filesystem::path event_metadata() const {
    return root / "event-metadata.json";
  }

  // The bucket folder local files are copied into by `rs_ingester load`.
  static constexpr const char* k_local_bucket = "local";
};

// Event metadata for the embedded default: event-metadata.json when present, else every
// table folder of schemas/ with datastores "ace".
registry::MetadataFetcher embedded_metadata_fetcher(const DataDir& dir);

} // namespace rsi::app
