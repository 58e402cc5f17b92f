#include "sqlite/statement.hpp"

#include <fmt/format.h>

namespace rsi::sqlite {

ErrorKind classify_rc(int rc) {
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
  case SQLITE_IOERR:
  case SQLITE_FULL:
  case SQLITE_PROTOCOL:
    return ErrorKind::transient;
  case SQLITE_CONSTRAINT:
    return ErrorKind::conflict;
  default:
    return ErrorKind::permanent;
  }
}

Statement& Statement::bind(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(m_stmt.get(), index, value);
  if (m_bind_rc == SQLITE_OK) {
    m_bind_rc = rc;
  }
  return *this;
}

Statement& Statement::bind(int index, double value) {
  const int rc = sqlite3_bind_double(m_stmt.get(), index, value);
  if (m_bind_rc == SQLITE_OK) {
    m_bind_rc = rc;
  }
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  const int rc = sqlite3_bind_text64(m_stmt.get(), index, text.data(), text.size(),
                                     SQLITE_TRANSIENT, SQLITE_UTF8);
  if (m_bind_rc == SQLITE_OK) {
    m_bind_rc = rc;
  }
  return *this;
}

Statement& Statement::bind_unowned(int index, std::string_view text) {
  const int rc = sqlite3_bind_text64(m_stmt.get(), index, text.data(), text.size(), SQLITE_STATIC,
                                     SQLITE_UTF8);
  if (m_bind_rc == SQLITE_OK) {
    m_bind_rc = rc;
  }
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  const int rc =
      sqlite3_bind_blob64(m_stmt.get(), index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  if (m_bind_rc == SQLITE_OK) {
    m_bind_rc = rc;
  }
  return *this;
}

Statement& Statement::bind_null(int index) {
  const int rc = sqlite3_bind_null(m_stmt.get(), index);
  if (m_bind_rc == SQLITE_OK) {
    m_bind_rc = rc;
  }
  return *this;
}

Result<bool> Statement::step() {
  if (m_bind_rc != SQLITE_OK) {
    const int rc = std::exchange(m_bind_rc, SQLITE_OK);
    return fail(classify_rc(rc), fmt::format("bind parameters of {}: {}", sqlite3_sql(m_stmt.get()),
                                             sqlite3_errstr(rc)));
  }
  const int rc = sqlite3_step(m_stmt.get());
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  std::string sql = sqlite3_sql(m_stmt.get());
  sql = sql.substr(0, std::min<std::size_t>(sql.find('\n'), 80));
  return fail(classify_rc(rc), fmt::format("{}: {}", sql, sqlite3_errmsg(m_db)));
}

Result<std::int64_t> Statement::run() {
  while (true) {
    RSI_TRY_ASSIGN(const bool row, step());
    if (!row) {
      break;
    }
  }
  return static_cast<std::int64_t>(sqlite3_changes64(m_db));
}

void Statement::reset() {
  sqlite3_reset(m_stmt.get());
  sqlite3_clear_bindings(m_stmt.get());
  m_bind_rc = SQLITE_OK;
}

std::string_view Statement::text(int column) const {
  const auto* bytes = sqlite3_column_text(m_stmt.get(), column);
  const int length = sqlite3_column_bytes(m_stmt.get(), column);
  if (bytes == nullptr) {
    return {};
  }
  return {reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(length)};
}

} // namespace rsi::sqlite
