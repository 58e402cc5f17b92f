#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "telemetry/statsd.hpp"

namespace rsi::telemetry {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { counter, gauge, histogram };

// One measurement point: its statsd name (without the prefix; empty = Prometheus only) and
// its Prometheus family (without the "rsi_" prefix) with labels. telemetry/names.hpp makes them.
struct MetricId {
  std::string statsd;
  std::string family;
  Labels labels;
};

// Counters, gauges and timings, sent to statsd as they happen (one datagram each:
// "<prefix>.<name>:<v>|c", "|g", "|ms") and kept for the Prometheus text exposition.
// Thread-safe.
class Metrics {
public:
  explicit Metrics(std::string statsd_prefix, std::unique_ptr<StatsdSink> sink = nullptr);

  void count(const MetricId& id, std::int64_t delta = 1);
  void gauge(const MetricId& id, double value);
  void timing(const MetricId& id, std::chrono::microseconds elapsed);

  // Drop every series of gauge `family` (before a reporter sets the current ones).
  void clear_gauges(const std::string& family);

  // Prometheus text format 0.0.4.
  [[nodiscard]] std::string prometheus_text() const;

private:
  struct Series {
    double value = 0;                   // counter or gauge
    std::vector<std::uint64_t> buckets; // histogram: cumulative counts per bound
    std::uint64_t observations = 0;
    double sum = 0;
  };
  struct Family {
    MetricType type = MetricType::counter;
    std::map<Labels, Series> series;
  };

  void send(const MetricId& id, std::string_view value_and_type);
  Series& series(const MetricId& id, MetricType type);

  std::string m_prefix;
  std::unique_ptr<StatsdSink> m_sink;
  mutable std::mutex m_mutex;
  std::map<std::string, Family> m_families;
};

// Histogram bucket bounds in seconds, shared by every timing.
const std::vector<double>& timing_buckets_seconds();

} // namespace rsi::telemetry
