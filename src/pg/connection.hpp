#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/error.hpp"
#include "pg/handles.hpp"

namespace rsi::pg {

// A query parameter in text form; nullopt is SQL NULL.
using Param = std::optional<std::string>;

// The rows (or command status) of one statement. Values are text, as libpq returns them.
class Rows {
public:
  explicit Rows(ResultHandle result) : m_result(std::move(result)) {}

  [[nodiscard]] int size() const { return PQntuples(m_result.get()); }
  [[nodiscard]] bool empty() const { return size() == 0; }
  [[nodiscard]] bool is_null(int row, int column) const {
    return PQgetisnull(m_result.get(), row, column) != 0;
  }
  [[nodiscard]] std::string_view get(int row, int column) const;
  [[nodiscard]] std::string text(int row, int column) const {
    return std::string(get(row, column));
  }
  // The value as an integer; 0 for NULL. Only for columns the query made integral.
  [[nodiscard]] std::int64_t integer(int row, int column) const;
  [[nodiscard]] bool boolean(int row, int column) const { return get(row, column) == "t"; }
  // Rows affected by INSERT/UPDATE/DELETE.
  [[nodiscard]] std::int64_t affected() const;
  // The command tag ("COMMIT", "ROLLBACK", "INSERT 0 1").
  [[nodiscard]] std::string_view command_status() const { return PQcmdStatus(m_result.get()); }

private:
  ResultHandle m_result;
};

// SQLSTATE → what the caller should do (docs/architecture.md, "Errors").
ErrorKind classify_sqlstate(std::string_view sqlstate);

// A server error → what the caller should do: classify_sqlstate, except that SQLSTATE XX000,
// under which Redshift reports most of its own errors, is split by `message` (the error as libpq
// renders it, "ERROR:  …\nDETAIL:  …", or any part of it): Redshift's error 1023 (serializable
// isolation violation: a concurrent transaction won, retry) and the COPY failures Amazon S3 and
// Redshift document as passing (S3 InternalError and SlowDown, HTTP 500 and 503, a connection
// to S3 that timed out or closed mid-transfer) are transient; every other XX000 stays permanent.
// docs/warehouse.md, "Errors", lists the texts.
ErrorKind classify_server_error(std::string_view sqlstate, std::string_view message);

// One libpq connection. Move-only; not thread-safe (one per thread). After a transient
// error the owner should drop it and connect again (`healthy()` tells whether it broke).
class Connection {
public:
  // `conninfo` is a libpq URI (postgres://...) or key=value string. Adds a connect timeout,
  // TCP keepalives and an application name unless `conninfo` sets them.
  static Result<Connection> connect(const std::string& conninfo);
  // A connection object that never connects: only quote_identifier and quote_literal work on
  // it (libpq escaping with client encoding SQL_ASCII, so bytes pass through and only quotes
  // are doubled). For SQL text built without a server, such as golden tests of Redshift SQL.
  static Result<Connection> detached();

  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;
  ~Connection() = default;

  // One parameterised statement ($1, $2, ...). Parameters are always sent out of band. The
  // statement is prepared once per connection and reused (a bounded cache keyed by its text).
  [[nodiscard]] Result<Rows> exec(std::string_view sql, const std::vector<Param>& params = {});
  // Several statements without parameters (schema scripts); simple-query protocol.
  [[nodiscard]] Result<void> exec_script(std::string_view sql);

  // COPY ... FROM STDIN: start with `copy_in`, feed `put_copy_data`, finish with `end_copy`
  // (or `abort_copy` to make the statement fail). Over a Unix-domain socket, `copy_in` first
  // widens the send buffer (up to 4 MiB, as the kernel allows), so that the server is not left
  // waiting while the next rows are converted.
  [[nodiscard]] Result<void> copy_in(std::string_view sql);
  [[nodiscard]] Result<void> put_copy_data(std::string_view data);
  [[nodiscard]] Result<std::int64_t> end_copy();
  [[nodiscard]] Result<void> abort_copy(std::string_view reason);

  // A quoted identifier made by libpq (PQescapeIdentifier); never build one by hand.
  [[nodiscard]] Result<std::string> quote_identifier(std::string_view name) const;
  // A quoted string literal made by libpq (PQescapeLiteral), for statements that cannot take
  // parameters (DDL defaults, COPY options).
  [[nodiscard]] Result<std::string> quote_literal(std::string_view value) const;

  [[nodiscard]] bool healthy() const { return m_conn && PQstatus(m_conn.get()) == CONNECTION_OK; }

  // The SQLSTATE of the last statement that failed on the server ("" when none has, or the last
  // failure had none), e.g. "22P02" for a value COPY could not take.
  [[nodiscard]] const std::string& last_sqlstate() const { return m_last_sqlstate; }
  [[nodiscard]] PGconn* raw() const { return m_conn.get(); }

private:
  explicit Connection(ConnHandle conn) : m_conn(std::move(conn)) {}
  [[nodiscard]] Result<Rows> check(ResultHandle result, std::string_view sql);
  // The name of `sql` prepared on this connection, preparing it first; nullopt when the
  // cache is full (the statement then runs unprepared).
  [[nodiscard]] Result<std::optional<std::string>> prepared(const std::string& sql,
                                                            int param_count);

  ConnHandle m_conn;
  std::unordered_map<std::string, std::string> m_prepared; // SQL text → statement name.
  std::string m_last_sqlstate;
};

// The first line of a statement, shortened, for error messages.
std::string summarize(std::string_view sql);

} // namespace rsi::pg
