#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "common/error.hpp"
#include "sqlite/statement.hpp"

namespace rsi::sqlite {

// One sqlite3 connection in WAL mode with a busy timeout. Move-only; use one per thread.
class Database {
public:
  static Result<Database> open(const std::filesystem::path& path,
                               std::chrono::milliseconds busy_timeout = std::chrono::seconds(30));

  Database(Database&&) noexcept = default;
  Database& operator=(Database&&) noexcept = default;
  ~Database();

  // Several statements without parameters (schema scripts).
  [[nodiscard]] Result<void> exec_script(std::string_view sql);
  // A fresh prepared statement.
  [[nodiscard]] Result<Statement> prepare(std::string_view sql);
  // A prepared statement kept for reuse, reset and unbound; valid while the Database lives.
  [[nodiscard]] Result<Statement*> cached(std::string_view sql);

  // A quoted identifier made by sqlite ("%w"); never build one by hand.
  [[nodiscard]] static std::string quote_identifier(std::string_view name);
  [[nodiscard]] static std::string quote_literal(std::string_view value);

  [[nodiscard]] sqlite3* raw() const { return m_db.get(); }
  [[nodiscard]] std::int64_t last_insert_rowid() const {
    return sqlite3_last_insert_rowid(m_db.get());
  }

private:
  explicit Database(DbHandle db) : m_db(std::move(db)) {}

  // Declared before m_db's destruction matters: statements must be finalized first.
  std::map<std::string, std::unique_ptr<Statement>, std::less<>> m_cache;
  DbHandle m_db;
};

// BEGIN IMMEDIATE on creation (takes the write lock up front, so no upgrade deadlocks);
// ROLLBACK on destruction unless commit() ran.
class Transaction {
public:
  static Result<Transaction> begin(Database& db);

  Transaction(Transaction&& other) noexcept : m_db(std::exchange(other.m_db, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  [[nodiscard]] Result<void> commit();

private:
  explicit Transaction(Database& db) : m_db(&db) {}
  Database* m_db;
};

} // namespace rsi::sqlite
