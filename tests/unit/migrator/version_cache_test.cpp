#include "migrator/version_cache.hpp"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace rsi::migrator {
namespace {

TEST(VersionCacheTest, UnknownUntilLoaded) {
  VersionCache cache;

  EXPECT_FALSE(cache.loaded());
  EXPECT_FALSE(cache.get("t").has_value());

  cache.merge({});

  EXPECT_TRUE(cache.loaded());
}

TEST(VersionCacheTest, VersionsNeverGoDown) {
  VersionCache cache;
  cache.merge({{"a", 3}, {"b", 1}});

  cache.merge({{"a", 2}, {"b", 4}, {"c", 0}});
  cache.raise("a", 1);
  cache.raise("d", 7);

  EXPECT_EQ(cache.snapshot(), (ingestdb::VersionMap{{"a", 3}, {"b", 4}, {"c", 0}, {"d", 7}}));
}

TEST(VersionCacheTest, TheSharedMapIsOneUntilAVersionChanges) {
  VersionCache cache;
  cache.merge({{"a", 1}, {"b", 2}});
  const auto first = cache.shared();
  EXPECT_EQ(*first, (ingestdb::VersionMap{{"a", 1}, {"b", 2}}));
  EXPECT_EQ(cache.shared(), first) << "no copy per claim";
  cache.merge({{"a", 1}});
  cache.raise("b", 1);
  EXPECT_EQ(cache.shared(), first) << "nothing changed";

  cache.raise("a", 2);
  const auto second = cache.shared();
  EXPECT_NE(second, first);
  EXPECT_EQ(*second, (ingestdb::VersionMap{{"a", 2}, {"b", 2}}));
  EXPECT_EQ(*first, (ingestdb::VersionMap{{"a", 1}, {"b", 2}})) << "a claim's map never changes";
  cache.merge({{"c", 0}});
  EXPECT_EQ(*cache.shared(), (ingestdb::VersionMap{{"a", 2}, {"b", 2}, {"c", 0}}));
}

TEST(VersionCacheTest, ReadersAndWritersShareIt) {
  VersionCache cache;
  std::vector<std::thread> threads;
  for (int writer = 0; writer < 4; ++writer) {
    threads.emplace_back([&cache, writer] {
      for (int version = 0; version < 1000; ++version) {
        cache.raise(writer % 2 == 0 ? "even" : "odd", version);
        (void)cache.snapshot();
        (void)cache.shared();
        (void)cache.get("even");
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }

  EXPECT_EQ(cache.get("even"), 999);
  EXPECT_EQ(cache.get("odd"), 999);
}

} // namespace
} // namespace rsi::migrator
