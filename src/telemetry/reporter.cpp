#include "telemetry/reporter.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "common/log.hpp"
#include "common/sleep.hpp"
#include "status/status.hpp"
#include "telemetry/names.hpp"

namespace rsi::telemetry {

Reporter::Reporter(ingestdb::IngestDb& store, std::function<ingestdb::VersionMap()> versions,
                   Metrics& metrics, const Clock& clock, int max_load_retry, Ping warehouse_ping)
    : m_store(store), m_versions(std::move(versions)), m_metrics(metrics), m_clock(clock),
      m_max_load_retry(max_load_retry), m_warehouse_ping(std::move(warehouse_ping)) {}

Result<void> Reporter::report_once() {
  Result<void> warehouse = {};
  if (m_warehouse_ping) {
    warehouse = m_warehouse_ping();
    m_metrics.gauge(names::database_up("warehouse"), warehouse ? 1 : 0);
  }
  auto taken = status::take_snapshot({.store = &m_store,
                                      .versions = m_versions(),
                                      .max_load_retry = m_max_load_retry,
                                      .detail = status::Detail::files},
                                     m_clock.now());
  m_metrics.gauge(names::database_up("ingester"), taken ? 1 : 0);
  if (!taken) {
    return fail(taken.error().wrap("read the waiting files"));
  }
  const auto& snapshot = *taken;
  const auto& stats = snapshot.files;
  const TimePoint now = snapshot.taken_at;
  m_metrics.clear_gauges("pending_files");
  m_metrics.clear_gauges("pending_oldest_age_seconds");
  std::set<std::pair<std::string, std::string>> reported; // (kind, table)
  for (const auto kind :
       {ingestdb::PendingKind::in_queue, ingestdb::PendingKind::stale,
        ingestdb::PendingKind::pending_migration, ingestdb::PendingKind::quarantined}) {
    const std::string_view kind_name = ingestdb::to_string(kind);
    std::int64_t total = 0;
    std::int64_t max_age_ms = 0;
    for (const auto& stat : stats) {
      if (stat.kind != kind) {
        continue;
      }
      reported.emplace(std::string(kind_name), stat.table);
      const auto age_ms = std::max<std::int64_t>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(now - stat.oldest).count());
      m_metrics.gauge(names::pending_count(kind_name, stat.table), static_cast<double>(stat.count));
      m_metrics.gauge(names::pending_age_ms(kind_name, stat.table), static_cast<double>(age_ms));
      m_metrics.gauge(names::pending_age_seconds(kind_name, stat.table),
                      static_cast<double>(age_ms) / 1000.0);
      total += stat.count;
      max_age_ms = std::max(max_age_ms, age_ms);
    }
    m_metrics.gauge(names::pending_total_count(kind_name), static_cast<double>(total));
    m_metrics.gauge(names::pending_max_age_ms(kind_name), static_cast<double>(max_age_ms));
  }
  // A statsd server keeps sending a gauge's last value, so a table that drained since the last
  // report would show its old count forever: zero it once. (Its Prometheus series are gone.)
  for (const auto& [kind_name, table] : m_reported) {
    if (reported.contains({kind_name, table})) {
      continue;
    }
    MetricId count = names::pending_count(kind_name, table);
    count.family.clear();
    count.labels.clear();
    m_metrics.gauge(count, 0);
    m_metrics.gauge(names::pending_age_ms(kind_name, table), 0);
  }
  m_reported = std::move(reported);
  if (!warehouse) {
    return fail(warehouse.error().wrap("ping the warehouse"));
  }
  return {};
}

void Reporter::run(std::stop_token stop, std::chrono::milliseconds period) {
  do {
    if (auto reported = report_once(); !reported) {
      log::warn("reporter cannot report", {{"error", reported.error().message}});
    }
  } while (sleep_unless_stopped(stop, period));
}

} // namespace rsi::telemetry
