#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/retry.hpp"
#include "ingestdb/ingest_db.hpp"
#include "telemetry/metrics.hpp"
#include "warehouse/warehouse.hpp"

namespace rsi::loader {

struct LoaderConfig {
  ingestdb::ClaimPolicy
      policy; // -loadCountTrigger, -loadAgeSeconds, --batch-lease, --max-batch-files
  std::chrono::milliseconds no_work_delay{std::chrono::minutes(1)};      // -no_work_delay
  int max_load_retry = 5;                                                // -max_load_retry
  std::chrono::milliseconds error_retry_delay{std::chrono::minutes(15)}; // -error_retry_delay
  std::chrono::milliseconds failed_load_check_interval{
      std::chrono::minutes(1)};   // -failed_load_check_interval
  std::uint32_t max_bad_rows = 0; // --max-bad-rows: rows a load may reject (kept, counted)
  // Between attempts after a transient fault (warehouse or store unreachable); no retry is spent.
  BackoffPolicy transient_backoff{.initial_delay = std::chrono::seconds(1),
                                  .max_delay = std::chrono::seconds(30),
                                  .max_attempts = 0};
  // Called (on the worker's thread) once a batch's outcome was recorded (loaded, failed,
  // released, split) and after orphans were resolved: work moved. Empty: nobody watches.
  std::function<void()> on_progress;
};

// The warehouse versions the migrator has committed (its cache, migrator::VersionCache::shared():
// the same map until a version changes, so that a claim copies nothing).
using VersionSource = std::function<std::shared_ptr<const ingestdb::VersionMap>()>;

// rsloadmanager's load workers: claim a batch, load it (files + ledger row in one warehouse
// transaction), mark it done; on failure record the error and the retry time. Shared by the
// worker threads; each worker brings its own Warehouse (connection). Thread-safe.
//
// Policy by error kind: a transient fault (warehouse or object store unreachable) keeps the
// batch and retries the load after a back-off without spending a retry. A load that fails for
// its data (LoadError::data) splits the batch: the file at fault goes to the quarantine and the
// others load at once as a new batch; when the warehouse cannot tell which file it was, the
// first half loads as a new batch and the second half becomes a batch of its own, loaded after
// it (a batch of one file is quarantined): a bisection, which finds the bad file in at most
// 2·⌈log2 n⌉ + 2 loads while the good files load. Any other failure fails the batch with the error
// in last_error, retried after error_retry_delay up to max_load_retry times, then it is stale.
// Before a failed or orphaned batch is loaded again, the warehouse's ledger is asked whether it
// committed after all.
class Loader {
public:
  Loader(ingestdb::IngestDb& store, VersionSource versions, const Clock& clock,
         telemetry::Metrics& metrics, LoaderConfig config);

  // Resolve batches whose loader died (lease run out, or left by the original): complete the
  // ones the ledger has, release the others for a retry. Returns how many were resolved.
  [[nodiscard]] Result<int> resolve_orphans(warehouse::Warehouse& warehouse);

  // One step of a worker: a due failed batch, else the next eligible batch, loaded to the end
  // (its outcome is recorded in the store; failures are logged here). false when there was
  // nothing to do.
  [[nodiscard]] bool work_once(warehouse::Warehouse& warehouse, std::stop_token stop);

  // A worker's loop until `stop`: work, or wait no_work_delay (or until wake()).
  void run_worker(warehouse::Warehouse& warehouse, std::stop_token stop);

  // Renew the leases of the batches being loaded in this process until `stop`.
  void run_lease_keeper(std::stop_token stop);

  // Work may have appeared (a force load): idle workers look now.
  void wake();

private:
  std::optional<ingestdb::Batch> next_batch(bool& is_retry);
  void load(warehouse::Warehouse& warehouse, ingestdb::Batch batch, bool is_retry,
            std::stop_token stop);
  // The warehouse request of `batch`; a key no object can have is a data failure of its file.
  [[nodiscard]] warehouse::LoadOutcome<warehouse::LoadRequest>
  load_request(const ingestdb::Batch& batch) const;
  // Split `batch` as `split` says (retrying the store's transient faults); the new batch to load
  // now, if any.
  std::optional<ingestdb::Batch> isolate(const ingestdb::Batch& batch,
                                         const ingestdb::BatchSplit& split, std::stop_token stop);
  // Record a failure that retrying may fix: retried after error_retry_delay, stale at the end.
  void record_failure(const ingestdb::Batch& batch, const Error& error, std::stop_token stop);
  void finish(const ingestdb::Batch& batch, const warehouse::LoadResult& result,
              std::stop_token stop);
  // The lease keeper renews the leases of held batches. A worker settles its batch right before
  // the record that takes it out of flight (completion, failure, release, split), so that a
  // renewal finding it gone then is no alarm.
  void hold(const std::string& manifest);
  void settle(const std::string& manifest);
  void unhold(const std::string& manifest);
  void report_outdated(const std::vector<ingestdb::TableVersion>& outdated);

  ingestdb::IngestDb& m_store;
  VersionSource m_versions;
  const Clock& m_clock;
  telemetry::Metrics& m_metrics;
  LoaderConfig m_config;

  std::mutex m_mutex;
  std::condition_variable_any m_wake;
  std::uint64_t m_wake_generation = 0;
  std::optional<TimePoint> m_last_failed_check; // Guarded by m_mutex.
  std::map<std::string, bool> m_held; // Manifests being loaded here → settling (see settle()).
  std::set<std::pair<std::string, int>> m_reported_outdated;
};

} // namespace rsi::loader
