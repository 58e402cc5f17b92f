#pragma once

#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "http/aws_settings.hpp"
#include "http/credentials.hpp"
#include "ingestdb/ingest_db.hpp"
#include "queue/factory.hpp"
#include "registry/event_metadata.hpp"
#include "storer/storer.hpp"
#include "telemetry/metrics.hpp"

namespace rsi::app {

struct StorerServiceOptions {
  queue::Config queue;
  int listeners = 1;
  storer::StorerConfig storer;
  std::chrono::milliseconds metadata_retry_delay{2'000};
  http::Environment env;
  std::shared_ptr<http::CredentialsProvider> credentials;
};

// metadatastorer's activity: load the event metadata (retrying while it is unavailable, so
// messages wait in the queue), then `listeners` threads, each with its own queue, turning
// messages into file pointers; the event metadata is reloaded on schedule. Used by the
// metadatastorer daemon and the all-in-one rs_ingester.
class StorerService {
public:
  StorerService(ingestdb::IngestDb& store, registry::EventMetadataCache& tables,
                telemetry::Metrics& metrics, const Clock& clock, StorerServiceOptions options);
  ~StorerService(); // Joins the threads (after the stop requested through start's token).
  StorerService(const StorerService&) = delete;
  StorerService& operator=(const StorerService&) = delete;

  // Blocks until the event metadata loaded (false: stopped first), then starts the listeners
  // and the reload thread.
  bool start(std::stop_token stop);
  void join();

  // Problems for /health: event metadata not loaded, a listener not receiving.
  [[nodiscard]] std::vector<std::string> problems() const;

private:
  ingestdb::IngestDb& m_store;
  registry::EventMetadataCache& m_tables;
  telemetry::Metrics& m_metrics;
  const Clock& m_clock;
  StorerServiceOptions m_options;
  std::vector<std::unique_ptr<queue::Queue>> m_queues;
  mutable std::mutex m_mutex; // Guards m_storers: listeners fill it while /health reads it.
  std::vector<std::unique_ptr<storer::Storer>> m_storers;
  std::vector<std::jthread> m_threads;
};

} // namespace rsi::app
