#include "pg/transaction.hpp"

#include "common/log.hpp"

namespace rsi::pg {

Result<Transaction> Transaction::begin(Connection& conn, std::string_view begin_sql) {
  RSI_TRY(conn.exec(begin_sql));
  return Transaction(conn);
}

Transaction::~Transaction() {
  if (m_conn == nullptr || !m_conn->healthy()) {
    return;
  }
  if (auto rolled_back = m_conn->exec("ROLLBACK"); !rolled_back) {
    log::warn("rollback failed", {{"error", rolled_back.error().message}});
  }
}

Result<Rows> Transaction::exec(std::string_view sql, const std::vector<Param>& params) {
  return m_conn->exec(sql, params);
}

Result<void> Transaction::commit() {
  // A failed COMMIT also ends the transaction, so there is nothing left to roll back.
  Connection* conn = std::exchange(m_conn, nullptr);
  RSI_TRY_ASSIGN(const Rows status, conn->exec("COMMIT"));
  // COMMIT of a transaction that already failed answers ROLLBACK, not an error.
  if (status.command_status() != "COMMIT") {
    return fail(ErrorKind::transient, "COMMIT: the transaction was rolled back");
  }
  return {};
}

} // namespace rsi::pg
