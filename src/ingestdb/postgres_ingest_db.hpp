#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "ingestdb/ingest_db.hpp"
#include "pg/advisory_locks.hpp"

namespace rsi::ingestdb {

struct PostgresConfig {
  std::string conninfo;            // libpq URI or key=value string (-databaseURL).
  std::size_t max_connections = 5; // -maxDBConnections.
  // How long one search for eligible groups serves further claims of this process.
  std::chrono::milliseconds candidate_ttl{1000};
  StoreOptions options;
};

// While a claimer picks the files of a table it holds the transaction-level advisory lock
// (k_claim_lock_class, hashtext(current_schema() || '.' || table)): one claimer per table of
// one ingester database at a time, and other schemas of the database are not held back.
inline constexpr int k_claim_lock_class = pg::advisory::k_claim;

// Every transaction that makes work due now (pointers recorded, a force load requested, a batch
// released, retried by an operator or put back by a split, quarantined files requeued) sends one
// NOTIFY on this channel before it commits; PostgreSQL delivers it on commit only. The payload
// names the table (at most 127 characters), or one of them: a hint for people watching, never
// trusted by the listener. The channel belongs to the database, not to a schema: ingester
// databases in several schemas of one database wake each other's loaders (a wasted look each
// time, nothing more).
inline constexpr std::string_view k_work_channel = "rsi_work";

// Listens on k_work_channel on a connection of its own until `stop`, calling `on_work` when
// notifications arrive (at most once per 100 ms however many arrive), and each time listening
// starts or starts again after the connection broke (reconnected with backoff; what was sent
// meanwhile is lost). Polls remain the fallback: a lost notification costs one poll.
void listen_for_work(const PostgresConfig& config, const std::function<void()>& on_work,
                     std::stop_token stop);

// Connects, applies pending schema migrations (serialised across processes) and returns
// the store. Fails `transient` when the server cannot be reached.
Result<std::unique_ptr<IngestDb>> make_postgres_ingest_db(const PostgresConfig& config);

} // namespace rsi::ingestdb
