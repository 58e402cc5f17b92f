// Work notifications of the PostgreSQL ingester database: the sending side for statements that
// run in a transaction of several statements (single statements carry their pg_notify in a CTE
// of their own, postgres_ingest_db.cpp), and the listening side for rsloadmanager.
#include "ingestdb/postgres_work.hpp"

#include <chrono>

#include "ingestdb/postgres_ingest_db.hpp"
#include "pg/listener.hpp"

namespace rsi::ingestdb {
namespace {

// However many files are recorded, the loaders are woken at most this often: each wake costs
// every idle worker one look (a few queries), and a busy metadatastorer records many files a
// second. The first notification after a quiet spell wakes them at once.
constexpr std::chrono::milliseconds k_min_wake_interval{100};

} // namespace

namespace pg_work {

Result<void> announce(pg::Transaction& tx, const std::string& table) {
  RSI_TRY(tx.exec("SELECT pg_notify($1, left($2, 127))", {std::string(k_work_channel), table}));
  return {};
}

} // namespace pg_work

void listen_for_work(const PostgresConfig& config, const std::function<void()>& on_work,
                     std::stop_token stop) {
  pg::listen_until_stopped(config.conninfo, k_work_channel, on_work, stop,
                           {.min_interval = k_min_wake_interval});
}

} // namespace rsi::ingestdb
