#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "http/server.hpp"
#include "ingestdb/ingest_db.hpp"
#include "queue/queue.hpp"
#include "storer/replay.hpp"
#include "telemetry/metrics.hpp"

namespace rsi::control {

// What the control API acts on. The functions hide the warehouse and the migrator, which the
// API reaches only through them (each serialises access to its own connection).
struct ControlBackend {
  ingestdb::IngestDb* store = nullptr;
  telemetry::Metrics* metrics = nullptr;
  const Clock* clock = nullptr;
  // Bump a table's version without DDL, serialised with migrations; conflict when it exists.
  std::function<Result<int>(std::string_view table)> increment_version;
  std::function<ingestdb::VersionMap()>
      versions; // The migrator's committed versions (also table_exists).
  std::function<Result<void>()> warehouse_ping;
  std::function<void()> wake_loaders; // Work may have appeared.
  // Whether the schema registry has `table` (a force load is refused for a table no one knows).
  // Empty: only the warehouse's versions and the pending files count.
  std::function<Result<bool>(std::string_view table)> registry_knows;
  // One round trip to the schema registry, for the status's dependency health; empty: not
  // checked.
  std::function<Result<void>()> registry_ping;
  // Messages in the queue not yet recorded; empty where this process does not read the queue.
  std::function<Result<queue::QueueDepth>()> queue_depth;
  // The --route rules this process's queue listeners apply (with queue_depth: rs_ingester).
  std::vector<std::string> routes;
  int max_load_retry = 0; // The loaders' -max_load_retry.
  // Replays rejected messages through the intake rules (storer::Replayer::replay); empty where
  // this process cannot check messages (rsloadmanager without --event-metadata-url).
  storer::ReplayFunction replay_rejected;
};

// The original's endpoints with their exact shapes, plus status, retry/skip of stale batches
// and metrics (docs/control-api.md):
//   GET  /                               the status page (HTML over /control/status), no token
//   GET  /health                         200 / 503 {"IngesterDBConnError":…,"WarehouseConnError":…}
//   POST /control/force_load             {"Table":"t","Requester":"who"} → 204 (404 for a table
//                                          neither the warehouse, the files nor the registry
//                                          know; 400 for a requester over 256 bytes)
//   POST /control/increment_version/<t>  → 204 (409 when the table exists)
//   GET  /control/table_exists/<t>       → {"Exists":bool}: whether the table has a version (the
//                                          migrator's cache), as the original answered
//   GET  /control/last_load              → {"<table>":epoch_seconds,…}
//   GET  /control/status                 → per table: pending files, oldest age, versions, batches
//                                          (in flight, orphaned, awaiting a retry, stale); the
//                                          queue's depth and the --route rules where this
//                                          process reads the queue
//   POST /control/retry/<manifest>       stale batch → retried now (204)
//   POST /control/skip/<manifest>        stale batch → dropped, kept in skipped_batch (200)
//   POST /control/quarantine/retry|drop  quarantined files → pending again, or given up (200)
//   GET  /control/rejected               rejected messages, by reason (kind) and table
//   POST /control/rejected/replay        rejected messages → through the intake again (200)
//   GET  /metrics                        Prometheus text
// Errors answer {"Error":"…"} with 400 (bad input), 404 (unknown), 405 (method), 409 (state does
// not allow it), 500/503 (backend failure). Every endpoint but / and /health declares that it needs
// the server's bearer token (http::ServerOptions), which the server checks from the request head
// (401), as it does the limits and the Host, Origin and Content-Type rules.
void install(http::Server& server, ControlBackend backend);

} // namespace rsi::control
