#pragma once

// The CPU a local PostgreSQL server spends, read from /proc: what a benchmark adds to its
// client's CPU to price a load whole (bench/scale, bench/warehouse).

#include <map>
#include <string>
#include <utility>

namespace rsi::bench {

// CPU seconds (user + system) the PostgreSQL server whose data directory is RSI_TEST_PG_DATA
// spent, by kind of process. Backends are told apart by the database they serve; processes that
// ended between two snapshots (an autovacuum worker that finished, a backend that disconnected)
// count through the postmaster's reaped children.
struct ServerCpu {
  double ingest = 0;     // Backends of the ingester database (any database but the warehouse).
  double warehouse = 0;  // Backends of the warehouse database.
  double autovacuum = 0; // Autovacuum workers, children that ended, vacuum_schema().
  double background = 0; // The postmaster, checkpointer, writers, launchers.

  [[nodiscard]] double total() const { return ingest + warehouse + autovacuum + background; }
};

// Every process of the server now: pid -> (kind, CPU seconds), and its reaped children's CPU.
// Empty when RSI_TEST_PG_DATA is not set or not readable.
struct ServerSnapshot {
  enum Kind { ingest, warehouse, autovacuum, background };
  std::map<long, std::pair<Kind, double>> processes;
  double reaped = 0;
};
// `warehouse_db`: the name of the warehouse database.
ServerSnapshot postgres_server_snapshot(const std::string& warehouse_db);
// What the server spent from `before` to `after`; a process that is new counts from zero.
ServerCpu server_cpu_between(const ServerSnapshot& before, const ServerSnapshot& after);

// User + system CPU seconds process `pid` has spent; 0 when it cannot be read.
double process_cpu_seconds(long pid);

} // namespace rsi::bench
