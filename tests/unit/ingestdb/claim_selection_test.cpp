#include "ingestdb/claim_selection.hpp"

#include <gtest/gtest.h>

namespace rsi::ingestdb {
namespace {

using namespace std::chrono_literals;

const TimePoint k_now = TimePoint(1'700'000'000s);

GroupCandidate group(std::string table, int version, std::int64_t count, std::chrono::seconds age,
                     bool forced = false) {
  return {.table = std::move(table),
          .version = version,
          .count = count,
          .oldest = k_now - age,
          .forced = forced};
}

TEST(ClaimSelectionTest, EligibleByCountAgeOrForceLoad) {
  const ClaimPolicy policy{.count_trigger = 5, .age_trigger = 1800s};
  EXPECT_FALSE(is_eligible(group("t", 0, 5, 10s), policy, k_now));
  EXPECT_TRUE(is_eligible(group("t", 0, 6, 10s), policy, k_now));
  EXPECT_FALSE(is_eligible(group("t", 0, 1, 1800s), policy, k_now));
  EXPECT_TRUE(is_eligible(group("t", 0, 1, 1801s), policy, k_now));
  EXPECT_TRUE(is_eligible(group("t", 0, 1, 0s, true), policy, k_now));
}

TEST(ClaimSelectionTest, ForceLoadsFirstThenOldestAndOnlyTheCurrentVersion) {
  const ClaimPolicy policy{.count_trigger = 5, .age_trigger = 1800s};
  const auto order = order_candidates(
      {group("young", 0, 10, 10s), group("old", 0, 10, 100s), group("forced", 0, 1, 1s, true),
       group("small", 0, 1, 1s), group("outdated", 1, 10, 50s), group("ahead", 3, 10, 500s),
       group("unknown", 0, 10, 900s)},
      {{"young", 0}, {"old", 0}, {"forced", 0}, {"small", 0}, {"outdated", 2}, {"ahead", 2}},
      policy, k_now);
  ASSERT_EQ(order.loadable.size(), 3U);
  EXPECT_EQ(order.loadable[0].table, "forced");
  EXPECT_EQ(order.loadable[1].table, "old");
  EXPECT_EQ(order.loadable[2].table, "young");
  EXPECT_EQ(order.outdated, (std::vector<TableVersion>{{"outdated", 1}}));
}

TEST(ClaimSelectionTest, ClassifiesPendingFiles) {
  const auto stats = classify_pending(
      {{.table = "a", .version = 0, .stale = false, .count = 2, .oldest = k_now - 5s},
       {.table = "a", .version = 1, .stale = false, .count = 3, .oldest = k_now - 9s},
       {.table = "a", .version = 0, .stale = true, .count = 4, .oldest = k_now - 7s},
       {.table = "b", .version = 4, .stale = false, .count = 1, .oldest = k_now},
       {.table = "c", .version = 1, .stale = false, .count = 6, .oldest = k_now},
       {.table = "c", .version = 2, .stale = false, .count = 1, .oldest = k_now}},
      {{"a", 0}, {"c", 2}});
  ASSERT_EQ(stats.size(), 5U);
  EXPECT_EQ(stats[0].kind, PendingKind::in_queue);
  EXPECT_EQ(stats[0].table, "a");
  EXPECT_EQ(stats[0].count, 2);
  EXPECT_EQ(stats[1].kind, PendingKind::in_queue);
  EXPECT_EQ(stats[1].table, "b") << "no warehouse table yet counts as in queue, as the original";
  EXPECT_EQ(stats[1].outdated, 0);
  EXPECT_EQ(stats[2].kind, PendingKind::in_queue);
  EXPECT_EQ(stats[2].table, "c");
  EXPECT_EQ(stats[2].count, 7) << "outdated files count in queue, as the original";
  EXPECT_EQ(stats[2].outdated, 6);
  EXPECT_EQ(stats[3].kind, PendingKind::stale);
  EXPECT_EQ(stats[3].count, 4);
  EXPECT_EQ(stats[4].kind, PendingKind::pending_migration);
  EXPECT_EQ(stats[4].oldest, k_now - 9s);
}

} // namespace
} // namespace rsi::ingestdb
