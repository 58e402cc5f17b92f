// Backfill: a listing becomes file pointers, one page at a time. Each page is checked object by
// object (MessageCheck::check_objects, the rules the queue listeners apply to S3's
// notifications), then its pointers are recorded in one transaction (IngestDb::record_files,
// idempotent), so a page is recorded whole or not at all and a rerun finds what a stopped run
// committed already recorded.
#include "app/backfill.hpp"

#include <future>
#include <span>

#include <fmt/format.h>

#include "common/log.hpp"
#include "core/file_pointer.hpp"
#include "core/route.hpp"

namespace rsi::app {
namespace {

// What one page comes to: its counts, and the pointers still to record.
struct PagePlan {
  BackfillSummary counts;
  std::vector<core::FilePointer> pointers;
};

// The bucket and key an object of `source` is read from by a loader, or nullopt when a local
// objects root holds it outside any bucket folder.
std::optional<core::ObjectLocation> locate(const BackfillSource& source, const std::string& key) {
  if (!source.bucket.empty()) {
    return core::ObjectLocation{.bucket = source.bucket, .key = key};
  }
  const auto slash = key.find('/');
  if (slash == std::string::npos) {
    return std::nullopt;
  }
  return core::ObjectLocation{.bucket = key.substr(0, slash), .key = key.substr(slash + 1)};
}

bool in_window(const objectstore::ObjectInfo& object, const BackfillOptions& options) {
  if (!options.since && !options.until) {
    return true;
  }
  if (!object.last_modified) {
    return false; // Without a time the object cannot be shown to be inside the window.
  }
  return (!options.since || *object.last_modified >= *options.since) &&
         (!options.until || *object.last_modified < *options.until);
}

void note_unrouted(BackfillSummary& counts, std::string example, std::size_t max_examples) {
  ++counts.unrouted;
  if (counts.unrouted_examples.size() < max_examples) {
    counts.unrouted_examples.push_back(std::move(example));
  }
}

// Checks every object of `page`; a transient error when the event metadata or the registry
// cannot answer (the page is checked again later, nothing of it counted yet).
Result<PagePlan> plan_page(const objectstore::ListPage& page, const BackfillSource& source,
                           storer::MessageCheck& check, const BackfillOptions& options) {
  PagePlan plan;
  BackfillSummary& counts = plan.counts;
  counts.listed = static_cast<std::int64_t>(page.objects.size());
  for (const auto& object : page.objects) {
    if (object.key.ends_with('/') && object.size_bytes == 0) {
      ++counts.folder_markers;
      continue;
    }
    if (!in_window(object, options)) {
      ++counts.outside_window;
      continue;
    }
    const auto location = locate(source, object.key);
    if (!location) {
      note_unrouted(counts, object.key, options.max_examples);
      continue;
    }
    auto checked = check.check_objects(std::span(&*location, 1));
    switch (checked.verdict) {
    case storer::Checked::Verdict::record:
      for (auto& pointer : checked.pointers) {
        plan.pointers.push_back(std::move(pointer));
      }
      break;
    case storer::Checked::Verdict::nothing: {
      // The route named a table whose files are not loaded into the warehouse.
      const auto match = core::route_key(check.routing().routes, location->bucket, location->key);
      ++counts.tables[match ? match->table : std::string()].skipped;
      break;
    }
    case storer::Checked::Verdict::reject:
      note_unrouted(counts, core::s3_url(*location), options.max_examples);
      break;
    case storer::Checked::Verdict::unknown_table:
      ++counts.tables[checked.table].unknown;
      break;
    case storer::Checked::Verdict::unavailable:
      return fail(ErrorKind::transient, checked.reason);
    }
  }
  return plan;
}

void add(BackfillTableCounts& into, const BackfillTableCounts& counts) {
  into.recorded += counts.recorded;
  into.already_recorded += counts.already_recorded;
  into.quarantined += counts.quarantined;
  into.skipped += counts.skipped;
  into.unknown += counts.unknown;
}

void add(BackfillSummary& into, const BackfillSummary& page, std::size_t max_examples) {
  into.listed += page.listed;
  into.outside_window += page.outside_window;
  into.folder_markers += page.folder_markers;
  into.unrouted += page.unrouted;
  for (const auto& example : page.unrouted_examples) {
    if (into.unrouted_examples.size() < max_examples) {
      into.unrouted_examples.push_back(example);
    }
  }
  for (const auto& [table, counts] : page.tables) {
    add(into.tables[table], counts);
  }
}

void count_outcomes(PagePlan& plan, std::span<const ingestdb::RecordOutcome> outcomes) {
  for (std::size_t at = 0; at < plan.pointers.size(); ++at) {
    BackfillTableCounts& table = plan.counts.tables[plan.pointers[at].table];
    switch (outcomes[at]) {
    case ingestdb::RecordOutcome::recorded:
      ++table.recorded;
      break;
    case ingestdb::RecordOutcome::already_pending:
    case ingestdb::RecordOutcome::recently_loaded:
      ++table.already_recorded;
      break;
    case ingestdb::RecordOutcome::quarantined:
      ++table.quarantined;
      break;
    }
  }
}

// Checks `page` and records its pointers (a dry run counts them): its counts, or the error that
// ends the backfill (transient ones are retried first).
Result<PagePlan> settle_page(const objectstore::ListPage& page, const BackfillSource& source,
                             storer::MessageCheck& check, ingestdb::IngestDb* store,
                             const Clock& clock, const BackfillOptions& options,
                             std::stop_token stop) {
  RSI_TRY_ASSIGN(auto plan, with_retries<PagePlan>(options.retry, stop, "check", [&] {
                   return plan_page(page, source, check, options);
                 }));
  if (options.dry_run || store == nullptr) {
    for (const auto& pointer : plan.pointers) {
      ++plan.counts.tables[pointer.table].recorded;
    }
    return plan;
  }
  if (!plan.pointers.empty()) {
    RSI_TRY_ASSIGN(
        const auto outcomes,
        with_retries<std::vector<ingestdb::RecordOutcome>>(options.retry, stop, "record", [&] {
          return store->record_files(plan.pointers, clock.now());
        }));
    count_outcomes(plan, outcomes);
  }
  return plan;
}

} // namespace

BackfillTableCounts BackfillSummary::totals() const {
  BackfillTableCounts sum;
  for (const auto& [table, counts] : tables) {
    add(sum, counts);
  }
  return sum;
}

bool BackfillSummary::complete() const {
  return !interrupted && !error && unrouted == 0 && totals().unknown == 0;
}

BackfillSummary backfill(const BackfillSource& source, storer::MessageCheck& check,
                         ingestdb::IngestDb* store, const Clock& clock,
                         const BackfillOptions& options, std::stop_token stop,
                         const std::function<void(const BackfillSummary&)>& on_page) {
  BackfillSummary summary;
  if (stop.stop_requested()) {
    summary.interrupted = true;
    return summary;
  }
  // The next page is listed while this one is checked and recorded: a backfill goes at the pace
  // of the slower of the two, not of their sum. A pending listing is waited for on every way
  // out (std::async's future), so the references it holds stay valid.
  const auto list_after = [&source, &options, stop](std::optional<std::string> token) {
    return std::async(std::launch::async, [&source, &options, stop, token = std::move(token)] {
      return with_retries<objectstore::ListPage>(options.retry, stop, "list", [&] {
        return source.store->list(source.prefix, token, options.page_size);
      });
    });
  };
  auto next = list_after(std::nullopt);
  while (true) {
    auto page = next.get();
    if (!page) {
      summary.error = page.error();
      break;
    }
    const bool more = page->next_token.has_value();
    if (more) {
      next = list_after(page->next_token);
    }
    auto settled = settle_page(*page, source, check, store, clock, options, stop);
    if (!settled) {
      summary.error = settled.error();
      break;
    }
    ++summary.pages;
    add(summary, settled->counts, options.max_examples);
    if (log::enabled(log::Level::debug)) {
      log::debug("backfill page", {{"page", summary.pages},
                                   {"objects", page->objects.size()},
                                   {"pointers", settled->pointers.size()}});
    }
    if (on_page) {
      on_page(summary);
    }
    if (!more) {
      break;
    }
    if (stop.stop_requested()) {
      summary.interrupted = true;
      break;
    }
  }
  if (summary.error) {
    summary.interrupted = stop.stop_requested(); // A stop during a retry's wait ends it too.
  }
  return summary;
}

Result<core::AceMembership> RegistryTableDirectory::membership(std::string_view table) {
  {
    const std::lock_guard lock(m_mutex);
    if (const auto known = m_known.find(table); known != m_known.end()) {
      return known->second;
    }
  }
  RSI_TRY_ASSIGN(const auto version, m_registry.current_version(table));
  const auto membership =
      version ? core::AceMembership::in_ace : core::AceMembership::unknown_table;
  const std::lock_guard lock(m_mutex);
  m_known.emplace(std::string(table), membership);
  return membership;
}

} // namespace rsi::app
