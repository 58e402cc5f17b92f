#include "telemetry/metrics.hpp"

#include <fmt/format.h>

#include "telemetry/names.hpp"

namespace rsi::telemetry {
namespace {

std::string escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char byte : value) {
    if (byte == '\\') {
      out += "\\\\";
    } else if (byte == '"') {
      out += "\\\"";
    } else if (byte == '\n') {
      out += "\\n";
    } else {
      out.push_back(byte);
    }
  }
  return out;
}

std::string label_text(const Labels& labels, const std::string& extra = {}) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : labels) {
    parts.push_back(fmt::format("{}=\"{}\"", name, escape_label(value)));
  }
  if (!extra.empty()) {
    parts.push_back(extra);
  }
  return parts.empty() ? std::string() : fmt::format("{{{}}}", fmt::join(parts, ","));
}

const char* type_name(MetricType type) {
  switch (type) {
  case MetricType::counter:
    return "counter";
  case MetricType::gauge:
    return "gauge";
  case MetricType::histogram:
    return "histogram";
  }
  return "untyped";
}

} // namespace

const std::vector<double>& timing_buckets_seconds() {
  static const std::vector<double> buckets{0.005, 0.01, 0.05, 0.1, 0.5, 1,    5,
                                           10,    30,   60,   300, 900, 1800, 3600};
  return buckets;
}

Metrics::Metrics(std::string statsd_prefix, std::unique_ptr<StatsdSink> sink)
    : m_prefix(std::move(statsd_prefix)), m_sink(std::move(sink)) {}

void Metrics::send(const MetricId& id, std::string_view value_and_type) {
  if (!m_sink || id.statsd.empty()) {
    return;
  }
  const std::string name = m_prefix.empty() ? id.statsd : fmt::format("{}.{}", m_prefix, id.statsd);
  m_sink->send(fmt::format("{}:{}", statsd_safe(name), value_and_type));
}

Metrics::Series& Metrics::series(const MetricId& id, MetricType type) {
  Family& family = m_families[id.family];
  family.type = type;
  Series& found = family.series[id.labels];
  if (type == MetricType::histogram && found.buckets.empty()) {
    found.buckets.assign(timing_buckets_seconds().size(), 0);
  }
  return found;
}

void Metrics::count(const MetricId& id, std::int64_t delta) {
  if (!id.family.empty()) {
    const std::lock_guard lock(m_mutex);
    series(id, MetricType::counter).value += static_cast<double>(delta);
  }
  send(id, fmt::format("{}|c", delta));
}

void Metrics::gauge(const MetricId& id, double value) {
  if (!id.family.empty()) {
    const std::lock_guard lock(m_mutex);
    series(id, MetricType::gauge).value = value;
  }
  send(id, fmt::format("{}|g", value));
}

void Metrics::timing(const MetricId& id, std::chrono::microseconds elapsed) {
  const double seconds = static_cast<double>(elapsed.count()) / 1e6;
  if (!id.family.empty()) {
    const std::lock_guard lock(m_mutex);
    Series& found = series(id, MetricType::histogram);
    const auto& bounds = timing_buckets_seconds();
    for (std::size_t index = 0; index < bounds.size(); ++index) {
      if (seconds <= bounds[index]) {
        found.buckets[index] += 1;
      }
    }
    found.observations += 1;
    found.sum += seconds;
  }
  // Milliseconds with their fraction, as the original's statsd client sent them ("1234.567|ms").
  send(id, fmt::format("{}|ms", static_cast<double>(elapsed.count()) / 1000.0));
}

void Metrics::clear_gauges(const std::string& family) {
  const std::lock_guard lock(m_mutex);
  if (const auto found = m_families.find(family); found != m_families.end()) {
    found->second.series.clear();
  }
}

std::string Metrics::prometheus_text() const {
  const std::lock_guard lock(m_mutex);
  std::string out;
  for (const auto& [family_name, family] : m_families) {
    if (family.series.empty()) {
      continue;
    }
    const std::string name = "rsi_" + family_name;
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help_text(family_name), name,
                       type_name(family.type));
    for (const auto& [labels, series] : family.series) {
      if (family.type != MetricType::histogram) {
        out += fmt::format("{}{} {}\n", name, label_text(labels), series.value);
        continue;
      }
      const auto& bounds = timing_buckets_seconds();
      for (std::size_t index = 0; index < bounds.size(); ++index) {
        out += fmt::format("{}_bucket{} {}\n", name,
                           label_text(labels, fmt::format("le=\"{}\"", bounds[index])),
                           series.buckets[index]);
      }
      out += fmt::format("{}_bucket{} {}\n", name, label_text(labels, "le=\"+Inf\""),
                         series.observations);
      out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, label_text(labels), series.sum, name,
                         label_text(labels), series.observations);
    }
  }
  return out;
}

} // namespace rsi::telemetry
