#pragma once

#include <string>
#include <string_view>

#include "telemetry/metrics.hpp"

// Every metric the daemons emit, in one place: the statsd names are the original's (a
// contract: dashboards and alerts built for it keep working); the Prometheus families carry the
// same figures with labels. docs/metrics.md lists them.
namespace rsi::telemetry::names {

// metadatastorer
MetricId files_received(const std::string& table);    // tsv_files.<table>.received
MetricId files_received_total();                      // tsv_files.total.received
MetricId files_queued(const std::string& table);      // tsv_files.<table>.queued
MetricId files_queued_total();                        // tsv_files.total.queued
MetricId files_duplicate(const std::string& table);   // tsv_files.<table>.duplicate
MetricId files_skipped_ace(const std::string& table); // tsv_files.<table>.skipped.ace
MetricId files_skipped_ace_total();                   // tsv_files.total.skipped.ace
MetricId messages_awaiting_metadata();                // messages.awaiting_metadata
MetricId messages_rejected(std::string_view reason);  // messages.rejected.<reason>
MetricId messages_replayed(std::string_view outcome); // messages.replayed.<outcome>
MetricId s3_events_ignored(std::string_view kind);    // s3_events.ignored.<kind>
MetricId metadata_reload(bool success);               // config.success / config.error

// rsloadmanager
MetricId files_loaded(const std::string& table);   // tsv_files.<table>.loaded
MetricId files_loaded_total();                     // tsv_files.total.loaded
MetricId manifest_loads();                         // manifest_load.count
MetricId manifest_load_failures();                 // manifest_load.failures
MetricId load_duration(const std::string& table);  // <table> (timing, as the original)
MetricId rows_loaded(const std::string& table);    // Prometheus only
MetricId bytes_loaded(const std::string& table);   // Prometheus only
MetricId load_retries(const std::string& table);   // manifest_load.retries
MetricId commit_latency(const std::string& table); // Notification to commit (Prometheus only)
MetricId force_load(const std::string& table);     // force_load.<table>
MetricId migrations(const std::string& table,
                    std::string_view result); // migration.<table>.<applied|failed>
MetricId files_quarantined(const std::string& table,
                           std::string_view kind); // tsv_files.<table>.quarantined.<kind>
MetricId rows_rejected(const std::string& table);  // rows_rejected.<table>

// Reporter gauges: kind is in_queue, stale, pending_migration or quarantined.
MetricId pending_count(std::string_view kind,
                       const std::string& table); // tsv_files.<table>.<kind>_count
MetricId pending_age_ms(std::string_view kind,
                        const std::string& table); // tsv_files.<table>.<kind>_age_in_ms
MetricId pending_age_seconds(std::string_view kind, const std::string& table); // Prometheus only
MetricId pending_total_count(std::string_view kind); // tsv_files.<kind>_total_count
MetricId pending_max_age_ms(std::string_view kind);  // tsv_files.<kind>_max_age_in_ms
// Reporter gauge: database is `ingester` or `warehouse`; 1 when it answered (Prometheus only).
MetricId database_up(std::string_view database);

// The Prometheus HELP text of a family.
std::string_view help_text(std::string_view family);

} // namespace rsi::telemetry::names

namespace rsi::telemetry {
using names::help_text;
} // namespace rsi::telemetry
