#include "original_claimer.hpp"

#include "common/uuid.hpp"
#include "pg/transaction.hpp"

namespace rsi::bench {
namespace {

Result<pg::Transaction> begin_locked(pg::Connection& conn) {
  RSI_TRY_ASSIGN(auto tx, pg::Transaction::begin(conn));
  RSI_TRY(tx.exec("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"));
  RSI_TRY(tx.exec("LOCK TABLE tsv, manifest, force_load"));
  return tx;
}

} // namespace

Result<std::optional<OriginalBatch>> OriginalClaimer::claim(const ingestdb::VersionMap& versions,
                                                            const ingestdb::ClaimPolicy& policy,
                                                            TimePoint now) {
  RSI_TRY_ASSIGN(auto tx, begin_locked(m_conn));
  OriginalBatch batch{.manifest = new_uuid()};
  RSI_TRY(tx.exec("INSERT INTO manifest (uuid) VALUES ($1)", {batch.manifest}));
  RSI_TRY_ASSIGN(const auto groups, tx.exec(R"sql(
    SELECT tablename, tableversion, force_load_id FROM
      (SELECT tsv.tablename, tableversion, min(tsv.ts) AS oldest,
              unstarted_force_load.id AS force_load_id, count(*) AS cnt
         FROM tsv LEFT JOIN (SELECT id, tablename FROM force_load WHERE force_load.started IS NULL)
              AS unstarted_force_load ON tsv.tablename = unstarted_force_load.tablename
        WHERE manifest_uuid IS NULL
        GROUP BY tsv.tablename, tableversion, force_load_id) a
     WHERE (cnt > $1 OR oldest < $2 OR force_load_id IS NOT NULL)
     ORDER BY force_load_id ASC, oldest ASC
     LIMIT 50)sql",
                                            {std::to_string(policy.count_trigger),
                                             to_sql_timestamp(now - policy.age_trigger)}));
  int chosen = -1;
  for (int row = 0; row < groups.size() && chosen < 0; ++row) {
    const auto current = versions.find(groups.get(row, 0));
    if (current != versions.end() && current->second == groups.integer(row, 1)) {
      chosen = row;
    }
  }
  if (chosen < 0) {
    return std::optional<OriginalBatch>(); // Rolled back by the destructor.
  }
  batch.table = groups.text(chosen, 0);
  RSI_TRY(tx.exec("UPDATE tsv SET manifest_uuid = $1 WHERE tablename = $2 AND tableversion = $3 "
                  "AND manifest_uuid IS NULL",
                  {batch.manifest, batch.table, groups.text(chosen, 1)}));
  if (!groups.is_null(chosen, 2)) {
    RSI_TRY(tx.exec("UPDATE force_load SET started = NOW() WHERE id = $1 AND started IS NULL",
                    {groups.text(chosen, 2)}));
  }
  RSI_TRY_ASSIGN(
      const auto files,
      tx.exec("SELECT keyname, tablename FROM tsv WHERE manifest_uuid = $1", {batch.manifest}));
  for (int row = 0; row < files.size(); ++row) {
    batch.keys.push_back(files.text(row, 0));
  }
  RSI_TRY(tx.commit());
  return std::optional<OriginalBatch>(std::move(batch));
}

Result<void> OriginalClaimer::complete(const OriginalBatch& batch, TimePoint now) {
  RSI_TRY_ASSIGN(auto tx, begin_locked(m_conn));
  RSI_TRY(tx.exec("DELETE FROM tsv WHERE manifest_uuid = $1", {batch.manifest}));
  RSI_TRY(tx.exec("DELETE FROM manifest WHERE uuid = $1", {batch.manifest}));
  RSI_TRY(tx.exec("DELETE FROM last_load WHERE tablename = $1", {batch.table}));
  RSI_TRY(tx.exec("INSERT INTO last_load (tablename, last_loaded) VALUES ($1, $2)",
                  {batch.table, to_sql_timestamp(now)}));
  RSI_TRY(tx.commit());
  return {};
}

} // namespace rsi::bench
