#pragma once

// Hand-written fakes for migrator tests: a scripted schema registry, a migrator lock that is
// held or not on demand, and a warehouse wrapper that injects locks and failures in front of
// a real warehouse.

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "ingestdb/migrator_lock.hpp"
#include "registry/schema_registry.hpp"
#include "warehouse/batch_files.hpp"
#include "warehouse/warehouse.hpp"

namespace rsi::migrator::testing {

// For warehouses whose batches a test never loads.
inline Result<warehouse::ObjectRef> no_files(const core::ObjectLocation& location) {
  return fail(ErrorKind::permanent, fmt::format("no batch files in this test: {}", location.key));
}

class ScriptedRegistry final : public registry::SchemaRegistry {
public:
  void set(const std::string& table, int version, std::vector<core::Operation> operations) {
    const std::lock_guard lock(m_mutex);
    m_migrations[{table, version}] = std::move(operations);
  }
  std::atomic<bool> down{false};
  std::atomic<int> calls{0};

  // SchemaRegistry
  Result<std::vector<core::Operation>> migration(std::string_view table, int to_version) override {
    ++calls;
    if (down) {
      return fail(ErrorKind::transient,
                  fmt::format("fetch migration {} v{}: HTTP 503", table, to_version));
    }
    const std::lock_guard lock(m_mutex);
    const auto found = m_migrations.find({std::string(table), to_version});
    if (found == m_migrations.end()) {
      return fail(ErrorKind::permanent,
                  fmt::format("No migration for table '{}' to v{}.", table, to_version));
    }
    return found->second;
  }
  Result<std::optional<core::TableSchema>> schema(std::string_view, int) override {
    return std::optional<core::TableSchema>();
  }
  // The highest version set for `table`.
  Result<std::optional<int>> current_version(std::string_view table) override {
    const std::lock_guard lock(m_mutex);
    std::optional<int> newest;
    for (const auto& [key, operations] : m_migrations) {
      if (key.first == table) {
        newest = std::max(newest.value_or(key.second), key.second);
      }
    }
    return newest;
  }

private:
  std::mutex m_mutex;
  std::map<std::pair<std::string, int>, std::vector<core::Operation>> m_migrations;
};

class FakeLock final : public ingestdb::MigratorLock {
public:
  std::atomic<bool> available{true};    // false: another process holds it.
  std::atomic<bool> unreachable{false}; // The ingester database is down.
  std::atomic<int> tries{0};

  Result<bool> try_acquire() override {
    ++tries;
    if (unreachable) {
      return fail(ErrorKind::transient, "connect: connection refused");
    }
    return available.load();
  }
  void release() override {}
};

// Delegates to a real warehouse; `locked` and the injected errors override it.
class ScriptedWarehouse final : public warehouse::Warehouse {
public:
  explicit ScriptedWarehouse(warehouse::Warehouse& real) : m_real(real) {}
  std::atomic<bool> locked{false};
  std::optional<Error> apply_error; // Returned by the next apply_migration, once.
  std::atomic<int> applies{0};
  std::vector<std::chrono::milliseconds> timeouts; // Of every apply_migration.

  Result<warehouse::TableVersions> table_versions() override { return m_real.table_versions(); }
  Result<bool> table_exists(std::string_view table) override { return m_real.table_exists(table); }
  Result<bool> table_locked(std::string_view table) override {
    RSI_TRY(m_real.table_locked(table));
    return locked.load();
  }
  Result<void> apply_migration(std::string_view table, int target_version,
                               std::span<const core::Operation> operations,
                               std::chrono::milliseconds statement_timeout) override {
    ++applies;
    timeouts.push_back(statement_timeout);
    if (apply_error) {
      return fail(*std::exchange(apply_error, std::nullopt));
    }
    return m_real.apply_migration(table, target_version, operations, statement_timeout);
  }
  Result<std::vector<std::string>>
  migration_statements(std::string_view table, int target_version,
                       std::span<const core::Operation> operations) override {
    return m_real.migration_statements(table, target_version, operations);
  }
  Result<int> increment_version(std::string_view table) override {
    return m_real.increment_version(table);
  }
  Result<std::vector<std::string>> repair_views() override { return m_real.repair_views(); }
  warehouse::LoadOutcome<warehouse::LoadResult>
  load_batch(const warehouse::LoadRequest& request) override {
    return m_real.load_batch(request);
  }
  Result<core::LoadStatus> check_load(std::string_view uuid) override {
    return m_real.check_load(uuid);
  }
  Result<void> ping() override { return m_real.ping(); }

private:
  warehouse::Warehouse& m_real;
};

} // namespace rsi::migrator::testing
