// What only the local backend does; shared behaviour is in the contract suite
// (tests/integration/objectstore).

#include "objectstore/local_object_store.hpp"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace rsi::objectstore {
namespace {

class LocalObjectStoreTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto store = make_local_object_store({.root = m_dir.path("root"), .create_root = true});
    ASSERT_TRUE(store) << store.error().message;
    m_store = std::move(*store);
  }

  test::TempDir m_dir;
  std::unique_ptr<ObjectStore> m_store;
};

TEST_F(LocalObjectStoreTest, ObjectsAreFilesUnderTheRoot) {
  ASSERT_TRUE(m_store->put("a/b/c.gz", "content"));

  std::ifstream file(m_dir.path("root") / "a/b/c.gz");
  std::stringstream content;
  content << file.rdbuf();
  EXPECT_EQ(content.str(), "content");
  EXPECT_EQ(m_store->describe(), "file://" + m_dir.path("root").string());
}

TEST_F(LocalObjectStoreTest, PartialFilesOfInterruptedPutsAreNotListed) {
  ASSERT_TRUE(m_store->put("dir/real", "x"));
  std::ofstream(m_dir.path("root") / "dir/.rsi-partial-real-0123") << "half";

  auto page = m_store->list("dir/", std::nullopt);

  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->objects.size(), 1U);
  EXPECT_EQ(page->objects[0].key, "dir/real");
  EXPECT_FALSE(m_store->put("dir/.rsi-partial-x", "reserved name"));
}

TEST_F(LocalObjectStoreTest, FailedSourceLeavesNoPartialFileBehind) {
  auto put = m_store->put_stream("dir/broken", [](std::span<char>) -> Result<std::size_t> {
    return fail(ErrorKind::transient, "broke");
  });

  ASSERT_FALSE(put);
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::recursive_directory_iterator(m_dir.path("root"))) {
    files += entry.is_regular_file() ? 1 : 0;
  }
  EXPECT_EQ(files, 0U);
}

TEST_F(LocalObjectStoreTest, AKeyCannotBeBothAnObjectAndAPrefix) {
  ASSERT_TRUE(m_store->put("a", "object"));

  auto nested = m_store->put("a/b", "under an object");

  ASSERT_FALSE(nested);
  EXPECT_EQ(nested.error().kind, ErrorKind::permanent);
  auto directory = m_store->head("a/b/../b"); // Invalid key, not a path trick.
  EXPECT_FALSE(directory);
}

TEST_F(LocalObjectStoreTest, ADirectoryIsNoObject) {
  ASSERT_TRUE(m_store->put("dir/file", "x"));

  auto head = m_store->head("dir");
  auto removed = m_store->remove("dir");

  ASSERT_TRUE(head);
  EXPECT_FALSE(head->has_value());
  EXPECT_TRUE(removed);
  EXPECT_TRUE(m_store->head("dir/file").value().has_value());
}

TEST(LocalObjectStoreFactoryTest, MissingRootIsPermanentUnlessCreated) {
  test::TempDir dir;

  auto missing = make_local_object_store({.root = dir.path("nope"), .create_root = false});
  auto created = make_local_object_store({.root = dir.path("made/here/"), .create_root = true});

  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::permanent);
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_TRUE(std::filesystem::is_directory(dir.path("made/here")));
}

} // namespace
} // namespace rsi::objectstore
