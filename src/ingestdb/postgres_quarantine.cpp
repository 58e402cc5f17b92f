#include "ingestdb/postgres_quarantine.hpp"

#include <optional>

#include <fmt/format.h>

#include "common/utf8.hpp"
#include "ingestdb/postgres_work.hpp"

namespace rsi::ingestdb::pg_quarantine {
namespace {

// $1 manifest, $2 key, $3 kind, $4 error, $5 line, $6 column, $7 now.
constexpr std::string_view k_set_aside = R"sql(
  INSERT INTO quarantined_file (tablename, tableversion, keyname, kind, error, line, col,
                                received_ts, first_seen, last_seen, attempts, state)
  SELECT tablename, tableversion, keyname, $3, $4, $5, $6, ts, $7, $7, 1, 'quarantined'
    FROM tsv WHERE manifest_uuid = $1 AND keyname = $2
  ON CONFLICT (keyname) DO UPDATE
    SET tablename = excluded.tablename, tableversion = excluded.tableversion,
        kind = excluded.kind, error = excluded.error, line = excluded.line, col = excluded.col,
        received_ts = excluded.received_ts, last_seen = excluded.last_seen,
        attempts = quarantined_file.attempts + 1, state = 'quarantined', changed_by = NULL,
        changed_at = NULL)sql";

// The columns from_row reads, times as microseconds since the epoch.
constexpr std::string_view k_columns =
    "id, tablename, tableversion, keyname, kind, error, COALESCE(line, 0), COALESCE(col, 0), "
    "(EXTRACT(EPOCH FROM received_ts) * 1000000)::bigint, "
    "(EXTRACT(EPOCH FROM first_seen) * 1000000)::bigint, "
    "(EXTRACT(EPOCH FROM last_seen) * 1000000)::bigint, attempts";

QuarantinedFile from_row(const pg::Rows& rows, int row) {
  return {.id = rows.integer(row, 0),
          .table = rows.text(row, 1),
          .version = static_cast<int>(rows.integer(row, 2)),
          .key = rows.text(row, 3),
          .kind = rows.text(row, 4),
          .error = rows.text(row, 5),
          .line = rows.integer(row, 6),
          .column = static_cast<std::int32_t>(rows.integer(row, 7)),
          .received_at = from_epoch_micros(rows.integer(row, 8)),
          .first_seen = from_epoch_micros(rows.integer(row, 9)),
          .last_seen = from_epoch_micros(rows.integer(row, 10)),
          .attempts = static_cast<int>(rows.integer(row, 11))};
}

// A positive number as a parameter, or NULL for 0 (not known).
pg::Param positive_or_null(std::int64_t value) {
  return value > 0 ? pg::Param(std::to_string(value)) : pg::Param();
}

// A quarantined file as a new pending file, unless its key is pending or loaded recently.
Result<QuarantineAction> requeue(pg::Transaction& tx, const QuarantinedFile& file, TimePoint now,
                                 TimePoint loaded_since) {
  RSI_TRY_ASSIGN(
      const auto loaded,
      tx.exec("SELECT EXISTS (SELECT 1 FROM loaded_key WHERE keyname = $1 AND loaded_at >= $2)",
              {file.key, to_sql_timestamp(loaded_since)}));
  if (loaded.boolean(0, 0)) {
    return QuarantineAction::already_loaded;
  }
  RSI_TRY_ASSIGN(
      const auto inserted,
      tx.exec("INSERT INTO tsv (tablename, keyname, tableversion, ts) "
              "VALUES ($1, $2, $3, $4) ON CONFLICT (keyname) DO NOTHING",
              {file.table, file.key, std::to_string(file.version), to_sql_timestamp(now)}));
  return inserted.affected() == 1 ? QuarantineAction::requeued : QuarantineAction::already_pending;
}

} // namespace

Result<void> set_aside(pg::Transaction& tx, const std::string& manifest, const FileQuarantine& file,
                       TimePoint now) {
  RSI_TRY(tx.exec(k_set_aside, {manifest, file.key, file.kind, replace_invalid_utf8(file.error),
                                positive_or_null(file.line), positive_or_null(file.column),
                                to_sql_timestamp(now)}));
  RSI_TRY(
      tx.exec("DELETE FROM tsv WHERE manifest_uuid = $1 AND keyname = $2", {manifest, file.key}));
  return {};
}

Result<std::vector<QuarantinedFile>> list(pg::Connection& conn, std::size_t limit) {
  RSI_TRY_ASSIGN(const auto rows,
                 conn.exec(fmt::format("SELECT {} FROM quarantined_file WHERE state = "
                                       "'quarantined' ORDER BY first_seen, id LIMIT $1",
                                       k_columns),
                           {std::to_string(limit)}));
  std::vector<QuarantinedFile> files;
  for (int row = 0; row < rows.size(); ++row) {
    files.push_back(from_row(rows, row));
  }
  return files;
}

Result<std::vector<QuarantineOutcome>> change(pg::Connection& conn,
                                              const QuarantineSelection& selection,
                                              const std::string& by, TimePoint now,
                                              TimePoint loaded_since, bool requeue_files) {
  RSI_TRY_ASSIGN(auto tx, pg::Transaction::begin(conn));
  RSI_TRY_ASSIGN(const auto rows,
                 tx.exec(fmt::format("SELECT {} FROM quarantined_file WHERE state = 'quarantined' "
                                     "AND ($1::varchar IS NULL OR tablename = $1) "
                                     "AND ($2::bigint[] = '{{}}' OR id = ANY($2::bigint[])) "
                                     "ORDER BY first_seen, id FOR UPDATE",
                                     k_columns),
                         {selection.table, fmt::format("{{{}}}", fmt::join(selection.ids, ","))}));
  std::vector<QuarantineOutcome> outcomes;
  std::optional<std::string> requeued_table; // The table named by the one announcement.
  for (int row = 0; row < rows.size(); ++row) {
    QuarantineOutcome outcome{.file = from_row(rows, row), .action = QuarantineAction::dropped};
    if (requeue_files) {
      RSI_TRY_ASSIGN(outcome.action, requeue(tx, outcome.file, now, loaded_since));
      if (outcome.action == QuarantineAction::requeued && !requeued_table) {
        requeued_table = outcome.file.table;
      }
    }
    RSI_TRY(tx.exec("UPDATE quarantined_file SET state = $2, changed_by = $3, changed_at = $4 "
                    "WHERE id = $1",
                    {std::to_string(outcome.file.id), requeue_files ? "retried" : "dropped", by,
                     to_sql_timestamp(now)}));
    outcomes.push_back(std::move(outcome));
  }
  if (requeued_table) {
    // One announcement for the transaction, however many files and tables it requeued.
    RSI_TRY(pg_work::announce(tx, *requeued_table));
  }
  RSI_TRY(tx.commit());
  return outcomes;
}

Result<std::vector<PendingStat>> stats(pg::Connection& conn) {
  RSI_TRY_ASSIGN(const auto rows,
                 conn.exec("SELECT tablename, count(*), "
                           "(EXTRACT(EPOCH FROM min(first_seen)) * 1000000)::bigint "
                           "FROM quarantined_file WHERE state = 'quarantined' GROUP BY tablename"));
  std::vector<PendingStat> stats;
  for (int row = 0; row < rows.size(); ++row) {
    stats.push_back({.kind = PendingKind::quarantined,
                     .table = rows.text(row, 0),
                     .count = rows.integer(row, 1),
                     .oldest = from_epoch_micros(rows.integer(row, 2))});
  }
  return stats;
}

} // namespace rsi::ingestdb::pg_quarantine
