// PostgreSQL ingester database, shared by many metadatastorer and rsloadmanager processes.
//
// Tables (sql/postgres/*.sql): the original's tsv (pending files; manifest_uuid set once
// claimed), manifest (a claimed batch: retry_ts NULL while in flight, set when it failed),
// force_load (started NULL until a claim honours it) and last_load; plus loaded_key (keys
// loaded recently), rejected_message (its statements in postgres_rejected.cpp) and
// quarantined_file (in postgres_quarantine.cpp).
//
// What waits is summarised per (table, version) in pending_group (count of unclaimed files,
// oldest), kept by statement triggers on tsv through an insert-only pending_delta that each
// search folds first (sql/postgres/008_pending_summary.sql): a search reads a page of groups
// through an index, never the files, so its cost does not grow with the backlog; so do
// pending_versions, has_files and pending_stats. A claim still locks and re-reads its group's
// files, so a summary a moment old costs a wasted attempt, never a wrong batch.
//
// Claims take no table locks: a transaction-level advisory lock per table name serialises
// claimers of one table (so a table never has two batches in flight), and the files are
// locked with FOR UPDATE SKIP LOCKED, so claimers of other tables never wait. Advisory locks
// belong to the whole database, so the key includes the schema: ingester databases in two
// schemas of one database never hold each other's claims back.
//
// Work made due now is announced to other processes' loaders in the transaction that makes it
// (NOTIFY on k_work_channel, delivered on commit; postgres_work.cpp listens): recording pointers,
// a force load, releasing or retrying a batch, the part of a split batch put back, requeued
// quarantined files. One NOTIFY per transaction, never one per file: PostgreSQL serialises the
// commits of notifying transactions (a lock held until the commit is flushed), so the storer
// records a receive's pointers in one statement (the arrays of its files unnested). A single
// statement carries its pg_notify in a CTE. Completing a batch announces nothing, although it frees
// its table for the next batch: the worker that completed it looks again at once.
#include "ingestdb/postgres_ingest_db.hpp"

#include <map>
#include <mutex>
#include <span>
#include <string_view>

#include <fmt/format.h>

#include "common/log.hpp"
#include "common/utf8.hpp"
#include "common/uuid.hpp"
#include "ingestdb/claim_selection.hpp"
#include "ingestdb/migrations.hpp"
#include "ingestdb/postgres_quarantine.hpp"
#include "ingestdb/postgres_rejected.hpp"
#include "ingestdb/postgres_work.hpp"
#include "pg/advisory_locks.hpp"
#include "pg/pool.hpp"
#include "pg/transaction.hpp"

namespace rsi::ingestdb {
namespace {

// Advisory lock namespaces (first key of the two-key form).
constexpr int k_migration_lock = pg::advisory::k_ingester_migrations;
constexpr int k_candidate_batch = 100; // Groups fetched by one search (a page).
constexpr int k_further_pages = 10;    // Pages read by a claim beyond the first, at most.

// SQL TIMESTAMP → microseconds since the epoch (the column holds UTC).
#define RSI_MICROS(column) "(EXTRACT(EPOCH FROM " column ") * 1000000)::bigint"

std::string ts(TimePoint time) { return to_sql_timestamp(time); }

std::string array_literal(const std::vector<std::int64_t>& ids) {
  return fmt::format("{{{}}}", fmt::join(ids, ","));
}

Result<std::vector<std::string>> batch_keys(pg::Connection& conn, const std::string& manifest) {
  RSI_TRY_ASSIGN(
      const auto rows,
      conn.exec("SELECT keyname FROM tsv WHERE manifest_uuid = $1 ORDER BY id", {manifest}));
  std::vector<std::string> keys;
  keys.reserve(static_cast<std::size_t>(rows.size()));
  for (int row = 0; row < rows.size(); ++row) {
    keys.push_back(rows.text(row, 0));
  }
  return keys;
}

// The pointers of one record_files call, in one statement: each inserted unless loaded recently
// or quarantined (a pending duplicate hits the unique key), in the order given (key order: two
// calls recording overlapping keys lock them in one order), and one NOTIFY naming the table of
// the first file recorded. $1 tables, $2 keys, $3 versions (arrays, one element per file), $4
// received at, $5 start of the loaded-key history, $6 the work channel. One row per file, in
// order: recorded, recently loaded, quarantined. The lookups are LATERAL with LIMIT 1, so that
// they stay index probes per file however large loaded_key grows.
constexpr std::string_view k_pg_record_sql = R"sql(
  WITH input AS (
         SELECT i.tablename, i.keyname, i.tableversion, i.ord
           FROM unnest($1::varchar[], $2::varchar[], $3::int[]) WITH ORDINALITY
                AS i (tablename, keyname, tableversion, ord)),
       recent AS (
         SELECT i.keyname FROM input i,
                LATERAL (SELECT 1 FROM loaded_key l
                          WHERE l.keyname = i.keyname AND l.loaded_at >= $5::timestamp
                          LIMIT 1) l),
       quarantined AS (
         SELECT i.keyname FROM input i,
                LATERAL (SELECT 1 FROM quarantined_file q
                          WHERE q.keyname = i.keyname AND q.state = 'quarantined' LIMIT 1) q),
       inserted AS (
         INSERT INTO tsv (tablename, keyname, tableversion, ts)
         SELECT i.tablename, i.keyname, i.tableversion, $4::timestamp FROM input i
          WHERE NOT EXISTS (SELECT 1 FROM recent r WHERE r.keyname = i.keyname)
            AND NOT EXISTS (SELECT 1 FROM quarantined q WHERE q.keyname = i.keyname)
          ORDER BY i.ord
         ON CONFLICT (keyname) DO NOTHING
         RETURNING keyname),
       announced AS (
         SELECT pg_notify($6, left(i.tablename, 127)) FROM input i
          WHERE i.keyname IN (SELECT keyname FROM inserted)
          ORDER BY i.ord LIMIT 1)
  SELECT i.keyname IN (SELECT keyname FROM inserted), i.keyname IN (SELECT keyname FROM recent),
         i.keyname IN (SELECT keyname FROM quarantined), (SELECT count(*) FROM announced)
    FROM input i ORDER BY i.ord)sql";

// A PostgreSQL array literal of `values`, every element quoted.
template <class Range> std::string text_array(const Range& values) {
  std::string literal = "{";
  for (const std::string_view value : values) {
    if (literal.size() > 1) {
      literal += ',';
    }
    literal += '"';
    for (const char character : value) {
      if (character == '"' || character == '\\') {
        literal += '\\';
      }
      literal += character;
    }
    literal += '"';
  }
  literal += '}';
  return literal;
}

// Folds the deltas the tsv triggers wrote into pending_group (008_pending_summary.sql): before
// anything reads the summary, so that it holds every committed change.
Result<void> fold_pending(pg::Connection& conn) {
  RSI_TRY(conn.exec("SELECT rsi_fold_pending()"));
  return {};
}

// Manifest columns read by every query that returns batches, in this order.
constexpr auto k_pg_manifest_columns =
    "m.uuid, COALESCE(m.tablename, ''), COALESCE(m.tableversion, 0), COALESCE(m.retry_count, 0), "
    "m.last_error, " RSI_MICROS("m.retry_ts") ", " RSI_MICROS("m.created_ts");

Batch batch_from_row(const pg::Rows& rows, int row) {
  Batch batch;
  batch.manifest = rows.text(row, 0);
  batch.table = rows.text(row, 1);
  batch.version = static_cast<int>(rows.integer(row, 2));
  batch.retry_count = static_cast<int>(rows.integer(row, 3));
  if (!rows.is_null(row, 4)) {
    batch.last_error = rows.text(row, 4);
  }
  if (!rows.is_null(row, 5)) {
    batch.retry_at = from_epoch_micros(rows.integer(row, 5));
  }
  if (!rows.is_null(row, 6)) { // NULL in a manifest the original wrote.
    batch.created_at = from_epoch_micros(rows.integer(row, 6));
  }
  return batch;
}

Result<bool> try_table_lock(pg::Transaction& tx, const std::string& table) {
  RSI_TRY_ASSIGN(const auto locked,
                 tx.exec("SELECT pg_try_advisory_xact_lock($1, hashtext(COALESCE(current_schema(), "
                         "'') || '.' || $2))",
                         {std::to_string(k_claim_lock_class), table}));
  return locked.boolean(0, 0);
}

Result<bool> has_batch_in_flight(pg::Transaction& tx, const std::string& table) {
  RSI_TRY_ASSIGN(
      const auto rows,
      tx.exec("SELECT 1 FROM manifest WHERE tablename = $1 AND retry_ts IS NULL LIMIT 1", {table}));
  return !rows.empty();
}

class PostgresIngestDb final : public IngestDb {
public:
  explicit PostgresIngestDb(const PostgresConfig& config)
      : m_pool(config.conninfo, config.max_connections), m_options(config.options),
        m_candidates(config.candidate_ttl) {}

  Result<void> migrate() {
    return m_pool.run([](pg::Connection& conn) -> Result<void> {
      RSI_TRY(conn.exec("SELECT pg_advisory_lock($1)", {std::to_string(k_migration_lock)}));
      auto applied = apply_migrations(conn);
      auto unlocked =
          conn.exec("SELECT pg_advisory_unlock($1)", {std::to_string(k_migration_lock)});
      RSI_TRY(applied);
      RSI_TRY(unlocked);
      return {};
    });
  }

  // IngestDb
  Result<std::vector<RecordOutcome>> record_files(std::span<const core::FilePointer> files,
                                                  TimePoint received_at) override {
    // Each key once, in key order: callers recording overlapping keys lock them in one order, so
    // they wait for each other instead of deadlocking. A key's later copies stay already_pending.
    std::map<std::string_view, std::size_t> first_of_key;
    for (std::size_t index = 0; index < files.size(); ++index) {
      first_of_key.try_emplace(files[index].key_name, index);
    }
    std::vector<RecordOutcome> outcomes(files.size(), RecordOutcome::already_pending);
    if (first_of_key.empty()) {
      return outcomes;
    }
    std::vector<std::string_view> tables;
    std::vector<std::string_view> keys;
    std::vector<std::string> versions;
    std::vector<std::size_t> order; // Row of the statement → index in `files`.
    for (const auto& [key, index] : first_of_key) {
      tables.push_back(files[index].table);
      keys.push_back(key);
      versions.push_back(std::to_string(files[index].version));
      order.push_back(index);
    }
    const std::vector<pg::Param> params{text_array(tables),
                                        text_array(keys),
                                        fmt::format("{{{}}}", fmt::join(versions, ",")),
                                        ts(received_at),
                                        ts(received_at - m_options.loaded_key_history),
                                        std::string(k_work_channel)};
    return m_pool.run([&](pg::Connection& conn) -> Result<std::vector<RecordOutcome>> {
      RSI_TRY_ASSIGN(const auto rows, conn.exec(k_pg_record_sql, params));
      if (static_cast<std::size_t>(rows.size()) != order.size()) {
        return fail(ErrorKind::permanent,
                    fmt::format("record {} file pointers: {} outcomes", order.size(), rows.size()));
      }
      for (int row = 0; row < rows.size(); ++row) {
        RecordOutcome& outcome = outcomes[order[static_cast<std::size_t>(row)]];
        if (rows.boolean(row, 0)) {
          outcome = RecordOutcome::recorded;
        } else if (rows.boolean(row, 1)) {
          outcome = RecordOutcome::recently_loaded;
        } else if (rows.boolean(row, 2)) {
          outcome = RecordOutcome::quarantined;
        }
      }
      return outcomes;
    });
  }

  Result<ClaimResult> claim_batch(const VersionMap& versions, const ClaimPolicy& policy,
                                  TimePoint now) override {
    return m_pool.run([&](pg::Connection& conn) -> Result<ClaimResult> {
      ClaimResult result;
      bool fetched = false;
      std::optional<GroupKey> more; // The first page was full: groups wait after this one.
      while (true) {
        if (!fetched && m_candidates.stale(policy, now)) {
          RSI_TRY(fold_pending(conn));
          RSI_TRY_ASSIGN(auto page, find_candidates(conn, policy, now, nullptr));
          m_candidates.replace(std::move(page.groups), policy, now);
          more = std::move(page.next);
          fetched = true;
        }
        while (auto group = m_candidates.next(versions, policy, now, result.outdated)) {
          RSI_TRY_ASSIGN(result.batch, try_claim(conn, *group, policy, now));
          if (result.batch) {
            return result;
          }
        }
        if (fetched) {
          // Nothing on the first page could load (its tables wait for the migrator, or are
          // outdated): look further, a few pages per call.
          if (more) {
            RSI_TRY_ASSIGN(result.batch,
                           search_further(conn, versions, policy, now, *more, result.outdated));
          }
          return result;
        }
        m_candidates.expire(); // The cached groups are used up: search again once.
      }
    });
  }

  Result<bool> renew_lease(const std::string& manifest, TimePoint until) override {
    return m_pool.run([&](pg::Connection& conn) -> Result<bool> {
      RSI_TRY_ASSIGN(
          const auto rows,
          conn.exec("UPDATE manifest SET lease_until = $2 WHERE uuid = $1 AND retry_ts IS NULL",
                    {manifest, ts(until)}));
      return rows.affected() == 1;
    });
  }

  Result<bool> complete_batch(const std::string& manifest, TimePoint now,
                              std::int64_t rows) override {
    if (!is_uuid(manifest)) {
      return false;
    }
    return m_pool.run([&](pg::Connection& conn) -> Result<bool> {
      // One statement, so one transaction: the manifest's row lock makes a concurrent
      // completion of the same batch find nothing. Foreign keys are checked at its end.
      RSI_TRY_ASSIGN(const auto done, conn.exec(R"sql(
        WITH batch AS (DELETE FROM manifest WHERE uuid = $1 RETURNING tablename),
             files AS (DELETE FROM tsv WHERE manifest_uuid = $1 RETURNING keyname, tablename),
             remembered AS (
               INSERT INTO loaded_key (keyname, tablename, manifest_uuid, loaded_at)
               SELECT keyname, COALESCE(tablename, ''), $1, $2 FROM files WHERE keyname IS NOT NULL
               ON CONFLICT (keyname) DO UPDATE
                 SET tablename = excluded.tablename, manifest_uuid = excluded.manifest_uuid,
                     loaded_at = excluded.loaded_at),
             loaded AS (
               INSERT INTO last_load (tablename, last_loaded)
               SELECT DISTINCT COALESCE(batch.tablename, files.tablename), $2::timestamp
                 FROM batch, files
                WHERE COALESCE(batch.tablename, files.tablename) IS NOT NULL
               ON CONFLICT (tablename) DO UPDATE
                 SET last_loaded = GREATEST(last_load.last_loaded, excluded.last_loaded)),
             history AS (
               INSERT INTO load_minute (tablename, minute, batches, files_loaded, rows_loaded)
               SELECT COALESCE(batch.tablename, min(files.tablename)),
                      date_trunc('minute', $2::timestamp), 1, count(*), $3::bigint
                 FROM batch, files
                GROUP BY batch.tablename
               HAVING COALESCE(batch.tablename, min(files.tablename)) IS NOT NULL
               ON CONFLICT (tablename, minute) DO UPDATE
                 SET batches = load_minute.batches + 1,
                     files_loaded = load_minute.files_loaded + excluded.files_loaded,
                     rows_loaded = load_minute.rows_loaded + excluded.rows_loaded)
        SELECT EXISTS (SELECT 1 FROM batch))sql",
                                                {manifest, ts(now), std::to_string(rows)}));
      return done.boolean(0, 0);
    });
  }

  Result<bool> fail_batch(const std::string& manifest, const std::string& error,
                          TimePoint retry_at) override {
    if (!is_uuid(manifest)) {
      return false;
    }
    return m_pool.run([&](pg::Connection& conn) -> Result<bool> {
      RSI_TRY_ASSIGN(
          const auto rows,
          conn.exec("UPDATE manifest SET retry_ts = $2, last_error = $3, lease_until = NULL "
                    "WHERE uuid = $1",
                    {manifest, ts(retry_at), replace_invalid_utf8(error)}));
      return rows.affected() == 1;
    });
  }

  Result<bool> release_batch(const std::string& manifest, TimePoint retry_at) override {
    if (!is_uuid(manifest)) {
      return false;
    }
    return m_pool.run([&](pg::Connection& conn) -> Result<bool> {
      // Announced whatever `retry_at` is: the loaders release batches due at once (stopping, or
      // an orphan that did not commit).
      RSI_TRY_ASSIGN(const auto rows,
                     conn.exec(R"sql(
        WITH released AS (
               UPDATE manifest SET retry_ts = $2, lease_until = NULL, released = true
                WHERE uuid = $1 AND retry_ts IS NULL
               RETURNING tablename),
             announced AS (SELECT pg_notify($3, left(COALESCE(tablename, ''), 127)) FROM released)
        SELECT EXISTS (SELECT 1 FROM released), EXISTS (SELECT 1 FROM announced))sql",
                               {manifest, ts(retry_at), std::string(k_work_channel)}));
      return rows.boolean(0, 0);
    });
  }

  Result<std::vector<Batch>> in_flight_batches(TimePoint now) override {
    return select_batches(fmt::format("SELECT {} FROM manifest m WHERE m.retry_ts IS NULL AND "
                                      "m.lease_until >= $1 ORDER BY m.created_ts",
                                      k_pg_manifest_columns),
                          {ts(now)});
  }

  Result<std::optional<Batch>> find_batch(const std::string& manifest) override {
    if (!is_uuid(manifest)) {
      return std::optional<Batch>();
    }
    RSI_TRY_ASSIGN(auto found,
                   select_batches(fmt::format("SELECT {} FROM manifest m WHERE m.uuid = $1",
                                              k_pg_manifest_columns),
                                  {manifest}));
    return found.empty() ? std::optional<Batch>() : std::optional<Batch>(std::move(found.front()));
  }

  Result<bool> retry_batch(const std::string& manifest, TimePoint now) override {
    if (!is_uuid(manifest)) {
      return false;
    }
    return m_pool.run([&](pg::Connection& conn) -> Result<bool> {
      RSI_TRY_ASSIGN(const auto rows, conn.exec(R"sql(
        WITH retried AS (
               UPDATE manifest SET retry_count = 0, released = true, retry_ts = $2
                WHERE uuid = $1 AND retry_ts IS NOT NULL
               RETURNING tablename),
             announced AS (SELECT pg_notify($3, left(COALESCE(tablename, ''), 127)) FROM retried)
        SELECT EXISTS (SELECT 1 FROM retried), EXISTS (SELECT 1 FROM announced))sql",
                                                {manifest, ts(now), std::string(k_work_channel)}));
      return rows.boolean(0, 0);
    });
  }

  Result<std::optional<Batch>> skip_batch(const std::string& manifest,
                                          const std::string& skipped_by, TimePoint now) override {
    if (!is_uuid(manifest)) {
      return std::optional<Batch>();
    }
    return m_pool.run([&](pg::Connection& conn) -> Result<std::optional<Batch>> {
      RSI_TRY_ASSIGN(auto tx, pg::Transaction::begin(conn));
      RSI_TRY_ASSIGN(
          const auto found,
          tx.exec(
              fmt::format("SELECT {} FROM manifest m WHERE m.uuid = $1 AND m.retry_ts IS NOT NULL "
                          "FOR UPDATE",
                          k_pg_manifest_columns),
              {manifest}));
      if (found.empty()) {
        return std::optional<Batch>();
      }
      Batch batch = batch_from_row(found, 0);
      RSI_TRY_ASSIGN(batch.keys, batch_keys(conn, manifest));
      RSI_TRY(tx.exec(R"sql(
        INSERT INTO skipped_batch (manifest_uuid, tablename, tableversion, keynames, retry_count, last_error,
                                   skipped_by, skipped_at)
        SELECT uuid, tablename, tableversion,
               ARRAY(SELECT keyname FROM tsv WHERE manifest_uuid = $1 ORDER BY id), retry_count, last_error, $2, $3
          FROM manifest WHERE uuid = $1)sql",
                      {manifest, skipped_by, ts(now)}));
      RSI_TRY(tx.exec("DELETE FROM tsv WHERE manifest_uuid = $1", {manifest}));
      RSI_TRY(tx.exec("DELETE FROM manifest WHERE uuid = $1", {manifest}));
      RSI_TRY(tx.commit());
      return std::optional<Batch>(std::move(batch));
    });
  }

  Result<std::optional<Batch>> split_batch(const std::string& manifest, const BatchSplit& split,
                                           TimePoint now, TimePoint lease_until) override {
    if (!is_uuid(manifest)) {
      return fail(ErrorKind::conflict, fmt::format("split batch {}: no such batch", manifest));
    }
    return m_pool.run([&](pg::Connection& conn) -> Result<std::optional<Batch>> {
      RSI_TRY_ASSIGN(auto tx, pg::Transaction::begin(conn));
      RSI_TRY_ASSIGN(
          const auto found,
          tx.exec(fmt::format("SELECT {} FROM manifest m WHERE m.uuid = $1 AND m.retry_ts IS NULL "
                              "FOR UPDATE",
                              k_pg_manifest_columns),
                  {manifest}));
      if (found.empty()) {
        return fail(ErrorKind::conflict,
                    fmt::format("split batch {}: no longer in flight", manifest));
      }
      const Batch old = batch_from_row(found, 0);
      for (const auto& file : split.quarantine) {
        RSI_TRY(pg_quarantine::set_aside(tx, manifest, file, now));
      }
      std::optional<Batch> next;
      if (!split.load_now.empty()) {
        Batch batch{.manifest = new_uuid(), .table = old.table, .version = old.version};
        RSI_TRY(tx.exec("INSERT INTO manifest (uuid, tablename, tableversion, created_ts, "
                        "lease_until, retry_count) VALUES ($1, $2, $3, $4, $5, 0)",
                        {batch.manifest, batch.table, std::to_string(batch.version), ts(now),
                         ts(lease_until)}));
        for (const auto& key : split.load_now) {
          RSI_TRY(tx.exec("UPDATE tsv SET manifest_uuid = $2 WHERE manifest_uuid = $1 AND "
                          "keyname = $3",
                          {manifest, batch.manifest, key}));
        }
        RSI_TRY_ASSIGN(batch.keys, batch_keys(conn, batch.manifest));
        RSI_TRY_ASSIGN(const auto oldest,
                       tx.exec("SELECT " RSI_MICROS("min(ts)") " FROM tsv WHERE manifest_uuid = $1",
                               {batch.manifest}));
        if (!oldest.empty() && !oldest.is_null(0, 0)) {
          batch.oldest_file = from_epoch_micros(oldest.integer(0, 0));
        }
        next = std::move(batch);
      }
      RSI_TRY_ASSIGN(const auto rest,
                     tx.exec("SELECT 1 FROM tsv WHERE manifest_uuid = $1 LIMIT 1", {manifest}));
      if (!rest.empty()) {
        const std::string put_back = new_uuid();
        RSI_TRY(tx.exec("INSERT INTO manifest (uuid, tablename, tableversion, created_ts, "
                        "retry_ts, retry_count, released) VALUES ($1, $2, $3, $4, $4, 0, true)",
                        {put_back, old.table, std::to_string(old.version), ts(now)}));
        RSI_TRY(tx.exec("UPDATE tsv SET manifest_uuid = $2 WHERE manifest_uuid = $1",
                        {manifest, put_back}));
        // Due now; claimable once the batch loading now (if any) is done.
        RSI_TRY(pg_work::announce(tx, old.table));
      }
      RSI_TRY(tx.exec("DELETE FROM manifest WHERE uuid = $1", {manifest}));
      RSI_TRY(tx.commit());
      return next;
    });
  }

  Result<std::vector<QuarantinedFile>> quarantined_files(std::size_t limit) override {
    return m_pool.run([&](pg::Connection& conn) { return pg_quarantine::list(conn, limit); });
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
    return m_pool.run([&](pg::Connection& conn) -> Result<std::optional<Batch>> {
      RSI_TRY_ASSIGN(auto tx, pg::Transaction::begin(conn));
      RSI_TRY_ASSIGN(const auto due, tx.exec(fmt::format(R"sql(
        SELECT {} FROM manifest m
         WHERE m.retry_ts IS NOT NULL AND m.retry_ts <= $1 AND (COALESCE(m.retry_count, 0) < $2 OR m.released)
         ORDER BY m.retry_ts
         LIMIT 20
         FOR UPDATE SKIP LOCKED)sql",
                                                         k_pg_manifest_columns),
                                             {ts(now), std::to_string(max_retries)}));
      for (int row = 0; row < due.size(); ++row) {
        Batch batch = batch_from_row(due, row);
        RSI_TRY_ASSIGN(const bool locked, try_table_lock(tx, batch.table));
        if (!locked) {
          continue;
        }
        RSI_TRY_ASSIGN(const bool busy, has_batch_in_flight(tx, batch.table));
        if (busy) {
          continue;
        }
        RSI_TRY_ASSIGN(
            const auto updated,
            tx.exec("UPDATE manifest SET retry_ts = NULL, lease_until = $2, released = false, "
                    "retry_count = COALESCE(retry_count, 0) + CASE WHEN released THEN 0 ELSE 1 END "
                    "WHERE uuid = $1 RETURNING retry_count",
                    {batch.manifest, ts(now + lease)}));
        batch.retry_count = static_cast<int>(updated.integer(0, 0));
        RSI_TRY_ASSIGN(batch.keys, batch_keys(conn, batch.manifest));
        RSI_TRY(tx.commit());
        batch.retry_at.reset();
        return std::optional<Batch>(std::move(batch));
      }
      return std::optional<Batch>();
    });
  }

  Result<std::vector<Batch>> orphaned_batches(TimePoint now) override {
    return select_batches(
        fmt::format("SELECT {} FROM manifest m WHERE m.retry_ts IS NULL AND "
                    "(m.lease_until IS NULL OR m.lease_until < $1) ORDER BY m.created_ts",
                    k_pg_manifest_columns),
        {ts(now)});
  }

  Result<std::vector<Batch>> stale_batches(int max_retries) override {
    return select_batches(
        fmt::format("SELECT {} FROM manifest m WHERE m.retry_ts IS NOT NULL AND "
                    "COALESCE(m.retry_count, 0) >= $1 AND NOT m.released ORDER BY m.retry_ts",
                    k_pg_manifest_columns),
        {std::to_string(max_retries)});
  }

  Result<VersionMap> pending_versions() override {
    return m_pool.run([&](pg::Connection& conn) -> Result<VersionMap> {
      // Unclaimed files from the summary; claimed ones through their batches (as many as the
      // batches in flight or failed, whatever the backlog).
      RSI_TRY(fold_pending(conn));
      // Per batch, a lateral lookup of its files through tsv_manifest_idx (a join would let the
      // planner guess a million claimed files from tsv's statistics and start parallel workers).
      RSI_TRY_ASSIGN(const auto rows, conn.exec(R"sql(
        SELECT tablename, MAX(tableversion)
          FROM (SELECT tablename, tableversion FROM pending_group
                UNION ALL
                SELECT f.tablename, f.tableversion
                  FROM manifest m,
                       LATERAL (SELECT t.tablename, t.tableversion FROM tsv t
                                 WHERE t.manifest_uuid = m.uuid AND t.tablename IS NOT NULL
                                 ORDER BY t.tableversion DESC LIMIT 1) f) files
         GROUP BY tablename)sql"));
      VersionMap versions;
      for (int row = 0; row < rows.size(); ++row) {
        versions[rows.text(row, 0)] = static_cast<int>(rows.integer(row, 1));
      }
      return versions;
    });
  }

  Result<bool> has_files(const std::string& table, int version) override {
    return m_pool.run([&](pg::Connection& conn) -> Result<bool> {
      // Through tsv_unclaimed_idx, then the files of the batches: never a scan of the backlog.
      RSI_TRY_ASSIGN(const auto rows, conn.exec(R"sql(
        SELECT EXISTS (SELECT 1 FROM tsv
                        WHERE tablename = $1 AND tableversion = $2 AND manifest_uuid IS NULL)
            OR EXISTS (SELECT 1 FROM manifest m JOIN tsv t ON t.manifest_uuid = m.uuid
                        WHERE t.tablename = $1 AND t.tableversion = $2))sql",
                                                {table, std::to_string(version)}));
      return rows.boolean(0, 0);
    });
  }

  Result<bool> request_force_load(const std::string& table, const std::string& requester,
                                  TimePoint now) override {
    return m_pool.run([&](pg::Connection& conn) -> Result<bool> {
      // Only a new request is announced: one already waiting was announced when it was made.
      RSI_TRY_ASSIGN(const auto rows,
                     conn.exec(R"sql(
        WITH requested AS (
               INSERT INTO force_load (tablename, requester, ts) VALUES ($1, $2, $3)
               ON CONFLICT (tablename) WHERE started IS NULL DO NOTHING
               RETURNING 1),
             announced AS (SELECT pg_notify($4, left($1, 127)) FROM requested)
        SELECT EXISTS (SELECT 1 FROM requested), EXISTS (SELECT 1 FROM announced))sql",
                               {table, requester, ts(now), std::string(k_work_channel)}));
      m_candidates.expire(); // Let the force load jump the queue at once in this process.
      return rows.boolean(0, 0);
    });
  }

  Result<bool> force_load_requested(const std::string& table) override {
    return m_pool.run([&](pg::Connection& conn) -> Result<bool> {
      RSI_TRY_ASSIGN(
          const auto rows,
          conn.exec(
              "SELECT EXISTS (SELECT 1 FROM force_load WHERE tablename = $1 AND started IS NULL)",
              {table}));
      return rows.boolean(0, 0);
    });
  }

  Result<std::vector<PendingStat>> pending_stats(const VersionMap& versions,
                                                 int max_retries) override {
    return m_pool.run([&](pg::Connection& conn) -> Result<std::vector<PendingStat>> {
      // Unclaimed files from the summary; claimed ones through their batches.
      RSI_TRY(fold_pending(conn));
      RSI_TRY_ASSIGN(const auto rows,
                     conn.exec(R"sql(
        SELECT tablename, tableversion, false, files, )sql" RSI_MICROS(
                                   "COALESCE(oldest, now() AT TIME ZONE 'UTC')") R"sql(
          FROM pending_group WHERE files > 0
        UNION ALL
        SELECT f.tablename, f.tableversion,
               COALESCE(m.retry_ts IS NOT NULL AND m.retry_count >= $1 AND NOT m.released, false),
               f.files, )sql" RSI_MICROS("f.oldest") R"sql(
          FROM manifest m,
               LATERAL (SELECT t.tablename, t.tableversion, count(*) AS files, min(t.ts) AS oldest
                          FROM tsv t WHERE t.manifest_uuid = m.uuid AND t.tablename IS NOT NULL
                         GROUP BY 1, 2) f)sql",
                               {std::to_string(max_retries)}));
      std::vector<PendingGroup> groups;
      groups.reserve(static_cast<std::size_t>(rows.size()));
      for (int row = 0; row < rows.size(); ++row) {
        groups.push_back({.table = rows.text(row, 0),
                          .version = static_cast<int>(rows.integer(row, 1)),
                          .stale = rows.boolean(row, 2),
                          .count = rows.integer(row, 3),
                          .oldest = from_epoch_micros(rows.integer(row, 4))});
      }
      auto stats = classify_pending(groups, versions);
      RSI_TRY_ASSIGN(const auto quarantined, pg_quarantine::stats(conn));
      stats.insert(stats.end(), quarantined.begin(), quarantined.end());
      return stats;
    });
  }

  Result<std::map<std::string, TimePoint>> last_loads() override {
    return m_pool.run([&](pg::Connection& conn) -> Result<std::map<std::string, TimePoint>> {
      RSI_TRY_ASSIGN(const auto rows,
                     conn.exec("SELECT tablename, " RSI_MICROS(
                         "last_loaded") " FROM last_load "
                                        "WHERE tablename IS NOT NULL AND last_loaded IS NOT NULL"));
      std::map<std::string, TimePoint> loads;
      for (int row = 0; row < rows.size(); ++row) {
        loads[rows.text(row, 0)] = from_epoch_micros(rows.integer(row, 1));
      }
      return loads;
    });
  }

  Result<void> reject_message(const RejectedMessage& message) override {
    return m_pool.run([&](pg::Connection& conn) { return pg_rejected::insert(conn, message); });
  }

  Result<std::vector<StoredRejection>> list_rejected(const RejectedSelection& selection) override {
    return m_pool.run([&](pg::Connection& conn) { return pg_rejected::list(conn, selection); });
  }

  Result<bool> delete_rejected(std::int64_t id) override {
    return m_pool.run([&](pg::Connection& conn) { return pg_rejected::remove(conn, id); });
  }

  Result<bool> update_rejected(std::int64_t id, const std::string& reason, const std::string& kind,
                               const std::string& table) override {
    return m_pool.run(
        [&](pg::Connection& conn) { return pg_rejected::update(conn, id, reason, kind, table); });
  }

  Result<std::vector<LoadMinute>> load_history(TimePoint since) override {
    return m_pool.run([&](pg::Connection& conn) -> Result<std::vector<LoadMinute>> {
      RSI_TRY_ASSIGN(
          const auto found,
          conn.exec("SELECT tablename, " RSI_MICROS(
                        "minute") ", batches, files_loaded, rows_loaded FROM load_minute "
                                  "WHERE minute >= date_trunc('minute', $1::timestamp) "
                                  "ORDER BY tablename, minute",
                    {ts(since)}));
      std::vector<LoadMinute> minutes;
      for (int row = 0; row < found.size(); ++row) {
        minutes.push_back({.table = found.text(row, 0),
                           .minute = from_epoch_micros(found.integer(row, 1)),
                           .batches = found.integer(row, 2),
                           .files = found.integer(row, 3),
                           .rows = found.integer(row, 4)});
      }
      return minutes;
    });
  }

  Result<std::vector<RejectedCount>> rejected_counts(std::size_t limit) override {
    return m_pool.run([&](pg::Connection& conn) { return pg_rejected::counts(conn, limit); });
  }

  Result<std::int64_t> count_rejected(TimePoint since) override {
    return m_pool.run([&](pg::Connection& conn) { return pg_rejected::count_since(conn, since); });
  }

  Result<void> note_awaiting_metadata(const std::string& message_id, const std::string& table,
                                      TimePoint first_seen, TimePoint retry_at,
                                      int attempts) override {
    return m_pool.run([&](pg::Connection& conn) -> Result<void> {
      RSI_TRY(conn.exec("DELETE FROM awaiting_metadata WHERE retry_ts < $1",
                        {ts(retry_at - std::chrono::hours(24))}));
      RSI_TRY(conn.exec(
          "INSERT INTO awaiting_metadata (message_id, tablename, first_seen, retry_ts, attempts) "
          "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id) DO UPDATE SET "
          "tablename = EXCLUDED.tablename, retry_ts = EXCLUDED.retry_ts, attempts = "
          "EXCLUDED.attempts",
          {replace_invalid_utf8(message_id), table, ts(first_seen), ts(retry_at),
           std::to_string(attempts)}));
      return {};
    });
  }

  Result<void> forget_awaiting_metadata(const std::string& message_id) override {
    return m_pool.run([&](pg::Connection& conn) -> Result<void> {
      RSI_TRY(conn.exec("DELETE FROM awaiting_metadata WHERE message_id = $1",
                        {replace_invalid_utf8(message_id)}));
      return {};
    });
  }

  Result<std::vector<AwaitingMetadata>> awaiting_metadata(TimePoint retry_after) override {
    return m_pool.run([&](pg::Connection& conn) -> Result<std::vector<AwaitingMetadata>> {
      RSI_TRY_ASSIGN(const auto rows,
                     conn.exec("SELECT tablename, count(*), " RSI_MICROS(
                                   "min(first_seen)") " FROM awaiting_metadata WHERE retry_ts >= "
                                                      "$1 GROUP BY tablename ORDER BY tablename",
                               {ts(retry_after)}));
      std::vector<AwaitingMetadata> waiting;
      for (int row = 0; row < rows.size(); ++row) {
        waiting.push_back({.table = rows.text(row, 0),
                           .messages = rows.integer(row, 1),
                           .first_seen = from_epoch_micros(rows.integer(row, 2))});
      }
      return waiting;
    });
  }

  Result<std::int64_t> prune_loaded_keys(TimePoint cutoff) override {
    return m_pool.run([&](pg::Connection& conn) -> Result<std::int64_t> {
      RSI_TRY(conn.exec("DELETE FROM load_minute WHERE minute < $1", {ts(cutoff)}));
      RSI_TRY_ASSIGN(const auto rows,
                     conn.exec("DELETE FROM loaded_key WHERE loaded_at < $1", {ts(cutoff)}));
      return rows.affected();
    });
  }

  Result<void> ping() override {
    return m_pool.run([](pg::Connection& conn) -> Result<void> {
      RSI_TRY(conn.exec("SELECT 1"));
      return {};
    });
  }

private:
  static Result<void> apply_migrations(pg::Connection& conn) {
    RSI_TRY(conn.exec_script("CREATE TABLE IF NOT EXISTS rsi_schema_migrations ("
                             "version INT PRIMARY KEY, name VARCHAR NOT NULL, "
                             "applied_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'))"));
    RSI_TRY_ASSIGN(const auto done,
                   conn.exec("SELECT COALESCE(MAX(version), 0) FROM rsi_schema_migrations"));
    const std::int64_t current = done.integer(0, 0);
    for (const auto& migration : k_postgres_migrations) {
      if (migration.version <= current) {
        continue;
      }
      RSI_TRY_ASSIGN(auto tx, pg::Transaction::begin(conn));
      if (auto applied = conn.exec_script(migration.sql); !applied) {
        return fail(applied.error().wrap(
            fmt::format("schema migration {} ({})", migration.version, migration.name)));
      }
      RSI_TRY(tx.exec("INSERT INTO rsi_schema_migrations (version, name) VALUES ($1, $2)",
                      {std::to_string(migration.version), std::string(migration.name)}));
      RSI_TRY(tx.commit());
      log::info("applied ingester database migration",
                {{"version", migration.version}, {"name", std::string(migration.name)}});
    }
    return {};
  }

  // Where a page of the search ends: groups are read by (oldest, table, version).
  struct GroupKey {
    std::string oldest; // As PostgreSQL prints the timestamp (read back exactly).
    TimePoint oldest_time;
    std::string table;
    int version = 0;

    [[nodiscard]] bool after(const GroupKey& other) const {
      return std::tie(oldest_time, table, version) >
             std::tie(other.oldest_time, other.table, other.version);
    }
  };

  struct CandidatePage {
    std::vector<GroupCandidate> groups;
    std::optional<GroupKey> next; // Set when the page is full: more groups may follow.
  };

  // Eligible groups of tables with no batch in flight, from the summary (pending_group, folded
  // by the caller): the forced ones (first page only) and a page of the others, oldest first,
  // after `after` when given. Reads at most a page of groups (through pending_group_oldest_idx),
  // not the files.
  static Result<CandidatePage> find_candidates(pg::Connection& conn, const ClaimPolicy& policy,
                                               TimePoint now, const GroupKey* after) {
    static constexpr std::string_view k_due = R"sql(
      SELECT g.tablename, g.tableversion, g.files, g.oldest
        FROM pending_group g
       WHERE (g.files > $1 OR g.oldest < $2) {}
         AND NOT EXISTS (SELECT 1 FROM force_load f
                          WHERE f.tablename = g.tablename AND f.started IS NULL)
         AND NOT EXISTS (SELECT 1 FROM manifest m
                          WHERE m.tablename = g.tablename AND m.retry_ts IS NULL)
       ORDER BY g.oldest, g.tablename, g.tableversion
       LIMIT $3)sql";
    static constexpr std::string_view k_columns = "tablename, tableversion, files, " RSI_MICROS(
        "COALESCE(oldest, now() AT TIME ZONE 'UTC')") ", {}, oldest::text";
    std::vector<pg::Param> params{std::to_string(policy.count_trigger),
                                  ts(now - policy.age_trigger), std::to_string(k_candidate_batch)};
    std::string sql;
    if (after == nullptr) {
      sql = fmt::format(R"sql(
        WITH forced AS (
               SELECT g.tablename, g.tableversion, g.files, g.oldest
                 FROM force_load f JOIN pending_group g ON g.tablename = f.tablename
                WHERE f.started IS NULL
                  AND NOT EXISTS (SELECT 1 FROM manifest m
                                   WHERE m.tablename = g.tablename AND m.retry_ts IS NULL)),
             due AS ({})
        SELECT {} FROM forced UNION ALL SELECT {} FROM due)sql",
                        fmt::format(fmt::runtime(k_due), ""),
                        fmt::format(fmt::runtime(k_columns), "true"),
                        fmt::format(fmt::runtime(k_columns), "false"));
    } else {
      sql = fmt::format(
          "SELECT {} FROM ({}) due", fmt::format(fmt::runtime(k_columns), "false"),
          fmt::format(fmt::runtime(k_due),
                      "AND (g.oldest, g.tablename, g.tableversion) > ($4::timestamp, $5, $6)"));
      params.insert(params.end(), {after->oldest, after->table, std::to_string(after->version)});
    }
    RSI_TRY_ASSIGN(const auto rows, conn.exec(sql, params));
    CandidatePage page;
    page.groups.reserve(static_cast<std::size_t>(rows.size()));
    int due = 0;
    for (int row = 0; row < rows.size(); ++row) {
      page.groups.push_back({.table = rows.text(row, 0),
                             .version = static_cast<int>(rows.integer(row, 1)),
                             .count = rows.integer(row, 2),
                             .oldest = from_epoch_micros(rows.integer(row, 3)),
                             .forced = rows.boolean(row, 4)});
      if (!page.groups.back().forced && ++due == k_candidate_batch && !rows.is_null(row, 5)) {
        page.next = GroupKey{.oldest = rows.text(row, 5),
                             .oldest_time = page.groups.back().oldest,
                             .table = page.groups.back().table,
                             .version = page.groups.back().version};
      }
    }
    return page;
  }

  // The pages after the first, when nothing on it could load: up to k_further_pages per call,
  // from `first_next` or from where the previous call stopped (whichever is further), so that a
  // group behind many that cannot load is found within a few calls, at a bounded cost each.
  Result<std::optional<Batch>> search_further(pg::Connection& conn, const VersionMap& versions,
                                              const ClaimPolicy& policy, TimePoint now,
                                              const GroupKey& first_next,
                                              std::vector<TableVersion>& outdated) {
    std::optional<GroupKey> cursor = first_next;
    {
      const std::lock_guard lock(m_resume_mutex);
      if (m_resume && m_resume->after(*cursor)) {
        cursor = m_resume;
      }
    }
    for (int page_index = 0; cursor && page_index < k_further_pages; ++page_index) {
      RSI_TRY_ASSIGN(auto page, find_candidates(conn, policy, now, &*cursor));
      ClaimOrder order = order_candidates(std::move(page.groups), versions, policy, now);
      for (const auto& old : order.outdated) {
        if (std::find(outdated.begin(), outdated.end(), old) == outdated.end()) {
          outdated.push_back(old);
        }
      }
      for (const auto& group : order.loadable) {
        RSI_TRY_ASSIGN(auto batch, try_claim(conn, group, policy, now));
        if (batch) {
          const std::lock_guard lock(m_resume_mutex);
          m_resume = cursor; // This page may hold more.
          return batch;
        }
      }
      cursor = std::move(page.next);
    }
    const std::lock_guard lock(m_resume_mutex);
    m_resume = cursor; // nullopt at the end: the next call starts after the first page again.
    return std::optional<Batch>();
  }

  static Result<std::optional<Batch>> try_claim(pg::Connection& conn, const GroupCandidate& group,
                                                const ClaimPolicy& policy, TimePoint now) {
    RSI_TRY_ASSIGN(auto tx, pg::Transaction::begin(conn));
    RSI_TRY_ASSIGN(const bool locked, try_table_lock(tx, group.table));
    if (!locked) {
      return std::optional<Batch>(); // Another claimer is on this table right now.
    }
    // Under the table lock: nothing in flight for the table, then lock its files.
    const std::string limit = policy.max_files > 0 ? fmt::format("LIMIT {}", policy.max_files) : "";
    RSI_TRY_ASSIGN(const auto files, tx.exec(fmt::format(R"sql(
      WITH files AS (
        SELECT id, keyname, ts FROM tsv
         WHERE tablename = $1 AND tableversion = $2 AND manifest_uuid IS NULL
           AND NOT EXISTS (SELECT 1 FROM manifest WHERE tablename = $1 AND retry_ts IS NULL)
         ORDER BY ts, id {}
         FOR UPDATE SKIP LOCKED)
      SELECT id, keyname, )sql" RSI_MICROS("ts") R"sql(,
             EXISTS (SELECT 1 FROM force_load WHERE tablename = $1 AND started IS NULL)
        FROM files ORDER BY ts, id)sql",
                                                         limit),
                                             {group.table, std::to_string(group.version)}));
    if (files.empty()) {
      return std::optional<Batch>();
    }
    const GroupCandidate locked_group{.table = group.table,
                                      .version = group.version,
                                      .count = files.size(),
                                      .oldest = from_epoch_micros(files.integer(0, 2)),
                                      .forced = files.boolean(0, 3)};
    const bool full =
        policy.max_files > 0 && static_cast<std::size_t>(files.size()) == policy.max_files;
    if (!full && !is_eligible(locked_group, policy, now)) {
      return std::optional<Batch>(); // Someone claimed part of it since the search.
    }
    Batch batch{.manifest = new_uuid(),
                .table = group.table,
                .version = group.version,
                .oldest_file = locked_group.oldest,
                .forced = locked_group.forced};
    std::vector<std::int64_t> ids;
    ids.reserve(static_cast<std::size_t>(files.size()));
    batch.keys.reserve(static_cast<std::size_t>(files.size()));
    for (int row = 0; row < files.size(); ++row) {
      ids.push_back(files.integer(row, 0));
      batch.keys.push_back(files.text(row, 1));
    }
    RSI_TRY(tx.exec(R"sql(
      WITH batch AS (
             INSERT INTO manifest (uuid, tablename, tableversion, created_ts, lease_until, retry_count)
             VALUES ($1, $2, $3, $4, $5, 0)),
           started AS (
             UPDATE force_load SET started = $4 WHERE tablename = $2 AND started IS NULL AND $7)
      UPDATE tsv SET manifest_uuid = $1 WHERE id = ANY($6::bigint[]))sql",
                    {batch.manifest, batch.table, std::to_string(batch.version), ts(now),
                     ts(now + policy.lease), array_literal(ids), batch.forced ? "true" : "false"}));
    RSI_TRY(tx.commit());
    return std::optional<Batch>(std::move(batch));
  }

  // Retry (`requeue`) or drop the selected quarantined files, one transaction.
  Result<std::vector<QuarantineOutcome>> change_quarantined(const QuarantineSelection& selection,
                                                            const std::string& by, TimePoint now,
                                                            bool requeue) {
    return m_pool.run([&](pg::Connection& conn) -> Result<std::vector<QuarantineOutcome>> {
      RSI_TRY_ASSIGN(auto outcomes,
                     pg_quarantine::change(conn, selection, by, now,
                                           now - m_options.loaded_key_history, requeue));
      m_candidates.expire();
      return outcomes;
    });
  }

  Result<std::vector<Batch>> select_batches(const std::string& sql,
                                            const std::vector<pg::Param>& params) {
    return m_pool.run([&](pg::Connection& conn) -> Result<std::vector<Batch>> {
      RSI_TRY_ASSIGN(const auto rows, conn.exec(sql, params));
      std::vector<Batch> batches;
      for (int row = 0; row < rows.size(); ++row) {
        Batch batch = batch_from_row(rows, row);
        RSI_TRY_ASSIGN(batch.keys, batch_keys(conn, batch.manifest));
        batches.push_back(std::move(batch));
      }
      return batches;
    });
  }

  pg::Pool m_pool;
  StoreOptions m_options;
  CandidateCache m_candidates;
  std::mutex m_resume_mutex;
  std::optional<GroupKey> m_resume; // Where search_further looks next.
};

#undef RSI_MICROS

} // namespace

Result<std::unique_ptr<IngestDb>> make_postgres_ingest_db(const PostgresConfig& config) {
  auto store = std::make_unique<PostgresIngestDb>(config);
  if (auto migrated = store->migrate(); !migrated) {
    return fail(migrated.error().wrap("prepare ingester database"));
  }
  return std::unique_ptr<IngestDb>(std::move(store));
}

} // namespace rsi::ingestdb
