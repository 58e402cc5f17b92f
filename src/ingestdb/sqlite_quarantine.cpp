#include "ingestdb/sqlite_quarantine.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "common/utf8.hpp"

namespace rsi::ingestdb::sqlite_quarantine {
namespace {

// The columns from_rows reads (times as microseconds since the epoch, as stored).
constexpr std::string_view k_columns =
    "id, tablename, tableversion, keyname, kind, error, COALESCE(line, 0), COALESCE(col, 0), "
    "received_ts, first_seen, last_seen, attempts";

// A positive number, or NULL for 0 (not known).
std::optional<std::int64_t> positive_or_null(std::int64_t value) {
  return value > 0 ? std::optional<std::int64_t>(value) : std::nullopt;
}

Result<std::vector<QuarantinedFile>> from_rows(sqlite::Statement& query) {
  std::vector<QuarantinedFile> files;
  while (true) {
    RSI_TRY_ASSIGN(const bool row, query.step());
    if (!row) {
      break;
    }
    files.push_back({.id = query.integer(0),
                     .table = std::string(query.text(1)),
                     .version = static_cast<int>(query.integer(2)),
                     .key = std::string(query.text(3)),
                     .kind = std::string(query.text(4)),
                     .error = std::string(query.text(5)),
                     .line = query.integer(6),
                     .column = static_cast<std::int32_t>(query.integer(7)),
                     .received_at = from_epoch_micros(query.integer(8)),
                     .first_seen = from_epoch_micros(query.integer(9)),
                     .last_seen = from_epoch_micros(query.integer(10)),
                     .attempts = static_cast<int>(query.integer(11))});
  }
  query.reset();
  return files;
}

// A quarantined file as a new pending file, unless its key is pending or loaded recently.
Result<QuarantineAction> requeue(sqlite::Database& db, const QuarantinedFile& file, TimePoint now,
                                 TimePoint loaded_since) {
  RSI_TRY_ASSIGN(const bool loaded, sqlite_quarantine::loaded_since(db, file.key, loaded_since));
  if (loaded) {
    return QuarantineAction::already_loaded;
  }
  RSI_TRY_ASSIGN(const bool inserted, insert_pending(db, file.table, file.key, file.version, now));
  return inserted ? QuarantineAction::requeued : QuarantineAction::already_pending;
}

} // namespace

Result<void> set_aside(sqlite::Database& db, const std::string& manifest,
                       const FileQuarantine& file, TimePoint now) {
  RSI_TRY_ASSIGN(auto* quarantine, db.cached(R"sql(
    INSERT INTO quarantined_file (tablename, tableversion, keyname, kind, error, line, col,
                                  received_ts, first_seen, last_seen, attempts, state)
    SELECT tablename, tableversion, keyname, ?3, ?4, ?5, ?6, ts, ?7, ?7, 1, 'quarantined'
      FROM tsv WHERE manifest_uuid = ?1 AND keyname = ?2
    ON CONFLICT (keyname) DO UPDATE
      SET tablename = excluded.tablename, tableversion = excluded.tableversion,
          kind = excluded.kind, error = excluded.error, line = excluded.line, col = excluded.col,
          received_ts = excluded.received_ts, last_seen = excluded.last_seen,
          attempts = quarantined_file.attempts + 1, state = 'quarantined', changed_by = NULL,
          changed_at = NULL)sql"));
  quarantine->bind(1, manifest).bind(2, file.key).bind(3, file.kind);
  quarantine->bind(4, replace_invalid_utf8(file.error));
  quarantine->bind(5, positive_or_null(file.line)).bind(6, positive_or_null(file.column));
  quarantine->bind(7, to_epoch_micros(now));
  RSI_TRY(quarantine->run());
  RSI_TRY_ASSIGN(auto* drop, db.cached("DELETE FROM tsv WHERE manifest_uuid = ? AND keyname = ?"));
  RSI_TRY(drop->bind(1, manifest).bind(2, file.key).run());
  return {};
}

Result<std::vector<QuarantinedFile>> list(sqlite::Database& db, std::size_t limit) {
  RSI_TRY_ASSIGN(auto* query, db.cached(fmt::format("SELECT {} FROM quarantined_file WHERE state = "
                                                    "'quarantined' ORDER BY first_seen, id LIMIT ?",
                                                    k_columns)));
  query->bind(1, static_cast<std::int64_t>(limit));
  return from_rows(*query);
}

Result<std::vector<QuarantineOutcome>> change(sqlite::Database& db,
                                              const QuarantineSelection& selection,
                                              const std::string& by, TimePoint now,
                                              TimePoint loaded_since, bool requeue_files) {
  RSI_TRY_ASSIGN(auto tx, sqlite::Transaction::begin(db));
  RSI_TRY_ASSIGN(auto* query,
                 db.cached(fmt::format("SELECT {} FROM quarantined_file WHERE state = "
                                       "'quarantined' AND (?1 IS NULL OR tablename = ?1) "
                                       "ORDER BY first_seen, id",
                                       k_columns)));
  query->bind(1, selection.table);
  RSI_TRY_ASSIGN(auto files, from_rows(*query));
  std::vector<QuarantineOutcome> outcomes;
  for (auto& file : files) {
    if (!selection.ids.empty() &&
        std::ranges::find(selection.ids, file.id) == selection.ids.end()) {
      continue;
    }
    QuarantineOutcome outcome{.file = std::move(file), .action = QuarantineAction::dropped};
    if (requeue_files) {
      RSI_TRY_ASSIGN(outcome.action, requeue(db, outcome.file, now, loaded_since));
    }
    RSI_TRY_ASSIGN(auto* update, db.cached("UPDATE quarantined_file SET state = ?, changed_by = ?, "
                                           "changed_at = ? WHERE id = ?"));
    RSI_TRY(update->bind(1, requeue_files ? "retried" : "dropped")
                .bind(2, by)
                .bind(3, to_epoch_micros(now))
                .bind(4, outcome.file.id)
                .run());
    outcomes.push_back(std::move(outcome));
  }
  RSI_TRY(tx.commit());
  return outcomes;
}

Result<std::vector<PendingStat>> stats(sqlite::Database& db) {
  RSI_TRY_ASSIGN(auto* query,
                 db.cached("SELECT tablename, count(*), min(first_seen) FROM quarantined_file "
                           "WHERE state = 'quarantined' GROUP BY tablename"));
  std::vector<PendingStat> stats;
  while (true) {
    RSI_TRY_ASSIGN(const bool row, query->step());
    if (!row) {
      break;
    }
    stats.push_back({.kind = PendingKind::quarantined,
                     .table = std::string(query->text(0)),
                     .count = query->integer(1),
                     .oldest = from_epoch_micros(query->integer(2))});
  }
  query->reset();
  return stats;
}

Result<bool> loaded_since(sqlite::Database& db, const std::string& key, TimePoint since) {
  RSI_TRY_ASSIGN(auto* recent,
                 db.cached("SELECT 1 FROM loaded_key WHERE keyname = ? AND loaded_at >= ?"));
  RSI_TRY_ASSIGN(const bool loaded, recent->bind(1, key).bind(2, to_epoch_micros(since)).step());
  recent->reset();
  return loaded;
}

Result<bool> insert_pending(sqlite::Database& db, const std::string& table, const std::string& key,
                            int version, TimePoint received) {
  RSI_TRY_ASSIGN(auto* insert, db.cached("INSERT INTO tsv (tablename, keyname, tableversion, ts) "
                                         "VALUES (?, ?, ?, ?) ON CONFLICT (keyname) DO NOTHING"));
  RSI_TRY_ASSIGN(const auto changed, insert->bind(1, table)
                                         .bind(2, key)
                                         .bind(3, version)
                                         .bind(4, to_epoch_micros(received))
                                         .run());
  return changed == 1;
}

} // namespace rsi::ingestdb::sqlite_quarantine
