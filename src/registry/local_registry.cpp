// The local schema registry: `<root>/<table>/v<N>.json`, one file per table version, in the
// format of local_schema.hpp. Nothing is cached: every call reads the (small) files it needs,
// so a version added while the daemon runs is picked up by the next poll, and the object holds
// no mutable state (thread-safe).
#include "registry/local_registry.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "core/file_pointer.hpp"
#include "core/table_name.hpp"
#include "registry/local_schema.hpp"

namespace rsi::registry {
namespace {

constexpr std::uintmax_t k_max_file_bytes = 16U << 20U;

// The contents of `path`, or nullopt when there is no such file.
Result<std::optional<std::string>> read_file(const std::filesystem::path& path) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (status.type() == std::filesystem::file_type::not_found) {
    return std::optional<std::string>();
  }
  if (error) {
    return fail(ErrorKind::permanent,
                fmt::format("read schema {}: {}", path.string(), error.message()));
  }
  if (!std::filesystem::is_regular_file(status)) {
    return fail(ErrorKind::permanent,
                fmt::format("read schema {}: not a regular file", path.string()));
  }
  const auto size = std::filesystem::file_size(path, error);
  if (error || size > k_max_file_bytes) {
    return fail(ErrorKind::permanent, fmt::format("read schema {}: {}", path.string(),
                                                  error ? error.message() : "larger than 16 MiB"));
  }
  std::ifstream file(path, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  if (!file) {
    return fail(ErrorKind::permanent,
                fmt::format("read schema {}: cannot read the file", path.string()));
  }
  return std::optional<std::string>(contents.str());
}

class LocalRegistry final : public SchemaRegistry {
public:
  explicit LocalRegistry(std::filesystem::path root) : m_root(std::move(root)) {}

  // SchemaRegistry
  Result<std::vector<core::Operation>> migration(std::string_view table, int to_version) override {
    RSI_TRY(check_request("migration", table, to_version));
    RSI_TRY_ASSIGN(const auto next, load(table, to_version));
    if (!next) {
      return fail(ErrorKind::permanent,
                  fmt::format("No migration for table '{}' to v{} (no file {})", table, to_version,
                              path_of(table, to_version).string()));
    }
    std::optional<LocalSchema> previous;
    if (to_version > 0) {
      RSI_TRY_ASSIGN(previous, load(table, to_version - 1));
      if (!previous) {
        return fail(
            ErrorKind::permanent,
            fmt::format("migration {} v{}: no file {}: versions are numbered from v0 without gaps",
                        table, to_version, path_of(table, to_version - 1).string()));
      }
    }
    auto steps = derive_migration(previous, *next);
    if (!steps) {
      return fail(
          steps.error().wrap(fmt::format("read schema {}", path_of(table, to_version).string())));
    }
    // The same checks as a Blueprint answer gets: what passes here, the migrator can trust.
    if (auto checked = core::parse_migration(core::encode_migration(*steps)); !checked) {
      return fail(
          checked.error().wrap(fmt::format("read schema {}", path_of(table, to_version).string())));
    }
    return steps;
  }

  Result<std::optional<core::TableSchema>> schema(std::string_view table, int version) override {
    RSI_TRY(check_request("schema", table, version));
    RSI_TRY_ASSIGN(auto local, load(table, version));
    if (!local || local->schema.dropped) {
      return std::optional<core::TableSchema>();
    }
    return std::optional<core::TableSchema>(std::move(local->schema));
  }

  // The highest N of schemas/<table>/v<N>.json.
  Result<std::optional<int>> current_version(std::string_view table) override {
    RSI_TRY(check_request("current schema", table, 0));
    std::error_code error;
    std::optional<int> newest;
    for (std::filesystem::directory_iterator entry(m_root / std::string(table), error), end;
         !error && entry != end; entry.increment(error)) {
      const std::string name = entry->path().filename().string();
      int version = -1;
      if (name.size() > 6 && name.starts_with('v') && name.ends_with(".json") &&
          std::from_chars(name.data() + 1, name.data() + name.size() - 5, version).ptr ==
              name.data() + name.size() - 5 &&
          version >= 0 && version <= core::k_max_table_version) {
        newest = std::max(newest.value_or(version), version);
      }
    }
    if (error && error != std::errc::no_such_file_or_directory) {
      return fail(ErrorKind::transient,
                  fmt::format("list schemas of {}: {}", table, error.message()));
    }
    if (!newest) {
      return std::optional<int>();
    }
    RSI_TRY_ASSIGN(const auto local, load(table, *newest));
    return local && !local->schema.dropped ? newest : std::optional<int>();
  }

private:
  static Result<void> check_request(std::string_view what, std::string_view table, int version) {
    // The table name becomes a path component: validate_table_name admits no '/' or '.'.
    if (auto valid = core::validate_table_name(table); !valid) {
      return fail(valid.error().wrap(fmt::format("{} v{}", what, version)));
    }
    if (version < 0) {
      return fail(ErrorKind::permanent,
                  fmt::format("{} {} v{}: the version must not be negative", what, table, version));
    }
    return {};
  }

  [[nodiscard]] std::filesystem::path path_of(std::string_view table, int version) const {
    return m_root / std::string(table) / fmt::format("v{}.json", version);
  }

  Result<std::optional<LocalSchema>> load(std::string_view table, int version) const {
    const auto path = path_of(table, version);
    RSI_TRY_ASSIGN(const auto body, read_file(path));
    if (!body) {
      return std::optional<LocalSchema>();
    }
    auto parsed = parse_local_schema(*body, table, version);
    if (!parsed) {
      return fail(parsed.error().wrap(fmt::format("read schema {}", path.string())));
    }
    return std::optional<LocalSchema>(std::move(*parsed));
  }

  std::filesystem::path m_root;
};

} // namespace

Result<std::unique_ptr<SchemaRegistry>> make_local_registry(const LocalConfig& config) {
  std::error_code error;
  if (!std::filesystem::is_directory(config.root, error)) {
    return fail(ErrorKind::permanent,
                fmt::format("local schema registry {}: not a directory{}", config.root.string(),
                            error ? fmt::format(" ({})", error.message()) : ""));
  }
  return std::make_unique<LocalRegistry>(config.root);
}

} // namespace rsi::registry
