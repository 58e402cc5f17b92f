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

std::vector<std::string> listed_keys(ObjectStore& store, std::string_view prefix,
                                     std::size_t page_size) {
  std::vector<std::string> keys;
  std::optional<std::string> token;
  for (int pages = 0; pages < 100; ++pages) {
    auto page = store.list(prefix, token, page_size);
    EXPECT_TRUE(page) << page.error().message;
    if (!page) {
      break;
    }
    EXPECT_LE(page->objects.size(), page_size);
    for (const auto& object : page->objects) {
      keys.push_back(object.key);
    }
    token = page->next_token;
    if (!token) {
      break;
    }
  }
  return keys;
}

// S3 lists keys in byte order; folders on disk must not change that: '-' and '.' sort before
// '/', '0' after it, so a folder's keys fall between its neighbours'. (s3rver lists in its own
// folder walk's order instead, and its pages then skip keys, so this is not a contract test.)
TEST_F(LocalObjectStoreTest, PagesFollowKeyByteOrderAcrossFolders) {
  const std::vector<std::string> expected = {"o/a-b", "o/a.c", "o/a/b/1", "o/a/b/2", "o/a/c",
                                             "o/a0",  "o/b",   "o/b0/x",  "o/bz"};
  for (auto it = expected.rbegin(); it != expected.rend(); ++it) {
    ASSERT_TRUE(m_store->put(*it, "x"));
  }
  ASSERT_TRUE(m_store->put("p/other", "x"));

  EXPECT_EQ(listed_keys(*m_store, "o/", 1), expected);
  EXPECT_EQ(listed_keys(*m_store, "o/", 4), expected);
  EXPECT_EQ(listed_keys(*m_store, "o/a", 2),
            std::vector<std::string>(expected.begin(), expected.begin() + 6));
  EXPECT_EQ(listed_keys(*m_store, "o/a/b", 1),
            std::vector<std::string>(expected.begin() + 2, expected.begin() + 4));
  EXPECT_EQ(listed_keys(*m_store, "", 1000).size(), expected.size() + 1);
}

TEST_F(LocalObjectStoreTest, LinksToFoldersAreNotFollowed) {
  ASSERT_TRUE(m_store->put("real/file", "x"));
  std::filesystem::create_directory_symlink(m_dir.path("root") / "real",
                                            m_dir.path("root") / "link");
  std::filesystem::create_symlink(m_dir.path("root") / "real/file",
                                  m_dir.path("root") / "file-link");

  EXPECT_EQ(listed_keys(*m_store, "", 10), (std::vector<std::string>{"file-link", "real/file"}));
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
