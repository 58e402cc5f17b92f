// SQLite warehouse (one file, any number of processes; writers take turns).
//
// Tables: event tables under their own names, with their declared types kept as the loaders
// read them back ("varchar(32)", "timestamp", "decimal(10,2)": SQLite stores the declared
// type verbatim, so TRUNCATECOLUMNS still knows each width); views "<schema>.<table>";
// "infra.table_version", "infra.load_manifest" (uuid PRIMARY KEY) and "infra.rejected_row"
// (the rows loads skipped under their max_bad_rows) as in the other warehouses. Every write
// runs in a BEGIN IMMEDIATE transaction, so the version check and the ledger row cannot race
// another process.
#include "warehouse/sqlite_warehouse.hpp"

#include <array>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "common/log.hpp"
#include "common/uuid.hpp"
#include "core/file_pointer.hpp"
#include "sqlite/database.hpp"
#include "warehouse/ddl.hpp"
#include "warehouse/load_protocol.hpp"
#include "warehouse/migration_plan.hpp"
#include "warehouse/schema_protocol.hpp"

namespace rsi::warehouse {
namespace {

constexpr std::string_view k_schema = R"sql(
  CREATE TABLE IF NOT EXISTS "infra.table_version" (
    name TEXT NOT NULL, version INTEGER NOT NULL, ts TEXT NOT NULL);
  -- A table's version (MAX(version) of its name, read by every load and migration step) from
  -- the index, not a scan: creating N tables stays linear in N.
  CREATE INDEX IF NOT EXISTS "infra.table_version_name_idx" ON "infra.table_version" (name, version);
  CREATE TABLE IF NOT EXISTS "infra.load_manifest" (
    uuid TEXT PRIMARY KEY, table_name TEXT NOT NULL, table_version INTEGER NOT NULL,
    file_count INTEGER NOT NULL, row_count INTEGER NOT NULL, loaded_at TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS "infra.rejected_row" (
    manifest_uuid TEXT NOT NULL, table_name TEXT NOT NULL, file_url TEXT NOT NULL,
    line_number INTEGER, column_name TEXT, raw_line TEXT, reason TEXT NOT NULL,
    rejected_at TEXT NOT NULL);)sql";
constexpr std::string_view k_now = "strftime('%Y-%m-%d %H:%M:%f', 'now')";

Result<std::string> quote(std::string_view name) {
  return sqlite::Database::quote_identifier(name);
}

// Binds one converted value the way its column type stores it best in SQLite.
void bind_field(sqlite::Statement& insert, int index, const tsv::Field& field,
                const tsv::ColumnType& type, std::string& scratch) {
  if (field.null) {
    insert.bind_null(index);
    return;
  }
  switch (type.kind) {
  case tsv::TypeKind::smallint:
  case tsv::TypeKind::integer:
  case tsv::TypeKind::bigint:
  case tsv::TypeKind::boolean:
    insert.bind(index, field.integer);
    return;
  case tsv::TypeKind::double_precision:
  case tsv::TypeKind::real: {
    std::array<char, tsv::k_converted_text_bytes> number{};
    const std::string_view text = tsv::field_text(field, type, number);
    if (std::isnan(field.real)) {
      insert.bind(index, text); // SQLite would store a NaN double as NULL.
      return;
    }
    // A real's shortest text read as a double is what SQLite would make of the text; a double
    // precision value is exact as is.
    double value = field.real;
    if (type.kind == tsv::TypeKind::real && !std::isinf(value)) {
      std::from_chars(text.data(), text.data() + text.size(), value);
    }
    insert.bind(index, value);
    return;
  }
  case tsv::TypeKind::decimal: {
    // As text with the column's scale, which SQLite's NUMERIC affinity stores as a number.
    std::array<char, tsv::k_converted_text_bytes> number{};
    insert.bind(index, tsv::field_text(field, type, number));
    return;
  }
  case tsv::TypeKind::character:
    // CHAR(n) keeps trailing blanks up to its width, as Redshift and PostgreSQL store it.
    scratch.assign(field.text);
    if (scratch.size() < type.width) {
      scratch.append(type.width - scratch.size(), ' ');
    }
    insert.bind(index, scratch);
    return;
  default:
    insert.bind_unowned(index, field.text); // The row's text stays put until its step.
    return;
  }
}

class SqliteWarehouse final : public Warehouse {
public:
  SqliteWarehouse(sqlite::Database db, const SqliteConfig& config)
      : m_db(std::move(db)), m_names(Dialect::sqlite, &quote, config.layout), m_files(config.files),
        m_read(config.read) {}

  // Warehouse
  Result<TableVersions> table_versions() override {
    RSI_TRY_ASSIGN(
        auto* select,
        m_db.cached(R"(SELECT name, MAX(version) FROM "infra.table_version" GROUP BY name)"));
    TableVersions versions;
    while (true) {
      RSI_TRY_ASSIGN(const bool row, select->step());
      if (!row) {
        break;
      }
      versions[std::string(select->text(0))] = static_cast<int>(select->integer(1));
    }
    return versions;
  }

  Result<bool> table_exists(std::string_view table) override {
    RSI_TRY(check_table_name(table, Dialect::sqlite));
    return exists(table);
  }

  Result<bool> table_locked(std::string_view table) override {
    RSI_TRY(check_table_name(table, Dialect::sqlite));
    return false; // One writer at a time: an ALTER never waits behind a reader's lock.
  }

  Result<void> apply_migration(std::string_view table, int target_version,
                               std::span<const core::Operation> operations,
                               std::chrono::milliseconds statement_timeout) override {
    return detail::run_migration(m_names, table, target_version, operations, statement_timeout,
                                 begin_schema());
  }

  Result<std::vector<std::string>>
  migration_statements(std::string_view table, int target_version,
                       std::span<const core::Operation> operations) override {
    return detail::migration_statements(m_names, table, target_version, operations, begin_schema());
  }

  Result<std::vector<std::string>> repair_views() override {
    RSI_TRY_ASSIGN(const TableVersions versions, table_versions());
    return detail::repair_views(m_names, versions, begin_schema());
  }

  Result<int> increment_version(std::string_view table) override {
    return detail::increment_version(m_names, table, begin_schema());
  }

  LoadOutcome<LoadResult> load_batch(const LoadRequest& request) override {
    return detail::run_load(request, Dialect::sqlite,
                            [&]() -> Result<std::unique_ptr<detail::LoadTransaction>> {
                              RSI_TRY_ASSIGN(auto tx, sqlite::Transaction::begin(m_db));
                              return std::make_unique<Load>(*this, std::move(tx));
                            });
  }

  Result<core::LoadStatus> check_load(std::string_view uuid) override {
    if (!is_uuid(uuid)) {
      return fail(ErrorKind::permanent, fmt::format("check load {}: not a uuid", uuid));
    }
    // A load in progress in another process is invisible here (its transaction has not
    // committed): not_found is still safe, since retrying it fails on the ledger's key.
    RSI_TRY_ASSIGN(auto* select,
                   m_db.cached(R"(SELECT count(*) FROM "infra.load_manifest" WHERE uuid = ?)"));
    select->bind(1, uuid);
    RSI_TRY(select->step());
    const bool found = select->integer(0) > 0;
    select->reset(); // A statement left on a row would keep its read snapshot open.
    return found ? core::LoadStatus::complete : core::LoadStatus::not_found;
  }

  Result<void> ping() override {
    RSI_TRY_ASSIGN(auto* select, m_db.cached("SELECT 1"));
    RSI_TRY(select->step());
    select->reset();
    return {};
  }

private:
  // Schema changes in one transaction (one writer at a time: no lock, no statement timeout).
  class SchemaTx final : public detail::SchemaTransaction {
  public:
    SchemaTx(SqliteWarehouse& warehouse, sqlite::Transaction tx)
        : m_warehouse(warehouse), m_tx(std::move(tx)) {}

    Result<std::optional<int>> table_version(std::string_view table) override {
      return m_warehouse.read_version(table);
    }
    Result<std::optional<std::vector<std::string>>> table_columns(std::string_view table) override {
      RSI_TRY_ASSIGN(const bool table_there, m_warehouse.exists(table));
      if (!table_there) {
        return std::optional<std::vector<std::string>>();
      }
      RSI_TRY_ASSIGN(const auto typed, m_warehouse.typed_columns(table, false));
      std::vector<std::string> columns;
      for (const auto& column : typed) {
        columns.push_back(column.name);
      }
      return std::optional<std::vector<std::string>>(std::move(columns));
    }
    Result<bool> view_exists(std::string_view table) override {
      // pragma_table_list walks the schema in memory, where a query of sqlite_master reads
      // every table, view and index from the file.
      RSI_TRY_ASSIGN(auto* select, m_warehouse.m_db.cached(
                                       "SELECT 1 FROM pragma_table_list(?) WHERE type = 'view'"));
      select->bind(1, fmt::format("{}.{}", m_warehouse.m_names.layout().view_schema, table));
      RSI_TRY_ASSIGN(const bool found, select->step());
      select->reset();
      return found;
    }
    Result<void> exec(const std::string& statement) override {
      return m_warehouse.m_db.exec_script(statement);
    }
    Result<void> record_version(std::string_view table, int version) override {
      return m_warehouse.insert_version(table, version);
    }
    Result<void> commit() override { return m_tx.commit(); }

  private:
    SqliteWarehouse& m_warehouse;
    sqlite::Transaction m_tx;
  };

  detail::BeginSchemaTransaction begin_schema() {
    return [this](const detail::SchemaTransactionOptions&)
               -> Result<std::unique_ptr<detail::SchemaTransaction>> {
      RSI_TRY_ASSIGN(auto tx, sqlite::Transaction::begin(m_db));
      return std::make_unique<SchemaTx>(*this, std::move(tx));
    };
  }

  Result<bool> exists(std::string_view table) {
    // A lookup of the name in the schema's hash (case-insensitive, as SQLite names are), not a
    // read of all of sqlite_master: a migration step stays O(1) with ten thousand tables. Views
    // are named "<view schema>.<table>", never a table's name.
    RSI_TRY_ASSIGN(auto* select, m_db.cached("SELECT 1 FROM pragma_table_info(?) LIMIT 1"));
    select->bind(1, table);
    RSI_TRY_ASSIGN(const bool found, select->step());
    select->reset();
    return found;
  }

  Result<std::optional<int>> read_version(std::string_view table) {
    RSI_TRY_ASSIGN(auto* select,
                   m_db.cached(R"(SELECT MAX(version) FROM "infra.table_version" WHERE name = ?)"));
    select->bind(1, table);
    RSI_TRY(select->step());
    std::optional<int> version;
    if (!select->is_null(0)) {
      version = static_cast<int>(select->integer(0));
    }
    select->reset();
    return version;
  }

  Result<void> insert_version(std::string_view table, int version) {
    RSI_TRY_ASSIGN(
        auto* insert,
        m_db.cached(fmt::format(
            R"(INSERT INTO "infra.table_version" (name, version, ts) VALUES (?, ?, {}))", k_now)));
    insert->bind(1, table).bind(2, version);
    RSI_TRY(insert->run());
    return {};
  }

  // The table's columns with the types they were declared with; `typed` parses the types.
  Result<std::vector<tsv::Column>> typed_columns(std::string_view table, bool typed) {
    RSI_TRY_ASSIGN(auto* select, m_db.cached("SELECT name, type FROM pragma_table_info(?)"));
    select->bind(1, table);
    std::vector<tsv::Column> columns;
    while (true) {
      RSI_TRY_ASSIGN(const bool row, select->step());
      if (!row) {
        break;
      }
      tsv::Column column{std::string(select->text(0)), {}};
      if (typed) {
        auto type = tsv::parse_column_type(select->text(1));
        if (!type) {
          return fail(type.error().wrap(fmt::format("column {}", column.name)));
        }
        column.type = *type;
      }
      columns.push_back(std::move(column));
    }
    return columns;
  }

  // One load under BEGIN IMMEDIATE (the write lock up front, so the version cannot change under
  // it): the ledger row first (a second load of the uuid fails on its primary key), then one
  // INSERT per row.
  class Load final : public detail::LoadTransaction {
  public:
    Load(SqliteWarehouse& warehouse, sqlite::Transaction tx)
        : m_warehouse(warehouse), m_tx(std::move(tx)) {}

    Result<bool> enter_ledger(const LoadRequest& request) override {
      RSI_TRY_ASSIGN(auto* ledger,
                     m_warehouse.m_db.cached(fmt::format(
                         R"(INSERT INTO "infra.load_manifest" (uuid, table_name, table_version, )"
                         R"(file_count, row_count, loaded_at) VALUES (?, ?, ?, ?, 0, {}))",
                         k_now)));
      ledger->bind(1, request.manifest).bind(2, request.table).bind(3, request.version);
      ledger->bind(4, static_cast<std::int64_t>(request.files.size()));
      auto inserted = ledger->run();
      if (!inserted && inserted.error().kind == ErrorKind::conflict) {
        return false;
      }
      RSI_TRY(inserted);
      return true;
    }

    Result<std::optional<int>> table_version(std::string_view table) override {
      return m_warehouse.read_version(table);
    }

    LoadOutcome<LoadResult> load_rows(const LoadRequest& request) override {
      return m_warehouse.insert_rows(request);
    }

    Result<void> complete_ledger(const LoadRequest& request, const LoadResult& loaded) override {
      RSI_TRY_ASSIGN(auto* set_rows,
                     m_warehouse.m_db.cached(
                         R"(UPDATE "infra.load_manifest" SET row_count = ? WHERE uuid = ?)"));
      set_rows->bind(1, static_cast<std::int64_t>(loaded.rows)).bind(2, request.manifest);
      RSI_TRY(set_rows->run());
      return {};
    }

    Result<void> commit() override { return m_tx.commit(); }

  private:
    SqliteWarehouse& m_warehouse;
    sqlite::Transaction m_tx;
  };

  LoadOutcome<LoadResult> insert_rows(const LoadRequest& request) {
    RSI_TRY_ASSIGN(const std::string table, m_names.table(request.table));
    RSI_TRY_ASSIGN(const bool table_there, exists(request.table));
    if (!table_there) {
      return fail(ErrorKind::permanent, "the table does not exist");
    }
    RSI_TRY_ASSIGN(const auto columns, typed_columns(request.table, true));

    std::vector<std::string> quoted;
    std::vector<std::string> placeholders;
    for (const auto& column : columns) {
      quoted.push_back(sqlite::Database::quote_identifier(column.name));
      placeholders.emplace_back("?");
    }
    RSI_TRY_ASSIGN(auto insert, m_db.prepare(fmt::format("INSERT INTO {} ({}) VALUES ({})", table,
                                                         fmt::join(quoted, ", "),
                                                         fmt::join(placeholders, ", "))));
    std::uint64_t rows = 0;
    std::uint64_t rejected = 0;
    std::string scratch;
    auto counts = read_batch(request.files, m_files, columns,
                             [&](std::span<const tsv::Field> row) -> Result<void> {
                               for (std::size_t index = 0; index < row.size(); ++index) {
                                 bind_field(insert, static_cast<int>(index + 1), row[index],
                                            columns[index].type, scratch);
                               }
                               RSI_TRY(insert.run());
                               insert.reset();
                               ++rows;
                               return {};
                             },
                             m_read,
                             {.max_bad_rows = request.max_bad_rows,
                              .on_rejected = [&](const RejectedRow& row) -> Result<void> {
                                ++rejected;
                                return insert_rejected(request, row);
                              }});
    if (!counts) {
      return std::unexpected(std::move(counts.error()));
    }
    return LoadResult{.rows = rows,
                      .files = request.files.size(),
                      .bytes = counts->bytes,
                      .truncated_values = counts->truncated_values,
                      .replaced_characters = counts->replaced_characters,
                      .rejected_rows = rejected};
  }

  // One row a load skipped, in the load's transaction.
  Result<void> insert_rejected(const LoadRequest& request, const RejectedRow& row) {
    RSI_TRY_ASSIGN(auto* insert,
                   m_db.cached(fmt::format(
                       R"(INSERT INTO "infra.rejected_row" (manifest_uuid, table_name, file_url, )"
                       R"(line_number, column_name, raw_line, reason, rejected_at) )"
                       R"(VALUES (?, ?, ?, ?, ?, ?, ?, {}))",
                       k_now)));
    insert->bind(1, request.manifest).bind(2, request.table).bind(3, row.file_url);
    insert->bind(4, static_cast<std::int64_t>(row.line));
    if (row.column.empty()) {
      insert->bind_null(5);
    } else {
      insert->bind(5, row.column);
    }
    insert->bind(6, row.raw_text).bind(7, row.reason);
    RSI_TRY(insert->run());
    return {};
  }

  sqlite::Database m_db;
  SqlNames m_names;
  FileLocator m_files;
  BatchReadOptions m_read;
};

} // namespace

Result<std::unique_ptr<Warehouse>> make_sqlite_warehouse(const SqliteConfig& config) {
  if (!config.files) {
    return fail(ErrorKind::permanent, "sqlite warehouse: no object store to read batch files from");
  }
  SqlNames names(Dialect::sqlite, &quote, config.layout);
  RSI_TRY(names.check_layout());
  RSI_TRY_ASSIGN(auto db, sqlite::Database::open(config.path));
  RSI_TRY(db.exec_script(k_schema));
  return std::unique_ptr<Warehouse>(std::make_unique<SqliteWarehouse>(std::move(db), config));
}

} // namespace rsi::warehouse
