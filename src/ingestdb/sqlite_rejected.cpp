#include "ingestdb/sqlite_rejected.hpp"

#include <fmt/format.h>

#include "common/utf8.hpp"

namespace rsi::ingestdb::sqlite_rejected {
namespace {

// Empty text as NULL ("not known").
std::optional<std::string> text_or_null(const std::string& text) {
  return text.empty() ? std::nullopt : std::optional<std::string>(replace_invalid_utf8(text));
}

} // namespace

Result<void> insert(sqlite::Database& db, const RejectedMessage& message) {
  RSI_TRY_ASSIGN(auto* insert,
                 db.cached("INSERT INTO rejected_message (message_id, reason, body, received_at, "
                           "kind, tablename) VALUES (?, ?, ?, ?, ?, ?)"));
  insert->bind(1, replace_invalid_utf8(message.message_id))
      .bind(2, replace_invalid_utf8(message.reason));
  insert->bind_blob(3, message.body).bind(4, to_epoch_micros(message.received_at));
  insert->bind(5, text_or_null(message.kind)).bind(6, text_or_null(message.table));
  RSI_TRY(insert->run());
  return {};
}

Result<std::vector<StoredRejection>> list(sqlite::Database& db,
                                          const RejectedSelection& selection) {
  // ?1 ids as a JSON array (NULL: any), ?2 kind, ?3 table, ?4 after id, ?5 limit, ?6 body bytes
  // (NULL: whole).
  RSI_TRY_ASSIGN(
      auto* query,
      db.cached(fmt::format(
          "SELECT id, message_id, reason, CASE WHEN ?6 IS NULL THEN body ELSE substr(body, 1, ?6) "
          "END, received_at, COALESCE(kind, ''), COALESCE(tablename, ''), length(body) "
          "FROM rejected_message WHERE (?1 IS NULL OR id IN (SELECT value FROM json_each(?1))) "
          "AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR tablename = ?3) AND id > ?4 "
          "ORDER BY id {} LIMIT ?5",
          selection.oldest_first ? "ASC" : "DESC")));
  query->bind(1, selection.ids.empty() ? std::optional<std::string>()
                                       : std::optional<std::string>(
                                             fmt::format("[{}]", fmt::join(selection.ids, ","))));
  query->bind(2, selection.kind).bind(3, selection.table).bind(4, selection.after_id);
  query->bind(5, static_cast<std::int64_t>(selection.limit));
  query->bind(6,
              selection.max_body_bytes > 0
                  ? std::optional<std::int64_t>(static_cast<std::int64_t>(selection.max_body_bytes))
                  : std::nullopt);
  std::vector<StoredRejection> rejections;
  while (true) {
    RSI_TRY_ASSIGN(const bool row, query->step());
    if (!row) {
      break;
    }
    const auto* blob = static_cast<const char*>(sqlite3_column_blob(query->raw(), 3));
    const auto blob_size = static_cast<std::size_t>(sqlite3_column_bytes(query->raw(), 3));
    rejections.push_back(
        {.id = query->integer(0),
         .message = {.message_id = std::string(query->text(1)),
                     .reason = std::string(query->text(2)),
                     .body = blob == nullptr ? std::string() : std::string(blob, blob_size),
                     .received_at = from_epoch_micros(query->integer(4)),
                     .kind = std::string(query->text(5)),
                     .table = std::string(query->text(6))},
         .body_bytes = query->integer(7)});
  }
  query->reset();
  return rejections;
}

Result<std::vector<RejectedCount>> counts(sqlite::Database& db, std::size_t limit) {
  RSI_TRY_ASSIGN(auto* query, db.cached("SELECT COALESCE(kind, ''), COALESCE(tablename, ''), "
                                        "count(*) FROM rejected_message GROUP BY 1, 2 "
                                        "ORDER BY 3 DESC, 1, 2 LIMIT ?"));
  query->bind(1, static_cast<std::int64_t>(limit));
  std::vector<RejectedCount> groups;
  while (true) {
    RSI_TRY_ASSIGN(const bool row, query->step());
    if (!row) {
      break;
    }
    groups.push_back({.kind = std::string(query->text(0)),
                      .table = std::string(query->text(1)),
                      .messages = query->integer(2)});
  }
  query->reset();
  return groups;
}

Result<std::int64_t> count_since(sqlite::Database& db, TimePoint since) {
  RSI_TRY_ASSIGN(auto* query,
                 db.cached("SELECT count(*) FROM rejected_message WHERE received_at >= ?"));
  RSI_TRY(query->bind(1, to_epoch_micros(since)).step());
  const std::int64_t count = query->integer(0);
  query->reset();
  return count;
}

Result<bool> remove(sqlite::Database& db, std::int64_t id) {
  RSI_TRY_ASSIGN(auto* remove, db.cached("DELETE FROM rejected_message WHERE id = ?"));
  RSI_TRY_ASSIGN(const auto changed, remove->bind(1, id).run());
  return changed == 1;
}

Result<bool> update(sqlite::Database& db, std::int64_t id, const std::string& reason,
                    const std::string& kind, const std::string& table) {
  RSI_TRY_ASSIGN(auto* update, db.cached("UPDATE rejected_message SET reason = ?, kind = ?, "
                                         "tablename = ? WHERE id = ?"));
  update->bind(1, replace_invalid_utf8(reason)).bind(2, text_or_null(kind));
  update->bind(3, text_or_null(table)).bind(4, id);
  RSI_TRY_ASSIGN(const auto changed, update->run());
  return changed == 1;
}

} // namespace rsi::ingestdb::sqlite_rejected
