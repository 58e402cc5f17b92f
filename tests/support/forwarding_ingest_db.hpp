#pragma once

#include "ingestdb/ingest_db.hpp"

namespace rsi::test {

// Forwards every call to a real store; tests derive from it and override the calls they want
// to fail or observe (fault injection).
class ForwardingIngestDb : public ingestdb::IngestDb {
public:
  explicit ForwardingIngestDb(ingestdb::IngestDb& real) : m_real(real) {}

  Result<std::vector<ingestdb::RecordOutcome>>
  record_files(std::span<const core::FilePointer> files, TimePoint at) override {
    return m_real.record_files(files, at);
  }
  Result<ingestdb::ClaimResult> claim_batch(const ingestdb::VersionMap& versions,
                                            const ingestdb::ClaimPolicy& policy,
                                            TimePoint now) override {
    return m_real.claim_batch(versions, policy, now);
  }
  Result<bool> renew_lease(const std::string& manifest, TimePoint until) override {
    return m_real.renew_lease(manifest, until);
  }
  using ingestdb::IngestDb::complete_batch;
  Result<bool> complete_batch(const std::string& manifest, TimePoint now,
                              std::int64_t rows) override {
    return m_real.complete_batch(manifest, now, rows);
  }
  Result<std::vector<ingestdb::LoadMinute>> load_history(TimePoint since) override {
    return m_real.load_history(since);
  }
  Result<bool> fail_batch(const std::string& manifest, const std::string& error,
                          TimePoint retry_at) override {
    return m_real.fail_batch(manifest, error, retry_at);
  }
  Result<bool> release_batch(const std::string& manifest, TimePoint retry_at) override {
    return m_real.release_batch(manifest, retry_at);
  }
  Result<std::optional<ingestdb::Batch>>
  claim_retryable_batch(int max_retries, std::chrono::seconds lease, TimePoint now) override {
    return m_real.claim_retryable_batch(max_retries, lease, now);
  }
  Result<std::vector<ingestdb::Batch>> orphaned_batches(TimePoint now) override {
    return m_real.orphaned_batches(now);
  }
  Result<std::vector<ingestdb::Batch>> stale_batches(int max_retries) override {
    return m_real.stale_batches(max_retries);
  }
  Result<std::vector<ingestdb::Batch>> in_flight_batches(TimePoint now) override {
    return m_real.in_flight_batches(now);
  }
  Result<std::optional<ingestdb::Batch>> find_batch(const std::string& manifest) override {
    return m_real.find_batch(manifest);
  }
  Result<bool> retry_batch(const std::string& manifest, TimePoint now) override {
    return m_real.retry_batch(manifest, now);
  }
  Result<std::optional<ingestdb::Batch>> split_batch(const std::string& manifest,
                                                     const ingestdb::BatchSplit& split,
                                                     TimePoint now,
                                                     TimePoint lease_until) override {
    return m_real.split_batch(manifest, split, now, lease_until);
  }
  Result<std::vector<ingestdb::QuarantinedFile>> quarantined_files(std::size_t limit) override {
    return m_real.quarantined_files(limit);
  }
  Result<std::vector<ingestdb::QuarantineOutcome>>
  retry_quarantined(const ingestdb::QuarantineSelection& selection, const std::string& by,
                    TimePoint now) override {
    return m_real.retry_quarantined(selection, by, now);
  }
  Result<std::vector<ingestdb::QuarantineOutcome>>
  drop_quarantined(const ingestdb::QuarantineSelection& selection, const std::string& by,
                   TimePoint now) override {
    return m_real.drop_quarantined(selection, by, now);
  }
  Result<std::optional<ingestdb::Batch>>
  skip_batch(const std::string& manifest, const std::string& skipped_by, TimePoint now) override {
    return m_real.skip_batch(manifest, skipped_by, now);
  }
  Result<ingestdb::VersionMap> pending_versions() override { return m_real.pending_versions(); }
  Result<bool> has_files(const std::string& table, int version) override {
    return m_real.has_files(table, version);
  }
  Result<bool> request_force_load(const std::string& table, const std::string& requester,
                                  TimePoint now) override {
    return m_real.request_force_load(table, requester, now);
  }
  Result<bool> force_load_requested(const std::string& table) override {
    return m_real.force_load_requested(table);
  }
  Result<std::vector<ingestdb::PendingStat>> pending_stats(const ingestdb::VersionMap& versions,
                                                           int max_retries) override {
    return m_real.pending_stats(versions, max_retries);
  }
  Result<std::map<std::string, TimePoint>> last_loads() override { return m_real.last_loads(); }
  Result<void> reject_message(const ingestdb::RejectedMessage& message) override {
    return m_real.reject_message(message);
  }
  Result<std::vector<ingestdb::StoredRejection>>
  list_rejected(const ingestdb::RejectedSelection& selection) override {
    return m_real.list_rejected(selection);
  }
  Result<bool> delete_rejected(std::int64_t id) override { return m_real.delete_rejected(id); }
  Result<bool> update_rejected(std::int64_t id, const std::string& reason, const std::string& kind,
                               const std::string& table) override {
    return m_real.update_rejected(id, reason, kind, table);
  }
  Result<std::vector<ingestdb::RejectedCount>> rejected_counts(std::size_t limit) override {
    return m_real.rejected_counts(limit);
  }
  Result<std::int64_t> count_rejected(TimePoint since) override {
    return m_real.count_rejected(since);
  }
  Result<void> note_awaiting_metadata(const std::string& message_id, const std::string& table,
                                      TimePoint first_seen, TimePoint retry_at,
                                      int attempts) override {
    return m_real.note_awaiting_metadata(message_id, table, first_seen, retry_at, attempts);
  }
  Result<void> forget_awaiting_metadata(const std::string& message_id) override {
    return m_real.forget_awaiting_metadata(message_id);
  }
  Result<std::vector<ingestdb::AwaitingMetadata>>
  awaiting_metadata(TimePoint retry_after) override {
    return m_real.awaiting_metadata(retry_after);
  }
  Result<std::int64_t> prune_loaded_keys(TimePoint cutoff) override {
    return m_real.prune_loaded_keys(cutoff);
  }
  Result<void> ping() override { return m_real.ping(); }

protected:
  ingestdb::IngestDb& m_real;
};

} // namespace rsi::test
