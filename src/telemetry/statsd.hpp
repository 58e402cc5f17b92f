#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace rsi::telemetry {

// Where statsd datagrams go. Sending never blocks and never fails the caller: metrics are
// best effort (a lost datagram is counted, not retried).
class StatsdSink {
public:
  virtual ~StatsdSink() = default;
  virtual void send(std::string_view datagram) = 0;
};

// Plain UDP to `host_port` ("127.0.0.1:8125", as STATSD_HOSTPORT). Fails `permanent` when
// the address does not resolve. Thread-safe.
Result<std::unique_ptr<StatsdSink>> make_udp_statsd_sink(const std::string& host_port);

// Metric names may hold any table name; statsd splits on ':' and '|' and datagrams on '\n'.
// Keeps [A-Za-z0-9_.-] and replaces every other byte with '_'.
std::string statsd_safe(std::string_view name);

} // namespace rsi::telemetry
