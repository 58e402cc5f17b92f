#pragma once

// Every PostgreSQL advisory lock this project takes, in one place, so that no two concerns ever
// share one (an ingester database and a warehouse may live in one database). Each is the first
// key of the two-key form (the second key names what is locked), or a one-key lock: the two
// forms never conflict with each other. The values spell "RSI" and a digit.
namespace rsi::pg::advisory {

// One-key: applying the ingester database's schema migrations, one process at a time.
inline constexpr int k_ingester_migrations = 0x52534930; // "RSI0"
// Two-key, second key hashtext(schema || '.' || table), transaction-level: claiming a batch of
// that table.
inline constexpr int k_claim = 0x52534931; // "RSI1"
// Two-key, second key hashtext(current_schema()), session-level: running the migrator.
inline constexpr int k_migrator = 0x52534932; // "RSI2"
// One-key, transaction-level: creating a PostgreSQL warehouse's schemas and infra tables.
inline constexpr int k_warehouse_bootstrap = 0x52534933; // "RSI3"
// Two-key, second key hashtext(manifest uuid), transaction-level: a load of that batch runs
// (check_load tells "in progress" by it).
inline constexpr int k_load = 0x52534934; // "RSI4"
// Two-key, second key hashtext(current_schema()), transaction-level: folding the ingester
// database's pending_delta into pending_group (rsi_fold_pending(), written in SQL by
// src/ingestdb/sql/postgres/008_pending_summary.sql as 1381189941).
inline constexpr int k_fold_pending = 0x52534935; // "RSI5"

} // namespace rsi::pg::advisory
