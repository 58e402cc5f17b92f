#include "sqlite/database.hpp"

#include <fmt/format.h>

#include "common/log.hpp"

namespace rsi::sqlite {
namespace {

using MprintfHandle = CHandle<char, &sqlite3_free>;

} // namespace

Result<Database> Database::open(const std::filesystem::path& path,
                                std::chrono::milliseconds busy_timeout) {
  // SQLite counts every allocation under a global mutex for sqlite3_status(), which nothing
  // here reads: off, before the library initialises (later the call is refused, harmlessly).
  static const int k_no_memory_status = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)k_no_memory_status;
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbHandle db(raw); // Own it before checking `rc`: sqlite allocates a handle even on failure.
  if (rc != SQLITE_OK) {
    return fail(classify_rc(rc), fmt::format("open sqlite database {}: {}", path.string(),
                                             db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(db.get(), static_cast<int>(busy_timeout.count()));
  sqlite3_extended_result_codes(db.get(), 1);
  Database database(std::move(db));
  // synchronous=FULL: a commit is on disk before it returns, even in WAL mode (NORMAL may lose
  // the last commits on power loss). The embedded default commits a load to the warehouse file,
  // then its completion to the ingester file, and deletes a queue message after its pointer's
  // commit: each later step relies on the earlier one having survived, so a power cut can
  // leave a load whose completion is missing (the ledger resolves it at start), never a
  // completion whose load is missing, nor a deleted message whose pointer is missing.
  if (auto pragmas = database.exec_script("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                                          "PRAGMA foreign_keys=ON;");
      !pragmas) {
    return fail(pragmas.error().wrap(path.string()));
  }
  return database;
}

Database::~Database() {
  m_cache.clear(); // Finalize cached statements before the connection closes.
}

Result<void> Database::exec_script(std::string_view sql) {
  const std::string script(sql);
  char* raw_message = nullptr;
  const int rc = sqlite3_exec(m_db.get(), script.c_str(), nullptr, nullptr, &raw_message);
  MprintfHandle message(raw_message);
  if (rc != SQLITE_OK) {
    return fail(classify_rc(rc),
                fmt::format("sqlite script: {}", message ? message.get() : sqlite3_errstr(rc)));
  }
  return {};
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(m_db.get(), sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  StmtHandle stmt(raw);
  if (rc != SQLITE_OK) {
    return fail(classify_rc(rc),
                fmt::format("prepare {}: {}", sql.substr(0, 80), sqlite3_errmsg(m_db.get())));
  }
  return Statement(std::move(stmt), m_db.get());
}

Result<Statement*> Database::cached(std::string_view sql) {
  auto found = m_cache.find(sql);
  if (found == m_cache.end()) {
    RSI_TRY_ASSIGN(auto stmt, prepare(sql));
    found = m_cache.emplace(std::string(sql), std::make_unique<Statement>(std::move(stmt))).first;
  }
  found->second->reset();
  return found->second.get();
}

std::string Database::quote_identifier(std::string_view name) {
  const std::string text(name);
  MprintfHandle quoted(sqlite3_mprintf("\"%w\"", text.c_str()));
  return quoted ? std::string(quoted.get()) : std::string();
}

std::string Database::quote_literal(std::string_view value) {
  const std::string text(value);
  MprintfHandle quoted(sqlite3_mprintf("%Q", text.c_str()));
  return quoted ? std::string(quoted.get()) : std::string();
}

Result<Transaction> Transaction::begin(Database& db) {
  RSI_TRY(db.exec_script("BEGIN IMMEDIATE"));
  return Transaction(db);
}

Transaction::~Transaction() {
  if (m_db == nullptr) {
    return;
  }
  if (sqlite3_get_autocommit(m_db->raw()) != 0) {
    return; // sqlite already rolled back (e.g. after SQLITE_FULL).
  }
  if (auto rolled_back = m_db->exec_script("ROLLBACK"); !rolled_back) {
    log::warn("sqlite rollback failed", {{"error", rolled_back.error().message}});
  }
}

Result<void> Transaction::commit() {
  Database* db = std::exchange(m_db, nullptr);
  RSI_TRY(db->exec_script("COMMIT"));
  return {};
}

} // namespace rsi::sqlite
