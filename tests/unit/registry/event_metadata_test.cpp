#include "registry/event_metadata.hpp"

#include <gtest/gtest.h>

#include "common/gzip.hpp"
#include "support/fake_clock.hpp"

namespace rsi::registry {
namespace {

using namespace std::chrono_literals;

std::string document(const std::vector<std::pair<std::string, std::string>>& events) {
  core::EventMetadata metadata;
  for (const auto& [event, datastores] : events) {
    metadata.events[event]["datastores"] = {.value = datastores};
  }
  return core::encode_event_metadata(metadata);
}

class EventMetadataCacheTest : public ::testing::Test {
protected:
  EventMetadataCache make() {
    return EventMetadataCache(
        [this]() -> Result<std::string> {
          ++m_fetches;
          if (m_body.empty()) {
            return fail(ErrorKind::transient, "GET s3://bp/metadata: connection refused");
          }
          return m_body;
        },
        m_clock, {.reload_every = 5min, .min_forced_interval = 30s});
  }

  test::FakeClock m_clock;
  std::string m_body;
  int m_fetches = 0;
};

TEST_F(EventMetadataCacheTest, ReadsGzipOrPlainJson) {
  auto cache = make();
  m_body = gzip(document({{"minute-watched", "ace,other"}, {"video_play", "other"}})).value();
  ASSERT_TRUE(cache.reload());
  EXPECT_EQ(cache.membership("minute-watched").value(), core::AceMembership::in_ace);
  EXPECT_EQ(cache.membership("video_play").value(), core::AceMembership::not_in_ace);
  m_body = document({{"video_play", "ace"}});
  ASSERT_TRUE(cache.reload());
  EXPECT_EQ(cache.membership("video_play").value(), core::AceMembership::in_ace);
}

TEST_F(EventMetadataCacheTest, UnavailableUntilTheFirstLoad) {
  auto cache = make();
  EXPECT_FALSE(cache.loaded());
  const auto membership = cache.membership("t");
  ASSERT_FALSE(membership);
  EXPECT_EQ(membership.error().kind, ErrorKind::transient);
}

TEST_F(EventMetadataCacheTest, AnUnseenTableReloadsAtOnceButAtMostEveryInterval) {
  auto cache = make();
  m_body = document({{"a", "ace"}});
  ASSERT_TRUE(cache.reload());
  m_body = document({{"a", "ace"}, {"b", "ace"}});
  EXPECT_EQ(cache.membership("b").value(), core::AceMembership::in_ace)
      << "reloaded for the unseen table";
  EXPECT_EQ(m_fetches, 2);

  EXPECT_EQ(cache.membership("c").value(), core::AceMembership::unknown_table);
  EXPECT_EQ(cache.membership("d").value(), core::AceMembership::unknown_table);
  EXPECT_EQ(m_fetches, 2) << "one forced reload per interval, however many unknown tables";
  m_clock.advance(31s);
  m_body = document({{"d", "ace"}});
  EXPECT_EQ(cache.membership("d").value(), core::AceMembership::in_ace);
  EXPECT_EQ(m_fetches, 3);
}

TEST_F(EventMetadataCacheTest, ScheduledReloadsAndAFailedReloadKeepsTheLastGoodDocument) {
  auto cache = make();
  m_body = document({{"a", "ace"}});
  ASSERT_TRUE(cache.reload());
  EXPECT_TRUE(cache.reload_if_due());
  EXPECT_EQ(m_fetches, 1) << "not due yet";
  m_clock.advance(5min);
  m_body = "{broken";
  const auto reloaded = cache.reload_if_due();
  ASSERT_FALSE(reloaded);
  EXPECT_EQ(reloaded.error().kind, ErrorKind::permanent);
  EXPECT_EQ(cache.membership("a").value(), core::AceMembership::in_ace);
}

} // namespace
} // namespace rsi::registry
