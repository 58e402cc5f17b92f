#include "pg/connection.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include <sys/socket.h>

#include "common/log.hpp"

namespace rsi::pg {
namespace {

// What a COPY asks of a Unix-domain socket's send buffer (the kernel doubles it and caps the
// request at net.core.wmem_max, 208 KiB on a default Linux).
constexpr int k_copy_unix_send_buffer = 4 << 20;

// A Unix-domain socket's send buffer is all the data in flight to the server: its default
// (208 KiB) holds about a millisecond of the server's COPY work, so a client busy converting the
// next rows lets it run dry, and the two take turns instead of working at once (a load of one
// connection took 1.4 times as long as over TCP, whose buffers grow by themselves). TCP sockets
// are left alone: a fixed SO_SNDBUF would turn their autotuning off.
void widen_unix_send_buffer(int socket) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (socket < 0 || getsockname(socket, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      address.ss_family != AF_UNIX) {
    return;
  }
  int current = 0;
  socklen_t size = sizeof current;
  if (getsockopt(socket, SOL_SOCKET, SO_SNDBUF, &current, &size) == 0 &&
      current >= k_copy_unix_send_buffer) {
    return;
  }
  // Failure leaves the default: slower, not wrong.
  (void)setsockopt(socket, SOL_SOCKET, SO_SNDBUF, &k_copy_unix_send_buffer,
                   sizeof k_copy_unix_send_buffer);
}

void drop_notice(void* /*arg*/, const char* message) {
  // Notices ("relation already exists, skipping") are expected during migrations.
  if (log::enabled(log::Level::debug)) {
    log::debug("postgres notice", {{"notice", message}});
  }
}

std::string trim_trailing_newline(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

} // namespace

std::string_view Rows::get(int row, int column) const {
  const char* value = PQgetvalue(m_result.get(), row, column);
  const int length = PQgetlength(m_result.get(), row, column);
  return {value, static_cast<std::size_t>(length)};
}

std::int64_t Rows::integer(int row, int column) const {
  const std::string_view text = get(row, column);
  std::int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

std::int64_t Rows::affected() const {
  const char* tuples = PQcmdTuples(m_result.get());
  return tuples == nullptr ? 0 : std::atoll(tuples);
}

ErrorKind classify_sqlstate(std::string_view sqlstate) {
  if (sqlstate == "23505") { // unique_violation
    return ErrorKind::conflict;
  }
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03") {
    return ErrorKind::transient; // serialization failure, deadlock, lock not available
  }
  if (sqlstate.starts_with("08") || sqlstate.starts_with("53") || sqlstate.starts_with("57") ||
      sqlstate.starts_with("58")) {
    return ErrorKind::transient; // connection, resources, operator intervention, system error
  }
  return ErrorKind::permanent;
}

namespace {

// Amazon S3's and Redshift's words for a COPY failure that a retry can get past, lowercase:
// S3's InternalError ("We encountered an internal error. Please try again.", HTTP 500: "retry
// the request") and SlowDown ("Please reduce your request rate.", HTTP 503), as Redshift's
// S3ServiceException quotes them ("…,Status 503,Error SlowDown,…"), and the network failures
// STL_S3CLIENT_ERROR records ("Connection timed out", "transfer closed with N bytes remaining").
constexpr std::array<std::string_view, 9> k_transient_copy_markers = {
    "error internalerror",
    "we encountered an internal error",
    "status 500,",
    "error slowdown",
    "please reduce your request rate",
    "status 503,",
    "error serviceunavailable",
    "connection timed out",
    "transfer closed with"};

// Whether a line of `lowered` is Redshift's error 1023 ("ERROR:  1023", "ERROR:1023 DETAIL: …",
// "1023", "code: 1023"), or the message says what 1023 is.
bool is_serializable_isolation_violation(std::string_view lowered) {
  if (lowered.find("serializable isolation violation") != std::string_view::npos) {
    return true;
  }
  std::size_t start = 0;
  while (start <= lowered.size()) {
    const std::size_t end = std::min(lowered.find('\n', start), lowered.size());
    std::string_view line = lowered.substr(start, end - start);
    const auto skip_blanks = [&line] {
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
        line.remove_prefix(1);
      }
    };
    skip_blanks();
    // "ERROR:  1023" as libpq renders it, or "code:  1023" in the error block Redshift puts in
    // DETAIL.
    for (const std::string_view label : {"error:", "code:"}) {
      if (line.starts_with(label)) {
        line.remove_prefix(label.size());
        skip_blanks();
      }
    }
    if (line.starts_with("1023") &&
        (line.size() == 4 || std::isdigit(static_cast<unsigned char>(line[4])) == 0)) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

} // namespace

ErrorKind classify_server_error(std::string_view sqlstate, std::string_view message) {
  if (sqlstate != "XX000") {
    return classify_sqlstate(sqlstate);
  }
  std::string lowered(message);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(), [](char ch) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  });
  if (is_serializable_isolation_violation(lowered)) {
    return ErrorKind::transient;
  }
  const bool passing = std::any_of(
      k_transient_copy_markers.begin(), k_transient_copy_markers.end(),
      [&](std::string_view marker) { return lowered.find(marker) != std::string::npos; });
  return passing ? ErrorKind::transient : ErrorKind::permanent;
}

std::string summarize(std::string_view sql) {
  std::size_t start = sql.find_first_not_of(" \n\t");
  if (start == std::string_view::npos) {
    return {};
  }
  sql.remove_prefix(start);
  std::string line(sql.substr(0, sql.find('\n')));
  constexpr std::size_t k_max_length = 80;
  if (line.size() > k_max_length) {
    line.resize(k_max_length);
    line += "...";
  }
  return line;
}

Result<Connection> Connection::connect(const std::string& conninfo) {
  // Defaults first: the expanded `dbname` (the caller's conninfo) overrides them.
  const char* keywords[] = {"connect_timeout", "application_name", "keepalives",
                            "keepalives_idle", "dbname",           nullptr};
  const char* values[] = {"10", "rs_ingester", "1", "30", conninfo.c_str(), nullptr};
  ConnHandle conn(PQconnectdbParams(keywords, values, 1));
  if (!conn) {
    return fail(ErrorKind::transient, "connect to postgres: out of memory");
  }
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return fail(
        ErrorKind::transient,
        fmt::format("connect to postgres: {}", trim_trailing_newline(PQerrorMessage(conn.get()))));
  }
  PQsetNoticeProcessor(conn.get(), &drop_notice, nullptr);
  return Connection(std::move(conn));
}

Result<Connection> Connection::detached() {
  // An invalid option value makes libpq give up before opening a socket, but it still hands
  // back a PGconn, which is all the escaping functions need.
  const char* keywords[] = {"sslmode", nullptr};
  const char* values[] = {"rsi-detached", nullptr};
  ConnHandle conn(PQconnectStartParams(keywords, values, 0));
  if (!conn) {
    return fail(ErrorKind::transient, "detached postgres connection: out of memory");
  }
  return Connection(std::move(conn));
}

Result<Rows> Connection::check(ResultHandle result, std::string_view sql) {
  m_last_sqlstate.clear();
  if (!result) {
    return fail(
        ErrorKind::transient,
        fmt::format("{}: {}", summarize(sql), trim_trailing_newline(PQerrorMessage(m_conn.get()))));
  }
  switch (PQresultStatus(result.get())) {
  case PGRES_COMMAND_OK:
  case PGRES_TUPLES_OK:
  case PGRES_COPY_IN:
    return Rows(std::move(result));
  default: {
    const char* sqlstate = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
    m_last_sqlstate = sqlstate != nullptr ? sqlstate : "";
    // No SQLSTATE: the failure happened client-side, e.g. the socket broke.
    const std::string message = trim_trailing_newline(PQresultErrorMessage(result.get()));
    const ErrorKind kind =
        sqlstate != nullptr ? classify_server_error(sqlstate, message) : ErrorKind::transient;
    return fail(kind, fmt::format("{}: {}", summarize(sql), message));
  }
  }
}

Result<std::optional<std::string>> Connection::prepared(const std::string& sql, int param_count) {
  constexpr std::size_t k_max_prepared = 256;
  if (const auto found = m_prepared.find(sql); found != m_prepared.end()) {
    return std::optional<std::string>(found->second);
  }
  if (m_prepared.size() >= k_max_prepared) {
    return std::optional<std::string>();
  }
  std::string name = fmt::format("rsi_{}", m_prepared.size());
  ResultHandle result(PQprepare(m_conn.get(), name.c_str(), sql.c_str(), param_count, nullptr));
  RSI_TRY(check(std::move(result), sql));
  m_prepared.emplace(sql, name);
  return std::optional<std::string>(std::move(name));
}

Result<Rows> Connection::exec(std::string_view sql, const std::vector<Param>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& param : params) {
    values.push_back(param ? param->c_str() : nullptr);
  }
  const std::string statement(sql); // libpq wants a NUL-terminated string.
  const int count = static_cast<int>(values.size());
  if (params.empty()) {
    // Transaction control and one-off statements: nothing to gain from preparing.
    ResultHandle result(
        PQexecParams(m_conn.get(), statement.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0));
    return check(std::move(result), sql);
  }
  RSI_TRY_ASSIGN(const auto name, prepared(statement, count));
  ResultHandle result(
      name ? PQexecPrepared(m_conn.get(), name->c_str(), count, values.data(), nullptr, nullptr, 0)
           : PQexecParams(m_conn.get(), statement.c_str(), count, nullptr, values.data(), nullptr,
                          nullptr, 0));
  return check(std::move(result), sql);
}

Result<void> Connection::exec_script(std::string_view sql) {
  const std::string statement(sql);
  ResultHandle result(PQexec(m_conn.get(), statement.c_str()));
  RSI_TRY(check(std::move(result), sql));
  return {};
}

Result<void> Connection::copy_in(std::string_view sql) {
  widen_unix_send_buffer(PQsocket(m_conn.get()));
  // The server answers COPY … FROM STDIN with PGRES_COPY_IN, which check() accepts.
  return exec_script(sql);
}

Result<void> Connection::put_copy_data(std::string_view data) {
  if (PQputCopyData(m_conn.get(), data.data(), static_cast<int>(data.size())) != 1) {
    return fail(ErrorKind::transient,
                fmt::format("COPY data: {}", trim_trailing_newline(PQerrorMessage(m_conn.get()))));
  }
  return {};
}

Result<std::int64_t> Connection::end_copy() {
  if (PQputCopyEnd(m_conn.get(), nullptr) != 1) {
    return fail(ErrorKind::transient,
                fmt::format("COPY end: {}", trim_trailing_newline(PQerrorMessage(m_conn.get()))));
  }
  ResultHandle result(PQgetResult(m_conn.get()));
  RSI_TRY_ASSIGN(const Rows rows, check(std::move(result), "COPY"));
  // Drain: libpq returns NULL after the last result of the command.
  while (ResultHandle extra{PQgetResult(m_conn.get())}) {
  }
  return rows.affected();
}

Result<void> Connection::abort_copy(std::string_view reason) {
  const std::string message(reason);
  PQputCopyEnd(m_conn.get(), message.c_str());
  while (ResultHandle extra{PQgetResult(m_conn.get())}) {
  }
  return {};
}

Result<std::string> Connection::quote_identifier(std::string_view name) const {
  char* quoted = PQescapeIdentifier(m_conn.get(), name.data(), name.size());
  if (quoted == nullptr) {
    return fail(
        ErrorKind::permanent,
        fmt::format("quote identifier: {}", trim_trailing_newline(PQerrorMessage(m_conn.get()))));
  }
  std::string out(quoted);
  PQfreemem(quoted);
  return out;
}

Result<std::string> Connection::quote_literal(std::string_view value) const {
  char* quoted = PQescapeLiteral(m_conn.get(), value.data(), value.size());
  if (quoted == nullptr) {
    return fail(
        ErrorKind::permanent,
        fmt::format("quote literal: {}", trim_trailing_newline(PQerrorMessage(m_conn.get()))));
  }
  std::string out(quoted);
  PQfreemem(quoted);
  return out;
}

} // namespace rsi::pg
