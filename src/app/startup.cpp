#include "app/startup.hpp"

namespace rsi::app {

Result<std::unique_ptr<telemetry::Metrics>> make_metrics(const std::string& prefix,
                                                         const std::optional<std::string>& statsd_address) {
  std::unique_ptr<telemetry::StatsdSink> sink;
  if (statsd_address) {
    RSI_TRY_ASSIGN(sink, telemetry::make_udp_statsd_sink(*statsd_address));
  }
  return std::make_unique<telemetry::Metrics>(prefix, std::move(sink));
}

} // namespace rsi::app
