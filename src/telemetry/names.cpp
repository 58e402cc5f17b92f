#include "telemetry/names.hpp"

#include <map>

#include <fmt/format.h>

namespace rsi::telemetry::names {
namespace {

Labels table_label(const std::string& table) { return {{"table", table}}; }

} // namespace

MetricId files_received(const std::string& table) {
  return {fmt::format("tsv_files.{}.received", table), "tsv_files_received_total",
          table_label(table)};
}
MetricId files_received_total() { return {"tsv_files.total.received", "", {}}; }
MetricId files_queued(const std::string& table) {
  return {fmt::format("tsv_files.{}.queued", table), "tsv_files_queued_total", table_label(table)};
}
MetricId files_queued_total() { return {"tsv_files.total.queued", "", {}}; }
MetricId files_duplicate(const std::string& table) {
  return {fmt::format("tsv_files.{}.duplicate", table), "tsv_files_duplicate_total",
          table_label(table)};
}
MetricId files_skipped_ace(const std::string& table) {
  return {fmt::format("tsv_files.{}.skipped.ace", table),
          "tsv_files_skipped_total",
          {{"table", table}, {"reason", "not_in_ace"}}};
}
MetricId files_skipped_ace_total() { return {"tsv_files.total.skipped.ace", "", {}}; }
MetricId messages_awaiting_metadata() {
  return {"messages.awaiting_metadata", "messages_awaiting_metadata_total", {}};
}
MetricId messages_rejected(std::string_view reason) {
  return {fmt::format("messages.rejected.{}", reason),
          "messages_rejected_total",
          {{"reason", std::string(reason)}}};
}
MetricId messages_replayed(std::string_view outcome) {
  return {fmt::format("messages.replayed.{}", outcome),
          "messages_replayed_total",
          {{"outcome", std::string(outcome)}}};
}
MetricId s3_events_ignored(std::string_view kind) {
  return {fmt::format("s3_events.ignored.{}", kind),
          "s3_events_ignored_total",
          {{"kind", std::string(kind)}}};
}
MetricId metadata_reload(bool success) {
  return {success ? "config.success" : "config.error",
          "event_metadata_reloads_total",
          {{"result", success ? "success" : "error"}}};
}

MetricId files_loaded(const std::string& table) {
  return {fmt::format("tsv_files.{}.loaded", table), "tsv_files_loaded_total", table_label(table)};
}
MetricId files_loaded_total() { return {"tsv_files.total.loaded", "", {}}; }
MetricId manifest_loads() { return {"manifest_load.count", "manifest_loads_total", {}}; }
MetricId manifest_load_failures() {
  return {"manifest_load.failures", "manifest_load_failures_total", {}};
}
MetricId load_duration(const std::string& table) {
  return {table, "load_duration_seconds", table_label(table)};
}
MetricId rows_loaded(const std::string& table) {
  return {"", "rows_loaded_total", table_label(table)};
}
MetricId bytes_loaded(const std::string& table) {
  return {"", "bytes_loaded_total", table_label(table)};
}
MetricId load_retries(const std::string& table) {
  return {"manifest_load.retries", "load_retries_total", table_label(table)};
}
MetricId commit_latency(const std::string& table) {
  return {"", "notification_to_commit_seconds", table_label(table)};
}
MetricId force_load(const std::string& table) {
  return {fmt::format("force_load.{}", table), "force_loads_total", table_label(table)};
}

MetricId migrations(const std::string& table, std::string_view result) {
  return {fmt::format("migration.{}.{}", table, result),
          "migrations_total",
          {{"table", table}, {"result", std::string(result)}}};
}

MetricId files_quarantined(const std::string& table, std::string_view kind) {
  return {fmt::format("tsv_files.{}.quarantined.{}", table, kind),
          "files_quarantined_total",
          {{"table", table}, {"kind", std::string(kind)}}};
}
MetricId rows_rejected(const std::string& table) {
  return {fmt::format("rows_rejected.{}", table), "rows_rejected_total", table_label(table)};
}

MetricId pending_count(std::string_view kind, const std::string& table) {
  return {fmt::format("tsv_files.{}.{}_count", table, kind),
          "pending_files",
          {{"table", table}, {"kind", std::string(kind)}}};
}
MetricId pending_age_ms(std::string_view kind, const std::string& table) {
  return {fmt::format("tsv_files.{}.{}_age_in_ms", table, kind), "", {}};
}
MetricId pending_age_seconds(std::string_view kind, const std::string& table) {
  return {"", "pending_oldest_age_seconds", {{"table", table}, {"kind", std::string(kind)}}};
}
MetricId pending_total_count(std::string_view kind) {
  return {fmt::format("tsv_files.{}_total_count", kind), "", {}};
}
MetricId pending_max_age_ms(std::string_view kind) {
  return {fmt::format("tsv_files.{}_max_age_in_ms", kind), "", {}};
}

MetricId database_up(std::string_view database) {
  return {"", "database_up", {{"database", std::string(database)}}};
}

std::string_view help_text(std::string_view family) {
  static const std::map<std::string_view, std::string_view, std::less<>> k_help{
      {"tsv_files_received_total", "File pointers received from the queue, per table."},
      {"tsv_files_queued_total", "File pointers recorded in the ingester database, per table."},
      {"tsv_files_duplicate_total",
       "File pointers already pending or recently loaded, not recorded again."},
      {"tsv_files_skipped_total", "File pointers skipped, per table and reason."},
      {"messages_rejected_total",
       "Queue messages rejected, per reason (see the rejected_message table)."},
      {"messages_replayed_total",
       "Rejected messages replayed by an operator, per outcome: recorded, duplicate, skipped, "
       "rejected, unavailable."},
      {"s3_events_ignored_total",
       "S3 event records with nothing to load, per kind: test_event, object_removed, other."},
      {"messages_awaiting_metadata_total", "Deliveries of messages whose table is not in the event "
                                           "metadata yet (left in the queue, tried again)."},
      {"event_metadata_reloads_total", "Event metadata reloads, per result."},
      {"tsv_files_loaded_total", "Files loaded into the warehouse, per table."},
      {"manifest_loads_total", "Batches loaded."},
      {"manifest_load_failures_total", "Batch loads that failed."},
      {"load_duration_seconds", "Time to load one batch, per table."},
      {"rows_loaded_total", "Rows loaded into the warehouse, per table."},
      {"bytes_loaded_total", "Uncompressed bytes loaded, per table."},
      {"load_retries_total", "Failed batches retried, per table."},
      {"notification_to_commit_seconds",
       "From a file's notification to the commit of its load, per table."},
      {"force_loads_total", "Force loads requested, per table."},
      {"migrations_total", "Schema migrations applied or failed (retried next poll), per table."},
      {"pending_files", "Files waiting, per table and kind (in_queue, stale, pending_migration, "
                        "quarantined)."},
      {"pending_oldest_age_seconds",
       "Age of the oldest waiting file, per table and kind (quarantined: since it was set "
       "aside)."},
      {"files_quarantined_total", "Files set aside because their data cannot load, per table "
                                  "and kind."},
      {"database_up", "1 when the database (ingester, warehouse) answered the reporter's last "
                      "check, every -reporterPollPeriod; 0 when it did not."},
      {"rows_rejected_total", "Rows rejected under --max-bad-rows (kept in infra.rejected_row), "
                              "per table."},
  };
  const auto found = k_help.find(family);
  return found == k_help.end() ? std::string_view("rs_ingester metric.") : found->second;
}

} // namespace rsi::telemetry::names
