#include "app/replay_setup.hpp"

#include "telemetry/names.hpp"

namespace rsi::app {

std::unique_ptr<storer::Replayer> make_replayer(ingestdb::IngestDb& store,
                                                registry::EventMetadataCache& tables,
                                                registry::SchemaRegistry* registry,
                                                std::vector<core::Route> routes, const Clock& clock,
                                                telemetry::Metrics& metrics) {
  storer::RoutingConfig routing{.routes = std::move(routes)};
  if (registry != nullptr) {
    routing.current_version = [registry](std::string_view table) {
      return registry->current_version(table);
    };
  }
  auto refresh = [&tables, &metrics] {
    auto reloaded = tables.reload();
    metrics.count(telemetry::names::metadata_reload(reloaded.has_value()));
    return reloaded;
  };
  return std::make_unique<storer::Replayer>(
      store, tables, clock, metrics,
      storer::ReplayConfig{.routing = std::move(routing), .refresh = std::move(refresh)});
}

storer::ReplayFunction replay_function(storer::Replayer& replayer) {
  return [&replayer](const ingestdb::RejectedSelection& selection, const std::string& requester) {
    return replayer.replay(selection, requester);
  };
}

} // namespace rsi::app
