#pragma once

// The migrator against real backends: a warehouse (SQLite, or PostgreSQL in a database of its
// own), an ingester database of the same kind, and a schema registry (a fake Blueprint over
// HTTP, or the local schema directory), with a fake clock. Files are gzip TSV objects in a local
// object store, loaded by the real loaders (src/loader) with their default claim policy, reading
// their versions from the migrator's cache as rsloadmanager wires them.

#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "ingestdb/ingest_db.hpp"
#include "ingestdb/migrator_lock.hpp"
#include "loader/loader.hpp"
#include "migrator/migrator.hpp"
#include "objectstore/object_store.hpp"
#include "registry/schema_registry.hpp"
#include "support/fake_blueprint.hpp"
#include "support/fake_clock.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"
#include "telemetry/metrics.hpp"
#include "warehouse/warehouse.hpp"

namespace rsi::migrator::testing {

enum class RegistryKind { blueprint, local };

struct HistoryParam {
  std::string name;
  bool postgres = false;
  RegistryKind registry = RegistryKind::blueprint;
};

std::string param_name(const ::testing::TestParamInfo<HistoryParam>& param);
inline void PrintTo(const HistoryParam& param, std::ostream* out) { *out << param.name; }

using Columns = std::vector<std::pair<std::string, std::string>>; // Name, type as the catalog says.
using Row = std::vector<std::optional<std::string>>;

class MigratorHistoryTest : public ::testing::TestWithParam<HistoryParam> {
protected:
  void SetUp() override;

  [[nodiscard]] bool is_postgres() const { return GetParam().postgres; }

  // Store `tsv` gzip-compressed as spade/<table>/v<version>/<name>.gz and record its pointer.
  void arrive(const std::string& table, int version, const std::string& name,
              const std::string& tsv);

  // One poll at the clock's time; the outcome of `table`'s step (failed when it took none).
  StepOutcome poll(const std::string& table);

  // Let the loaders work until nothing is eligible. Returns the (table, version) of each batch
  // they loaded, from the warehouse's load ledger.
  std::vector<std::pair<std::string, int>> load_eligible();

  // Pending files of `table` at `version`.
  bool pending(const std::string& table, int version);

  // What the warehouse holds.
  Columns columns(const std::string& table);
  bool has_view(const std::string& table);
  bool has_full_view(const std::string& table);
  std::vector<int> version_history(const std::string& table);
  std::vector<Row> query(const std::string& sql, int column_count);
  [[nodiscard]] std::string table_ref(const std::string& table) const;
  [[nodiscard]] std::string view_ref(const std::string& table) const;

  // An operator drops the table and its views by hand (after Blueprint's request_drop_event).
  void drop_by_hand(const std::string& table);

  test::TempDir m_dir;
  std::optional<test::PostgresSchema> m_ingester_schema;
  std::optional<test::PostgresDatabase> m_warehouse_database;
  std::unique_ptr<objectstore::ObjectStore> m_objects;
  std::unique_ptr<warehouse::Warehouse> m_warehouse;        // The migrator's.
  std::unique_ptr<warehouse::Warehouse> m_loader_warehouse; // The loaders'.
  std::unique_ptr<ingestdb::IngestDb> m_store;
  std::unique_ptr<ingestdb::MigratorLock> m_lock;
  std::optional<test::FakeBlueprint> m_blueprint;
  std::unique_ptr<registry::SchemaRegistry> m_registry;
  VersionCache m_versions;
  test::FakeClock m_clock;
  telemetry::Metrics m_metrics{"ingester"};
  std::unique_ptr<Migrator> m_migrator;
  std::unique_ptr<loader::Loader> m_loader;
  std::set<std::string> m_loaded_manifests;

private:
  void make_registry();
};

// The scripted history of minute_watched, as Blueprint serves it: versions 0 and 1 are the
// recorded responses (../shared/spec/blueprint), then 2: delete bytes, add city, rename
// minutes_logged → minutes; 3: request_drop_event; 4: drop_event; 5: re-created with new columns.
void script_blueprint(test::FakeBlueprint& blueprint, const std::filesystem::path& recordings);

// The same history as local schema files under `root` (docs/schema-registry.md): v0 and v1 are
// Blueprint's recorded schemas saved as files (v1 with its rename added).
void write_local_schemas(const std::filesystem::path& root,
                         const std::filesystem::path& recordings);

} // namespace rsi::migrator::testing
