#include "ingestdb/postgres_rejected.hpp"

#include <fmt/format.h>

#include "common/utf8.hpp"

namespace rsi::ingestdb::pg_rejected {
namespace {

std::string bytea_hex(std::string_view bytes) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (const char byte : bytes) {
    const auto value = static_cast<unsigned char>(byte);
    out.push_back(k_digits[value >> 4U]);
    out.push_back(k_digits[value & 0x0FU]);
  }
  return out;
}

std::string from_bytea_hex(std::string_view text) {
  std::string out;
  if (!text.starts_with("\\x")) {
    return std::string(text);
  }
  text.remove_prefix(2);
  out.reserve(text.size() / 2);
  auto nibble = [](char digit) { return digit <= '9' ? digit - '0' : (digit | 0x20) - 'a' + 10; };
  for (std::size_t index = 0; index + 1 < text.size(); index += 2) {
    out.push_back(static_cast<char>((nibble(text[index]) << 4) | nibble(text[index + 1])));
  }
  return out;
}

// Empty text as NULL ("not known").
pg::Param text_or_null(const std::string& text) {
  return text.empty() ? pg::Param() : pg::Param(replace_invalid_utf8(text));
}

pg::Param optional_param(const std::optional<std::string>& value) {
  return value ? pg::Param(*value) : pg::Param();
}

} // namespace

Result<void> insert(pg::Connection& conn, const RejectedMessage& message) {
  RSI_TRY(conn.exec("INSERT INTO rejected_message (message_id, reason, body, received_at, kind, "
                    "tablename) VALUES ($1, $2, $3::bytea, $4, $5, $6)",
                    {replace_invalid_utf8(message.message_id), replace_invalid_utf8(message.reason),
                     bytea_hex(message.body), to_sql_timestamp(message.received_at),
                     text_or_null(message.kind), text_or_null(message.table)}));
  return {};
}

Result<std::vector<StoredRejection>> list(pg::Connection& conn,
                                          const RejectedSelection& selection) {
  // $1 ids ('{}': any), $2 kind, $3 table, $4 after id, $5 limit, $6 body bytes (NULL: whole).
  const auto sql = fmt::format(
      "SELECT id, message_id, reason, COALESCE(substring(body FROM 1 FOR $6::int), body), "
      "(EXTRACT(EPOCH FROM received_at) * 1000000)::bigint, COALESCE(kind, ''), "
      "COALESCE(tablename, ''), length(body) FROM rejected_message "
      "WHERE ($1::bigint[] = '{{}}' OR id = ANY($1::bigint[])) "
      "AND ($2::varchar IS NULL OR kind = $2) AND ($3::varchar IS NULL OR tablename = $3) "
      "AND id > $4 ORDER BY id {} LIMIT $5",
      selection.oldest_first ? "ASC" : "DESC");
  RSI_TRY_ASSIGN(
      const auto rows,
      conn.exec(sql,
                {fmt::format("{{{}}}", fmt::join(selection.ids, ",")),
                 optional_param(selection.kind), optional_param(selection.table),
                 std::to_string(selection.after_id), std::to_string(selection.limit),
                 selection.max_body_bytes > 0 ? pg::Param(std::to_string(selection.max_body_bytes))
                                              : pg::Param()}));
  std::vector<StoredRejection> rejections;
  rejections.reserve(static_cast<std::size_t>(rows.size()));
  for (int row = 0; row < rows.size(); ++row) {
    rejections.push_back({.id = rows.integer(row, 0),
                          .message = {.message_id = rows.text(row, 1),
                                      .reason = rows.text(row, 2),
                                      .body = from_bytea_hex(rows.get(row, 3)),
                                      .received_at = from_epoch_micros(rows.integer(row, 4)),
                                      .kind = rows.text(row, 5),
                                      .table = rows.text(row, 6)},
                          .body_bytes = rows.integer(row, 7)});
  }
  return rejections;
}

Result<std::vector<RejectedCount>> counts(pg::Connection& conn, std::size_t limit) {
  RSI_TRY_ASSIGN(const auto rows,
                 conn.exec("SELECT COALESCE(kind, ''), COALESCE(tablename, ''), count(*) "
                           "FROM rejected_message GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT $1",
                           {std::to_string(limit)}));
  std::vector<RejectedCount> groups;
  for (int row = 0; row < rows.size(); ++row) {
    groups.push_back(
        {.kind = rows.text(row, 0), .table = rows.text(row, 1), .messages = rows.integer(row, 2)});
  }
  return groups;
}

Result<std::int64_t> count_since(pg::Connection& conn, TimePoint since) {
  RSI_TRY_ASSIGN(const auto rows,
                 conn.exec("SELECT count(*) FROM rejected_message WHERE received_at >= $1",
                           {to_sql_timestamp(since)}));
  return rows.integer(0, 0);
}

Result<bool> remove(pg::Connection& conn, std::int64_t id) {
  RSI_TRY_ASSIGN(const auto rows,
                 conn.exec("DELETE FROM rejected_message WHERE id = $1", {std::to_string(id)}));
  return rows.affected() == 1;
}

Result<bool> update(pg::Connection& conn, std::int64_t id, const std::string& reason,
                    const std::string& kind, const std::string& table) {
  RSI_TRY_ASSIGN(const auto rows,
                 conn.exec("UPDATE rejected_message SET reason = $2, kind = $3, tablename = $4 "
                           "WHERE id = $1",
                           {std::to_string(id), replace_invalid_utf8(reason), text_or_null(kind),
                            text_or_null(table)}));
  return rows.affected() == 1;
}

} // namespace rsi::ingestdb::pg_rejected
