#include "app/storer_service.hpp"

#include <fmt/format.h>

#include "app/startup.hpp"
#include "common/log.hpp"
#include "common/sleep.hpp"
#include "telemetry/names.hpp"

namespace rsi::app {

using namespace std::chrono_literals;

StorerService::StorerService(ingestdb::IngestDb& store, registry::EventMetadataCache& tables,
                             telemetry::Metrics& metrics, const Clock& clock,
                             StorerServiceOptions options)
    : m_store(store), m_tables(tables), m_metrics(metrics), m_clock(clock),
      m_options(std::move(options)), m_queues(static_cast<std::size_t>(m_options.listeners)),
      m_storers(m_queues.size()) {}

StorerService::~StorerService() { join(); }

void StorerService::join() { m_threads.clear(); }

bool StorerService::start(std::stop_token stop) {
  for (int attempt = 1; !m_tables.loaded(); ++attempt) {
    auto loaded = m_tables.reload();
    m_metrics.count(telemetry::names::metadata_reload(loaded.has_value()));
    if (loaded) {
      break;
    }
    const auto delay =
        std::min<std::chrono::milliseconds>(m_options.metadata_retry_delay * attempt, 60s);
    log::error(
        "event metadata unavailable; messages wait in the queue until it loads",
        {{"error", loaded.error().message}, {"attempt", attempt}, {"retry_in_ms", delay.count()}});
    if (!sleep_unless_stopped(stop, delay)) {
      return false;
    }
  }
  for (std::size_t index = 0; index < m_storers.size(); ++index) {
    m_threads.emplace_back([this, index, stop](std::stop_token) {
      auto queue = open_with_retry<queue::Queue>(
          "queue",
          [&] {
            return queue::make_queue(m_options.queue, m_clock, m_options.env,
                                     m_options.credentials);
          },
          stop);
      if (!queue) {
        return;
      }
      m_queues[index] = std::move(*queue);
      storer::Storer* storer = nullptr;
      {
        const std::lock_guard lock(m_mutex);
        m_storers[index] = std::make_unique<storer::Storer>(*m_queues[index], m_store, m_tables,
                                                            m_clock, m_metrics, m_options.storer);
        storer = m_storers[index].get();
      }
      storer->run(stop);
    });
  }
  m_threads.emplace_back([this, stop](std::stop_token) {
    while (sleep_unless_stopped(stop, 1s)) {
      if (auto reloaded = m_tables.reload_if_due(); !reloaded) {
        m_metrics.count(telemetry::names::metadata_reload(false));
        log::error("event metadata reload failed; keeping the last good one",
                   {{"error", reloaded.error().message}});
      }
    }
  });
  return true;
}

std::vector<std::string> StorerService::problems() const {
  std::vector<std::string> problems;
  if (!m_tables.loaded()) {
    problems.emplace_back("event metadata not loaded");
  }
  const std::lock_guard lock(m_mutex);
  for (std::size_t index = 0; index < m_storers.size(); ++index) {
    if (!m_storers[index] || !m_storers[index]->queue_reachable()) {
      problems.push_back(fmt::format("queue listener {}: not receiving", index));
    }
  }
  return problems;
}

} // namespace rsi::app
