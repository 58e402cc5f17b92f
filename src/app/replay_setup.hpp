#pragma once

#include <memory>
#include <vector>

#include "common/clock.hpp"
#include "core/route.hpp"
#include "ingestdb/ingest_db.hpp"
#include "registry/event_metadata.hpp"
#include "registry/schema_registry.hpp"
#include "storer/replay.hpp"
#include "telemetry/metrics.hpp"

namespace rsi::app {

// A Replayer as every process sets one up (rs_ingester run, rsloadmanager, `rs_ingester rejected
// replay`): `tables` is reloaded before each replay (counted as the listeners count their
// reloads), `routes` route S3 notifications, and `registry` (may be null) gives the current
// version of the tables of routes without a version.
[[nodiscard]] std::unique_ptr<storer::Replayer>
make_replayer(ingestdb::IngestDb& store, registry::EventMetadataCache& tables,
              registry::SchemaRegistry* registry, std::vector<core::Route> routes,
              const Clock& clock, telemetry::Metrics& metrics);

// `replayer`'s replay as the control API calls it.
[[nodiscard]] storer::ReplayFunction replay_function(storer::Replayer& replayer);

} // namespace rsi::app
