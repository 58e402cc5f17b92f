#pragma once

#include <chrono>
#include <functional>
#include <set>
#include <stop_token>
#include <string>
#include <utility>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "ingestdb/ingest_db.hpp"
#include "telemetry/metrics.hpp"

namespace rsi::telemetry {

// Gauges of waiting files (the status snapshot's tallies), every -reporterPollPeriod: per table and
// kind (in_queue, stale, pending_migration) the count and the oldest file's age, and per kind the
// totals (the original's tsv_files.<table>.<kind>_count|_age_in_ms, tsv_files.<kind>_total_count|
// _max_age_in_ms). A table that drained gets its statsd gauges zeroed once and loses its
// Prometheus series. Each report also sets rsi_database_up{database="ingester"} (whether the
// tallies could be read) and, given `warehouse_ping`, rsi_database_up{database="warehouse"}:
// while the ingester database is down the other gauges keep their last values, so this is the
// one that tells. One thread reports (not thread-safe).
class Reporter {
public:
  using Ping = std::function<Result<void>()>;

  Reporter(ingestdb::IngestDb& store, std::function<ingestdb::VersionMap()> versions,
           Metrics& metrics, const Clock& clock, int max_load_retry, Ping warehouse_ping = {});

  // One report. Fails with the ingester database's error (the waiting-file gauges keep their
  // last values), else with the warehouse ping's.

  [[nodiscard]] Result<void> report_once();
  void run(std::stop_token stop, std::chrono::milliseconds period);

private:
  ingestdb::IngestDb& m_store;
  std::function<ingestdb::VersionMap()> m_versions;
  Metrics& m_metrics;
  const Clock& m_clock;
  int m_max_load_retry;
  Ping m_warehouse_ping;
  std::set<std::pair<std::string, std::string>> m_reported; // (kind, table) of the last report.
};

} // namespace rsi::telemetry
