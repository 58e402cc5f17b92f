#pragma once

#include <filesystem>
#include <memory>

#include "common/error.hpp"
#include "registry/schema_registry.hpp"

namespace rsi::registry {

struct LocalConfig {
  // Holds one folder per table with one file per version: `<root>/<table>/v<N>.json`
  // (docs/schema-registry.md).
  std::filesystem::path root;
};

// A schema registry read from a directory, for the embedded default: the migration to version
// N is derived from the files of versions N-1 and N (local_schema.hpp), so tables evolve by
// adding files, without Blueprint. Files are read on every call, so a new version is seen at
// once. Fails permanent when `root` is not a directory.
[[nodiscard]] Result<std::unique_ptr<SchemaRegistry>>
make_local_registry(const LocalConfig& config);

} // namespace rsi::registry
