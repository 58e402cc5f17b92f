// SQLite ingester database for the embedded default: one process, two connections. Every write
// goes through the writer connection, guarded by a mutex (SQLite serialises writers anyway);
// claims run in one BEGIN IMMEDIATE transaction, so no other writer can interleave. Reads that
// change nothing (status, reporter, migrator, control API) go through a reader connection of
// their own, each in one read transaction: in WAL mode they see the last commit and neither wait
// for the writer nor hold it up. The tables mirror PostgreSQL's (sql/sqlite/*.sql) with times as
// microseconds since the epoch; pending_group summarises the unclaimed files per (table,
// version), kept by triggers (007_pending_summary.sql), so that a claim reads the groups in
// claim order through an index and stops at the first it can load, never grouping every
// waiting file. The quarantine's statements are in sqlite_quarantine.cpp, the rejected
// messages' in sqlite_rejected.cpp.
#include "ingestdb/sqlite_ingest_db.hpp"

#include <algorithm>
#include <mutex>
#include <optional>
#include <span>
#include <type_traits>

#include <fmt/format.h>

#include "common/log.hpp"
#include "common/utf8.hpp"
#include "common/uuid.hpp"
#include "ingestdb/claim_selection.hpp"
#include "ingestdb/migrations.hpp"
#include "ingestdb/sqlite_quarantine.hpp"
#include "ingestdb/sqlite_rejected.hpp"
#include "sqlite/database.hpp"

namespace rsi::ingestdb {
namespace {

std::int64_t us(TimePoint time) { return to_epoch_micros(time); }

constexpr auto k_sqlite_manifest_columns =
    "uuid, tablename, tableversion, retry_count, last_error, retry_ts, created_ts";

constexpr std::int64_t k_minute_us = 60'000'000;

Batch batch_from_row(const sqlite::Statement& stmt) {
  Batch batch;
  batch.manifest = std::string(stmt.text(0));
  batch.table = std::string(stmt.text(1));
  batch.version = static_cast<int>(stmt.integer(2));
  batch.retry_count = static_cast<int>(stmt.integer(3));
  if (!stmt.is_null(4)) {
    batch.last_error = std::string(stmt.text(4));
  }
  if (!stmt.is_null(5)) {
    batch.retry_at = from_epoch_micros(stmt.integer(5));
  }
  batch.created_at = from_epoch_micros(stmt.integer(6));
  return batch;
}

class SqliteIngestDb final : public IngestDb {
public:
  SqliteIngestDb(sqlite::Database db, StoreOptions options)
      : m_db(std::move(db)), m_options(options) {}

  // After migrate(): the reader connection, which never writes.
  Result<void> open_reader(const std::filesystem::path& path) {
    RSI_TRY_ASSIGN(auto reader, sqlite::Database::open(path));
    RSI_TRY(reader.exec_script("PRAGMA query_only = 1"));
    m_reader.emplace(std::move(reader));
    return {};
  }

  Result<void> migrate() {
    const std::lock_guard lock(m_mutex);
    RSI_TRY(m_db.exec_script(
        "CREATE TABLE IF NOT EXISTS rsi_schema_migrations (version INTEGER PRIMARY KEY, "
        "name TEXT NOT NULL, applied_at INTEGER NOT NULL)"));
    RSI_TRY_ASSIGN(auto* current,
                   m_db.cached("SELECT COALESCE(MAX(version), 0) FROM rsi_schema_migrations"));
    RSI_TRY(current->step());
    const std::int64_t applied_version = current->integer(0);
    current->reset();
    for (const auto& migration : k_sqlite_migrations) {
      if (migration.version <= applied_version) {
        continue;
      }
      RSI_TRY_ASSIGN(auto tx, sqlite::Transaction::begin(m_db));
      if (auto applied = m_db.exec_script(migration.sql); !applied) {
        return fail(applied.error().wrap(
            fmt::format("schema migration {} ({})", migration.version, migration.name)));
      }
      RSI_TRY_ASSIGN(auto* insert,
                     m_db.cached("INSERT INTO rsi_schema_migrations (version, name, applied_at) "
                                 "VALUES (?, ?, strftime('%s','now') * 1000000)"));
      RSI_TRY(insert->bind(1, migration.version).bind(2, migration.name).run());
      RSI_TRY(tx.commit());
      log::info("applied ingester database migration",
                {{"version", migration.version}, {"name", std::string(migration.name)}});
    }
    return {};
  }

  // IngestDb
  Result<std::vector<RecordOutcome>> record_files(std::span<const core::FilePointer> files,
                                                  TimePoint received_at) override {
    const std::lock_guard lock(m_mutex);
    RSI_TRY_ASSIGN(auto tx, sqlite::Transaction::begin(m_db));
    std::vector<RecordOutcome> outcomes;
    outcomes.reserve(files.size());
    for (const auto& file : files) {
      RSI_TRY_ASSIGN(const RecordOutcome outcome, record_one(file, received_at));
      outcomes.push_back(outcome);
    }
    RSI_TRY(tx.commit());
    return outcomes;
  }

  Result<ClaimResult> claim_batch(const VersionMap& versions, const ClaimPolicy& policy,
                                  TimePoint now) override {
    const std::lock_guard lock(m_mutex);
    RSI_TRY_ASSIGN(auto tx, sqlite::Transaction::begin(m_db));
    ClaimResult result;
    RSI_TRY_ASSIGN(const auto found, find_group(versions, policy, now, result.outdated));
    if (!found) {
      return result;
    }
    const GroupCandidate& group = *found;
    Batch batch{.manifest = new_uuid(),
                .table = group.table,
                .version = group.version,
                .oldest_file = group.oldest,
                .forced = group.forced};
    RSI_TRY_ASSIGN(auto* insert,
                   m_db.cached("INSERT INTO manifest (uuid, tablename, tableversion, created_ts, "
                               "lease_until, retry_count) VALUES (?, ?, ?, ?, ?, 0)"));
    RSI_TRY(insert->bind(1, batch.manifest)
                .bind(2, batch.table)
                .bind(3, batch.version)
                .bind(4, us(now))
                .bind(5, us(now + policy.lease))
                .run());
    const std::string limit =
        policy.max_files > 0 ? fmt::format(" LIMIT {}", policy.max_files) : "";
    RSI_TRY_ASSIGN(auto* attach,
                   m_db.cached("UPDATE tsv SET manifest_uuid = ? WHERE id IN (SELECT id FROM tsv "
                               "WHERE tablename = ? AND tableversion = ? AND manifest_uuid IS NULL "
                               "ORDER BY ts, id" +
                               limit + ")"));
    RSI_TRY(attach->bind(1, batch.manifest).bind(2, batch.table).bind(3, batch.version).run());
    if (batch.forced) {
      RSI_TRY_ASSIGN(
          auto* start,
          m_db.cached("UPDATE force_load SET started = ? WHERE tablename = ? AND started IS NULL"));
      RSI_TRY(start->bind(1, us(now)).bind(2, batch.table).run());
    }
    RSI_TRY_ASSIGN(batch.keys, batch_keys(m_db, batch.manifest));
    RSI_TRY(tx.commit());
    result.batch = std::move(batch);
    return result;
  }

  Result<bool> renew_lease(const std::string& manifest, TimePoint until) override {
    const std::lock_guard lock(m_mutex);
    RSI_TRY_ASSIGN(
        auto* update,
        m_db.cached("UPDATE manifest SET lease_until = ? WHERE uuid = ? AND retry_ts IS NULL"));
    RSI_TRY_ASSIGN(const auto changed, update->bind(1, us(until)).bind(2, manifest).run());
    return changed == 1;
  }

  Result<bool> complete_batch(const std::string& manifest, TimePoint now,
                              std::int64_t rows) override {
    const std::lock_guard lock(m_mutex);
    RSI_TRY_ASSIGN(auto tx, sqlite::Transaction::begin(m_db));
    RSI_TRY_ASSIGN(auto* find, m_db.cached("SELECT tablename FROM manifest WHERE uuid = ?"));
    RSI_TRY_ASSIGN(const bool found, find->bind(1, manifest).step());
    const std::string table = found ? std::string(find->text(0)) : std::string();
    find->reset();
    if (!found) {
      return false;
    }
    RSI_TRY_ASSIGN(auto* remember, m_db.cached(R"sql(
      INSERT INTO loaded_key (keyname, tablename, manifest_uuid, loaded_at)
      SELECT keyname, tablename, manifest_uuid, ? FROM tsv WHERE manifest_uuid = ?
      ON CONFLICT (keyname) DO UPDATE SET tablename = excluded.tablename,
        manifest_uuid = excluded.manifest_uuid, loaded_at = excluded.loaded_at)sql"));
    RSI_TRY(remember->bind(1, us(now)).bind(2, manifest).run());
    RSI_TRY_ASSIGN(auto* drop_files, m_db.cached("DELETE FROM tsv WHERE manifest_uuid = ?"));
    RSI_TRY_ASSIGN(const auto deleted, drop_files->bind(1, manifest).run());
    RSI_TRY_ASSIGN(auto* drop_manifest, m_db.cached("DELETE FROM manifest WHERE uuid = ?"));
    RSI_TRY(drop_manifest->bind(1, manifest).run());
    if (deleted > 0) {
      RSI_TRY_ASSIGN(auto* last,
                     m_db.cached("INSERT INTO last_load (tablename, last_loaded) VALUES (?, ?) "
                                 "ON CONFLICT (tablename) DO UPDATE SET "
                                 "last_loaded = max(last_loaded, excluded.last_loaded)"));
      RSI_TRY(last->bind(1, table).bind(2, us(now)).run());
      RSI_TRY_ASSIGN(auto* history, m_db.cached(R"sql(
        INSERT INTO load_minute (tablename, minute, batches, files_loaded, rows_loaded)
        VALUES (?, ?, 1, ?, ?)
        ON CONFLICT (tablename, minute) DO UPDATE SET batches = batches + 1,
          files_loaded = files_loaded + excluded.files_loaded,
          rows_loaded = rows_loaded + excluded.rows_loaded)sql"));
      history->bind(1, table).bind(2, us(now) / k_minute_us * k_minute_us).bind(3, deleted);
      RSI_TRY(history->bind(4, rows).run());
    }
    RSI_TRY(tx.commit());
    return true;
  }

  Result<std::vector<LoadMinute>> load_history(TimePoint since) override {
    const std::lock_guard lock(m_mutex);
    RSI_TRY_ASSIGN(auto* query,
                   m_db.cached("SELECT tablename, minute, batches, files_loaded, rows_loaded "
                               "FROM load_minute WHERE minute >= ? ORDER BY tablename, minute"));
    query->bind(1, us(since) / k_minute_us * k_minute_us);
    std::vector<LoadMinute> minutes;
    while (true) {
      RSI_TRY_ASSIGN(const bool row, query->step());
      if (!row) {
        break;
      }
      minutes.push_back({.table = std::string(query->text(0)),
                         .minute = from_epoch_micros(query->integer(1)),
                         .batches = query->integer(2),
                         .files = query->integer(3),
                         .rows = query->integer(4)});
    }
    query->reset();
    return minutes;
  }

  Result<bool> fail_batch(const std::string& manifest, const std::string& error,
                          TimePoint retry_at) override {
    const std::lock_guard lock(m_mutex);
    RSI_TRY_ASSIGN(
        auto* update,
        m_db.cached("UPDATE manifest SET retry_ts = ?, last_error = ?, lease_until = NULL "
                    "WHERE uuid = ?"));
    RSI_TRY_ASSIGN(
        const auto changed,
        update->bind(1, us(retry_at)).bind(2, replace_invalid_utf8(error)).bind(3, manifest).run());
    return changed == 1;
  }

  Result<bool> release_batch(const std::string& manifest, TimePoint retry_at) override {
    const std::lock_guard lock(m_mutex);
    RSI_TRY_ASSIGN(auto* update,
                   m_db.cached("UPDATE manifest SET retry_ts = ?, lease_until = NULL, released = 1 "
                               "WHERE uuid = ? AND retry_ts IS NULL"));
    RSI_TRY_ASSIGN(const auto changed, update->bind(1, us(retry_at)).bind(2, manifest).run());
    return changed == 1;
  }

  Result<std::vector<Batch>> in_flight_batches(TimePoint now) override {
    return reading([&](sqlite::Database& db) {
      return select_batches(
          db,
          fmt::format("SELECT {} FROM manifest WHERE retry_ts IS NULL AND lease_until >= ?1 "
                      "ORDER BY created_ts",
                      k_sqlite_manifest_columns),
          us(now));
    });
  }

  Result<std::optional<Batch>> find_batch(const std::string& manifest) override {
    RSI_TRY_ASSIGN(auto found, reading([&](sqlite::Database& db) {
                     return select_batches(db,
                                           fmt::format("SELECT {} FROM manifest WHERE uuid = ?1",
                                                       k_sqlite_manifest_columns),
                                           manifest);
                   }));
    return found.empty() ? std::optional<Batch>() : std::optional<Batch>(std::move(found.front()));
  }

  Result<bool> retry_batch(const std::string& manifest, TimePoint now) override {
    const std::lock_guard lock(m_mutex);
    RSI_TRY_ASSIGN(auto* update,
                   m_db.cached("UPDATE manifest SET retry_count = 0, released = 1, retry_ts = ? "
                               "WHERE uuid = ? AND retry_ts IS NOT NULL"));
    RSI_TRY_ASSIGN(const auto changed, update->bind(1, us(now)).bind(2, manifest).run());
    return changed == 1;
  }

  Result<std::optional<Batch>> skip_batch(const std::string& manifest,
                                          const std::string& skipped_by, TimePoint now) override {
    const std::lock_guard lock(m_mutex);
    RSI_TRY_ASSIGN(auto tx, sqlite::Transaction::begin(m_db));
    RSI_TRY_ASSIGN(auto found,
                   select_batches(m_db,
                                  fmt::format("SELECT {} FROM manifest WHERE uuid = ?1 AND "
                                              "retry_ts IS NOT NULL",
                                              k_sqlite_manifest_columns),
                                  manifest));
    if (found.empty()) {
      return std::optional<Batch>();
    }
    RSI_TRY_ASSIGN(auto* audit, m_db.cached(R"sql(
      INSERT INTO skipped_batch (manifest_uuid, tablename, tableversion, keynames, retry_count, last_error,
                                 skipped_by, skipped_at)
      SELECT uuid, tablename, tableversion,
             (SELECT json_group_array(keyname) FROM (SELECT keyname FROM tsv WHERE manifest_uuid = ?1 ORDER BY id)),
             retry_count, last_error, ?2, ?3
        FROM manifest WHERE uuid = ?1)sql"));
    RSI_TRY(audit->bind(1, manifest).bind(2, skipped_by).bind(3, us(now)).run());
    RSI_TRY_ASSIGN(auto* drop_files, m_db.cached("DELETE FROM tsv WHERE manifest_uuid = ?"));
    RSI_TRY(drop_files->bind(1, manifest).run());
    RSI_TRY_ASSIGN(auto* drop_manifest, m_db.cached("DELETE FROM manifest WHERE uuid = ?"));
    RSI_TRY(drop_manifest->bind(1, manifest).run());
    RSI_TRY(tx.commit());
    return std::optional<Batch>(std::move(found.front()));
  }

  Result<std::optional<Batch>> split_batch(const std::string& manifest, const BatchSplit& split,
                                           TimePoint now, TimePoint lease_until) override {
    const std::lock_guard lock(m_mutex);
    RSI_TRY_ASSIGN(auto tx, sqlite::Transaction::begin(m_db));
    RSI_TRY_ASSIGN(auto found,
                   select_batches(m_db,
                                  fmt::format("SELECT {} FROM manifest WHERE uuid = ?1 AND "
                                              "retry_ts IS NULL",
                                              k_sqlite_manifest_columns),
                                  manifest));
    if (found.empty()) {
      return fail(ErrorKind::conflict,
                  fmt::format("split batch {}: no longer in flight", manifest));
    }
    const Batch& old = found.front();
    for (const auto& file : split.quarantine) {
      RSI_TRY(sqlite_quarantine::set_aside(m_db, manifest, file, now));
    }
    std::optional<Batch> next;
    if (!split.load_now.empty()) {
      Batch batch{.manifest = new_uuid(), .table = old.table, .version = old.version};
      RSI_TRY_ASSIGN(auto* insert,
                     m_db.cached("INSERT INTO manifest (uuid, tablename, tableversion, created_ts, "
                                 "lease_until, retry_count) VALUES (?, ?, ?, ?, ?, 0)"));
      RSI_TRY(insert->bind(1, batch.manifest)
                  .bind(2, batch.table)
                  .bind(3, batch.version)
                  .bind(4, us(now))
                  .bind(5, us(lease_until))
                  .run());
      RSI_TRY_ASSIGN(auto* move, m_db.cached("UPDATE tsv SET manifest_uuid = ?2 WHERE "
                                             "manifest_uuid = ?1 AND keyname = ?3"));
      for (const auto& key : split.load_now) {
        RSI_TRY(move->bind(1, manifest).bind(2, batch.manifest).bind(3, key).run());
        move->reset();
      }
      RSI_TRY_ASSIGN(batch.keys, batch_keys(m_db, batch.manifest));
      RSI_TRY_ASSIGN(auto* oldest, m_db.cached("SELECT min(ts) FROM tsv WHERE manifest_uuid = ?"));
      RSI_TRY_ASSIGN(const bool row, oldest->bind(1, batch.manifest).step());
      if (row && !oldest->is_null(0)) {
        batch.oldest_file = from_epoch_micros(oldest->integer(0));
      }
      oldest->reset();
      next = std::move(batch);
    }
    RSI_TRY_ASSIGN(auto* rest, m_db.cached("SELECT 1 FROM tsv WHERE manifest_uuid = ? LIMIT 1"));
    RSI_TRY_ASSIGN(const bool any_rest, rest->bind(1, manifest).step());
    rest->reset();
    if (any_rest) {
      const std::string put_back = new_uuid();
      RSI_TRY_ASSIGN(
          auto* insert,
          m_db.cached("INSERT INTO manifest (uuid, tablename, tableversion, created_ts, "
                      "retry_ts, retry_count, released) VALUES (?1, ?2, ?3, ?4, ?4, 0, 1)"));
      RSI_TRY(
          insert->bind(1, put_back).bind(2, old.table).bind(3, old.version).bind(4, us(now)).run());
      RSI_TRY_ASSIGN(auto* move_rest,
                     m_db.cached("UPDATE tsv SET manifest_uuid = ?2 WHERE manifest_uuid = ?1"));
      RSI_TRY(move_rest->bind(1, manifest).bind(2, put_back).run());
    }
    RSI_TRY_ASSIGN(auto* drop_manifest, m_db.cached("DELETE FROM manifest WHERE uuid = ?"));
    RSI_TRY(drop_manifest->bind(1, manifest).run());
    RSI_TRY(tx.commit());
    return next;
  }

  Result<std::vector<QuarantinedFile>> quarantined_files(std::size_t limit) override {
    return reading([&](sqlite::Database& db) { return sqlite_quarantine::list(db, limit); });
  }

  Result<std::vector<QuarantineOutcome>> retry_quarantined(const QuarantineSelection& selection,
                                                           const std::string& by,
                                                           TimePoint now) override {
    return change_quarantined(selection, by, now, true);
  }

  Result<std::vector<QuarantineOutcome>> drop_quarantined(const QuarantineSelection& selection,
                                                          const std::string& by,
                                                          TimePoint now) override {
    return change_quarantined(selection, by, now, false);
  }

  Result<std::optional<Batch>> claim_retryable_batch(int max_retries, std::chrono::seconds lease,
                                                     TimePoint now) override {
    const std::lock_guard lock(m_mutex);
    RSI_TRY_ASSIGN(auto tx, sqlite::Transaction::begin(m_db));
    RSI_TRY_ASSIGN(auto* due, m_db.cached(fmt::format(R"sql(
      SELECT {} FROM manifest m
       WHERE retry_ts IS NOT NULL AND retry_ts <= ? AND (retry_count < ? OR released)
         AND NOT EXISTS (SELECT 1 FROM manifest o WHERE o.tablename = m.tablename AND o.retry_ts IS NULL)
       ORDER BY retry_ts LIMIT 1)sql",
                                                      k_sqlite_manifest_columns)));
    RSI_TRY_ASSIGN(const bool found, due->bind(1, us(now)).bind(2, max_retries).step());
    if (!found) {
      due->reset();
      return std::optional<Batch>();
    }
    Batch batch = batch_from_row(*due);
    due->reset();
    RSI_TRY_ASSIGN(
        auto* update,
        m_db.cached("UPDATE manifest SET retry_ts = NULL, lease_until = ?, released = 0, "
                    "retry_count = retry_count + CASE WHEN released THEN 0 ELSE 1 END "
                    "WHERE uuid = ? RETURNING retry_count"));
    RSI_TRY(update->bind(1, us(now + lease)).bind(2, batch.manifest).step());
    batch.retry_count = static_cast<int>(update->integer(0));
    update->reset();
    RSI_TRY_ASSIGN(batch.keys, batch_keys(m_db, batch.manifest));
    RSI_TRY(tx.commit());
    batch.retry_at.reset();
    return std::optional<Batch>(std::move(batch));
  }

  Result<std::vector<Batch>> orphaned_batches(TimePoint now) override {
    return reading([&](sqlite::Database& db) {
      return select_batches(
          db,
          fmt::format("SELECT {} FROM manifest WHERE retry_ts IS NULL AND "
                      "(lease_until IS NULL OR lease_until < ?1) ORDER BY created_ts",
                      k_sqlite_manifest_columns),
          us(now));
    });
  }

  Result<std::vector<Batch>> stale_batches(int max_retries) override {
    return reading([&](sqlite::Database& db) {
      return select_batches(db,
                            fmt::format("SELECT {} FROM manifest WHERE retry_ts IS NOT NULL AND "
                                        "retry_count >= ?1 AND NOT released "
                                        "ORDER BY retry_ts",
                                        k_sqlite_manifest_columns),
                            max_retries);
    });
  }

  Result<VersionMap> pending_versions() override {
    // Unclaimed files from the summary; claimed ones through their batches (as many as the
    // batches in flight or failed, whatever the backlog).
    return reading([&](sqlite::Database& db) -> Result<VersionMap> {
      RSI_TRY_ASSIGN(auto* query, db.cached(R"sql(
        SELECT tablename, MAX(tableversion)
          FROM (SELECT tablename, tableversion FROM pending_group
                UNION ALL
                SELECT t.tablename, t.tableversion
                  FROM manifest m JOIN tsv t ON t.manifest_uuid = m.uuid)
         GROUP BY tablename)sql"));
      VersionMap versions;
      while (true) {
        RSI_TRY_ASSIGN(const bool row, query->step());
        if (!row) {
          break;
        }
        versions[std::string(query->text(0))] = static_cast<int>(query->integer(1));
      }
      query->reset();
      return versions;
    });
  }

  Result<bool> has_files(const std::string& table, int version) override {
    return reading([&](sqlite::Database& db) -> Result<bool> {
      RSI_TRY_ASSIGN(auto* query, db.cached(R"sql(
        SELECT EXISTS (SELECT 1 FROM pending_group WHERE tablename = ?1 AND tableversion = ?2)
            OR EXISTS (SELECT 1 FROM manifest m JOIN tsv t ON t.manifest_uuid = m.uuid
                        WHERE t.tablename = ?1 AND t.tableversion = ?2))sql"));
      RSI_TRY_ASSIGN(const bool row, query->bind(1, table).bind(2, version).step());
      const bool found = row && query->integer(0) != 0;
      query->reset();
      return found;
    });
  }

  Result<bool> request_force_load(const std::string& table, const std::string& requester,
                                  TimePoint now) override {
    const std::lock_guard lock(m_mutex);
    RSI_TRY_ASSIGN(auto* insert,
                   m_db.cached("INSERT INTO force_load (tablename, requester, ts) VALUES (?, ?, ?) "
                               "ON CONFLICT (tablename) WHERE started IS NULL DO NOTHING"));
    RSI_TRY_ASSIGN(const auto changed,
                   insert->bind(1, table).bind(2, requester).bind(3, us(now)).run());
    return changed == 1;
  }

  Result<bool> force_load_requested(const std::string& table) override {
    return reading([&](sqlite::Database& db) -> Result<bool> {
      RSI_TRY_ASSIGN(auto* query,
                     db.cached("SELECT 1 FROM force_load WHERE tablename = ? AND started IS NULL"));
      RSI_TRY_ASSIGN(const bool found, query->bind(1, table).step());
      query->reset();
      return found;
    });
  }

  Result<std::vector<PendingStat>> pending_stats(const VersionMap& versions,
                                                 int max_retries) override {
    // Unclaimed files from the summary; claimed ones through their batches.
    return reading([&](sqlite::Database& db) -> Result<std::vector<PendingStat>> {
      RSI_TRY_ASSIGN(auto* query, db.cached(R"sql(
        SELECT tablename, tableversion, 0, files, oldest FROM pending_group
        UNION ALL
        SELECT t.tablename, t.tableversion,
               COALESCE(m.retry_ts IS NOT NULL AND m.retry_count >= ?1 AND NOT m.released, 0),
               count(*), min(t.ts)
          FROM manifest m JOIN tsv t ON t.manifest_uuid = m.uuid
         GROUP BY 1, 2, 3)sql"));
      query->bind(1, max_retries);
      std::vector<PendingGroup> groups;
      while (true) {
        RSI_TRY_ASSIGN(const bool row, query->step());
        if (!row) {
          break;
        }
        groups.push_back({.table = std::string(query->text(0)),
                          .version = static_cast<int>(query->integer(1)),
                          .stale = query->integer(2) != 0,
                          .count = query->integer(3),
                          .oldest = from_epoch_micros(query->integer(4))});
      }
      query->reset();
      auto stats = classify_pending(groups, versions);
      RSI_TRY_ASSIGN(const auto quarantined, sqlite_quarantine::stats(db));
      stats.insert(stats.end(), quarantined.begin(), quarantined.end());
      return stats;
    });
  }

  Result<std::map<std::string, TimePoint>> last_loads() override {
    return reading([&](sqlite::Database& db) -> Result<std::map<std::string, TimePoint>> {
      RSI_TRY_ASSIGN(auto* query, db.cached("SELECT tablename, last_loaded FROM last_load"));
      std::map<std::string, TimePoint> loads;
      while (true) {
        RSI_TRY_ASSIGN(const bool row, query->step());
        if (!row) {
          break;
        }
        loads[std::string(query->text(0))] = from_epoch_micros(query->integer(1));
      }
      query->reset();
      return loads;
    });
  }

  Result<void> reject_message(const RejectedMessage& message) override {
    const std::lock_guard lock(m_mutex);
    return sqlite_rejected::insert(m_db, message);
  }

  Result<std::vector<StoredRejection>> list_rejected(const RejectedSelection& selection) override {
    return reading([&](sqlite::Database& db) { return sqlite_rejected::list(db, selection); });
  }

  Result<bool> delete_rejected(std::int64_t id) override {
    const std::lock_guard lock(m_mutex);
    return sqlite_rejected::remove(m_db, id);
  }

  Result<bool> update_rejected(std::int64_t id, const std::string& reason, const std::string& kind,
                               const std::string& table) override {
    const std::lock_guard lock(m_mutex);
    return sqlite_rejected::update(m_db, id, reason, kind, table);
  }

  Result<std::vector<RejectedCount>> rejected_counts(std::size_t limit) override {
    const std::lock_guard lock(m_mutex);
    return sqlite_rejected::counts(m_db, limit);
  }

  Result<std::int64_t> count_rejected(TimePoint since) override {
    return reading([&](sqlite::Database& db) { return sqlite_rejected::count_since(db, since); });
  }

  Result<void> note_awaiting_metadata(const std::string& message_id, const std::string& table,
                                      TimePoint first_seen, TimePoint retry_at,
                                      int attempts) override {
    const std::lock_guard lock(m_mutex);
    RSI_TRY_ASSIGN(auto* prune, m_db.cached("DELETE FROM awaiting_metadata WHERE retry_ts < ?"));
    RSI_TRY(prune->bind(1, us(retry_at - std::chrono::hours(24))).run());
    RSI_TRY_ASSIGN(
        auto* upsert,
        m_db.cached(
            "INSERT INTO awaiting_metadata (message_id, tablename, first_seen, retry_ts, attempts) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (message_id) DO UPDATE SET "
            "tablename = excluded.tablename, retry_ts = excluded.retry_ts, "
            "attempts = excluded.attempts"));
    upsert->bind(1, replace_invalid_utf8(message_id))
        .bind(2, table)
        .bind(3, us(first_seen))
        .bind(4, us(retry_at));
    upsert->bind(5, attempts);
    RSI_TRY(upsert->run());
    return {};
  }

  Result<void> forget_awaiting_metadata(const std::string& message_id) override {
    const std::lock_guard lock(m_mutex);
    RSI_TRY_ASSIGN(auto* remove, m_db.cached("DELETE FROM awaiting_metadata WHERE message_id = ?"));
    RSI_TRY(remove->bind(1, replace_invalid_utf8(message_id)).run());
    return {};
  }

  Result<std::vector<AwaitingMetadata>> awaiting_metadata(TimePoint retry_after) override {
    return reading([&](sqlite::Database& db) -> Result<std::vector<AwaitingMetadata>> {
      RSI_TRY_ASSIGN(auto* query,
                     db.cached("SELECT tablename, count(*), min(first_seen) FROM awaiting_metadata "
                               "WHERE retry_ts >= ? GROUP BY tablename ORDER BY tablename"));
      query->bind(1, us(retry_after));
      std::vector<AwaitingMetadata> waiting;
      while (true) {
        RSI_TRY_ASSIGN(const bool row, query->step());
        if (!row) {
          break;
        }
        waiting.push_back({.table = std::string(query->text(0)),
                           .messages = query->integer(1),
                           .first_seen = from_epoch_micros(query->integer(2))});
      }
      query->reset();
      return waiting;
    });
  }

  Result<std::int64_t> prune_loaded_keys(TimePoint cutoff) override {
    const std::lock_guard lock(m_mutex);
    RSI_TRY_ASSIGN(auto tx, sqlite::Transaction::begin(m_db));
    RSI_TRY_ASSIGN(auto* history, m_db.cached("DELETE FROM load_minute WHERE minute < ?"));
    RSI_TRY(history->bind(1, us(cutoff)).run());
    RSI_TRY_ASSIGN(auto* remove, m_db.cached("DELETE FROM loaded_key WHERE loaded_at < ?"));
    RSI_TRY_ASSIGN(const auto removed, remove->bind(1, us(cutoff)).run());
    RSI_TRY(tx.commit());
    return removed;
  }

  Result<void> ping() override {
    return reading([&](sqlite::Database& db) -> Result<void> {
      RSI_TRY_ASSIGN(auto* query, db.cached("SELECT 1"));
      RSI_TRY(query->step());
      query->reset();
      return {};
    });
  }

private:
  // One file of record_files, under m_mutex and in its transaction.
  Result<RecordOutcome> record_one(const core::FilePointer& file, TimePoint received_at) {
    RSI_TRY_ASSIGN(const bool loaded,
                   sqlite_quarantine::loaded_since(m_db, file.key_name,
                                                   received_at - m_options.loaded_key_history));
    if (loaded) {
      return RecordOutcome::recently_loaded;
    }
    RSI_TRY_ASSIGN(auto* set_aside, m_db.cached("SELECT 1 FROM quarantined_file WHERE keyname = ? "
                                                "AND state = 'quarantined'"));
    RSI_TRY_ASSIGN(const bool quarantined, set_aside->bind(1, file.key_name).step());
    set_aside->reset();
    if (quarantined) {
      return RecordOutcome::quarantined;
    }
    RSI_TRY_ASSIGN(const bool inserted,
                   sqlite_quarantine::insert_pending(m_db, file.table, file.key_name, file.version,
                                                     received_at));
    return inserted ? RecordOutcome::recorded : RecordOutcome::already_pending;
  }

  // Retry (`requeue`) or drop the selected quarantined files, one transaction.
  Result<std::vector<QuarantineOutcome>> change_quarantined(const QuarantineSelection& selection,
                                                            const std::string& by, TimePoint now,
                                                            bool requeue) {
    const std::lock_guard lock(m_mutex);
    return sqlite_quarantine::change(m_db, selection, by, now, now - m_options.loaded_key_history,
                                     requeue);
  }

  // `read` on the reader connection, in one read transaction: its statements see one snapshot.
  template <class Read> auto reading(Read&& read) -> std::invoke_result_t<Read, sqlite::Database&> {
    const std::lock_guard lock(m_read_mutex);
    sqlite::Database& db = *m_reader;
    RSI_TRY(db.exec_script("BEGIN"));
    auto result = std::forward<Read>(read)(db);
    if (auto ended = db.exec_script("COMMIT"); !ended) {
      (void)db.exec_script("ROLLBACK");
      if (result) {
        return std::unexpected(std::move(ended.error()));
      }
    }
    return result;
  }

  // The first group a claim may take now: force loads first, then the oldest; only groups whose
  // version is the warehouse's (eligible groups of an older version are added to `outdated`),
  // never a table with a batch in flight. Reads pending_group in claim order through its index
  // and stops at the first such group. Callers hold m_mutex, in the claim's transaction.
  Result<std::optional<GroupCandidate>> find_group(const VersionMap& versions,
                                                   const ClaimPolicy& policy, TimePoint now,
                                                   std::vector<TableVersion>& outdated) {
    const auto loadable = [&](const GroupCandidate& group) {
      if (!is_eligible(group, policy, now)) {
        return false;
      }
      const auto current = versions.find(group.table);
      if (current == versions.end() || group.version > current->second) {
        return false; // No table yet, or a newer version: waits for the migrator.
      }
      if (group.version < current->second) {
        const TableVersion old{group.table, group.version};
        if (std::find(outdated.begin(), outdated.end(), old) == outdated.end()) {
          outdated.push_back(old);
        }
        return false;
      }
      return true;
    };
    RSI_TRY_ASSIGN(auto* forced, m_db.cached(R"sql(
      SELECT g.tablename, g.tableversion, g.files, g.oldest
        FROM force_load f JOIN pending_group g ON g.tablename = f.tablename
       WHERE f.started IS NULL
         AND NOT EXISTS (SELECT 1 FROM manifest m
                          WHERE m.tablename = g.tablename AND m.retry_ts IS NULL)
       ORDER BY g.oldest, g.tablename, g.tableversion)sql"));
    RSI_TRY_ASSIGN(auto* due, m_db.cached(R"sql(
      SELECT g.tablename, g.tableversion, g.files, g.oldest
        FROM pending_group g INDEXED BY pending_group_oldest_idx
       WHERE (g.files > ?1 OR g.oldest < ?2)
         AND NOT EXISTS (SELECT 1 FROM force_load f
                          WHERE f.tablename = g.tablename AND f.started IS NULL)
         AND NOT EXISTS (SELECT 1 FROM manifest m
                          WHERE m.tablename = g.tablename AND m.retry_ts IS NULL)
       ORDER BY g.oldest, g.tablename, g.tableversion)sql"));
    due->bind(1, policy.count_trigger).bind(2, us(now - policy.age_trigger));
    for (auto* query : {forced, due}) {
      while (true) {
        RSI_TRY_ASSIGN(const bool row, query->step());
        if (!row) {
          break;
        }
        GroupCandidate group{.table = std::string(query->text(0)),
                             .version = static_cast<int>(query->integer(1)),
                             .count = query->integer(2),
                             .oldest = from_epoch_micros(query->integer(3)),
                             .forced = query == forced};
        if (loadable(group)) {
          forced->reset();
          due->reset();
          return std::optional<GroupCandidate>(std::move(group));
        }
      }
    }
    forced->reset();
    due->reset();
    return std::optional<GroupCandidate>();
  }

  // Callers hold the mutex of `db`.
  static Result<std::vector<std::string>> batch_keys(sqlite::Database& db,
                                                     const std::string& manifest) {
    RSI_TRY_ASSIGN(auto* query,
                   db.cached("SELECT keyname FROM tsv WHERE manifest_uuid = ? ORDER BY id"));
    query->bind(1, manifest);
    std::vector<std::string> keys;
    while (true) {
      RSI_TRY_ASSIGN(const bool row, query->step());
      if (!row) {
        break;
      }
      keys.emplace_back(query->text(0));
    }
    query->reset();
    return keys;
  }

  template <class Value>
  static Result<std::vector<Batch>> select_batches(sqlite::Database& db, const std::string& sql,
                                                   Value parameter) {
    RSI_TRY_ASSIGN(auto* query, db.cached(sql));
    query->bind(1, parameter);
    std::vector<Batch> batches;
    while (true) {
      RSI_TRY_ASSIGN(const bool row, query->step());
      if (!row) {
        break;
      }
      batches.push_back(batch_from_row(*query));
    }
    query->reset();
    for (auto& batch : batches) {
      RSI_TRY_ASSIGN(batch.keys, batch_keys(db, batch.manifest));
    }
    return batches;
  }

  std::mutex m_mutex; // The writer connection.
  sqlite::Database m_db;
  std::mutex m_read_mutex; // The reader connection.
  std::optional<sqlite::Database> m_reader;
  StoreOptions m_options;
};

} // namespace

Result<std::unique_ptr<IngestDb>> make_sqlite_ingest_db(const SqliteConfig& config) {
  RSI_TRY_ASSIGN(auto db, sqlite::Database::open(config.path));
  auto store = std::make_unique<SqliteIngestDb>(std::move(db), config.options);
  if (auto migrated = store->migrate(); !migrated) {
    return fail(migrated.error().wrap("prepare ingester database"));
  }
  RSI_TRY(store->open_reader(config.path));
  return std::unique_ptr<IngestDb>(std::move(store));
}

} // namespace rsi::ingestdb
