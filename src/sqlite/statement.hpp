#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "sqlite/handles.hpp"

namespace rsi::sqlite {

// rc → what the caller should do: busy/locked/IO are transient, constraints are conflicts.
ErrorKind classify_rc(int rc);

// A prepared statement. Bind (1-based), step until it returns false, reset to reuse.
class Statement {
public:
  Statement(StmtHandle stmt, sqlite3* db) : m_stmt(std::move(stmt)), m_db(db) {}

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, const std::string& text) {
    return bind(index, std::string_view(text));
  }
  // `text` without a copy: it must stay valid and unchanged until the statement is reset or
  // bound again (a row's values bound, stepped, reset). Spares a copy per value in bulk inserts.
  Statement& bind_unowned(int index, std::string_view text);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);
  template <class T> Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  // true: a row is available; false: done. Errors carry the statement's first line.
  [[nodiscard]] Result<bool> step();
  // Run to completion, ignoring rows; returns sqlite3_changes().
  [[nodiscard]] Result<std::int64_t> run();
  void reset();

  [[nodiscard]] bool is_null(int column) const {
    return sqlite3_column_type(m_stmt.get(), column) == SQLITE_NULL;
  }
  [[nodiscard]] std::int64_t integer(int column) const {
    return sqlite3_column_int64(m_stmt.get(), column);
  }
  [[nodiscard]] double real(int column) const {
    return sqlite3_column_double(m_stmt.get(), column);
  }
  [[nodiscard]] std::string_view text(int column) const;
  [[nodiscard]] sqlite3_stmt* raw() const { return m_stmt.get(); }

private:
  StmtHandle m_stmt;
  sqlite3* m_db = nullptr;
  int m_bind_rc = SQLITE_OK; // First bind failure, reported by step().
};

} // namespace rsi::sqlite
