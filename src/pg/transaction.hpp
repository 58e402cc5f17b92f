#pragma once

#include <string_view>
#include <utility>
#include <vector>

#include "pg/connection.hpp"

namespace rsi::pg {

// BEGIN on creation; ROLLBACK on destruction unless commit() ran (the libpqxx model).
// The destructor never throws: a failed rollback is logged and the connection is left
// for its owner to replace.
class Transaction {
public:
  // `begin_sql` lets callers pick an isolation level ("BEGIN ISOLATION LEVEL SERIALIZABLE").
  static Result<Transaction> begin(Connection& conn, std::string_view begin_sql = "BEGIN");

  Transaction(Transaction&& other) noexcept : m_conn(std::exchange(other.m_conn, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  [[nodiscard]] Result<Rows> exec(std::string_view sql, const std::vector<Param>& params = {});
  [[nodiscard]] Result<void> commit();
  [[nodiscard]] Connection& connection() { return *m_conn; }

private:
  explicit Transaction(Connection& conn) : m_conn(&conn) {}

  Connection* m_conn; // Null once committed, rolled back, or moved from.
};

} // namespace rsi::pg
