// Behaviour every ObjectStore backend shares. Runs against the local directory backend
// always and against S3 (s3rver, started by scripts/test as RSI_TEST_S3_ENDPOINT) when it is
// there; RSI_TEST_REQUIRE_SERVICES=1 turns a missing S3 into a failure.

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "http/sha256.hpp"
#include "objectstore/local_object_store.hpp"
#include "objectstore/object_store.hpp"
#include "s3_test_support.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"

namespace rsi::objectstore {
namespace {

constexpr std::uint64_t k_part_bytes = 5ULL * 1024 * 1024; // S3's smallest part size.

struct Backend {
  std::string name;
  bool needs_s3 = false;
  std::function<Result<std::unique_ptr<ObjectStore>>(const test::TempDir&)> make;
  // A store whose bucket or root does not exist, and the name errors must mention.
  std::function<Result<std::unique_ptr<ObjectStore>>(const test::TempDir&)> make_missing;
  std::string missing_name;
};

// Names the backend in test output (the default prints its bytes).
void PrintTo(const Backend& backend, std::ostream* out) { *out << backend.name; }

// Deterministic bytes that differ at every offset of a part (catches misplaced chunks).
std::string pattern(std::size_t size, unsigned seed = 1) {
  std::string data(size, '\0');
  std::uint32_t state = seed * 2654435761U + 1;
  for (auto& byte : data) {
    state = state * 1664525U + 1013904223U;
    byte = static_cast<char>(state >> 24);
  }
  return data;
}

// A ChunkSource over `data` that hands out at most `chunk` bytes per call.
ChunkSource source_of(const std::string& data, std::size_t chunk = 100'000) {
  auto offset = std::make_shared<std::size_t>(0);
  return [&data, chunk, offset](std::span<char> buffer) -> Result<std::size_t> {
    const std::size_t size = std::min({buffer.size(), chunk, data.size() - *offset});
    std::copy_n(data.data() + *offset, size, buffer.data());
    *offset += size;
    return size;
  };
}

class ObjectStoreContract : public ::testing::TestWithParam<Backend> {
protected:
  void SetUp() override {
    if (GetParam().needs_s3) {
      RSI_REQUIRE_SERVICE(test::s3_endpoint(), "S3 emulator (RSI_TEST_S3_ENDPOINT)");
    }
    auto store = GetParam().make(m_dir);
    ASSERT_TRUE(store) << store.error().message;
    m_store = std::move(*store);
  }

  Result<std::optional<std::string>> read(std::string_view key) {
    return get_string(*m_store, key);
  }

  std::vector<std::string> keys(std::string_view prefix) {
    auto objects = list_all(*m_store, prefix);
    EXPECT_TRUE(objects) << objects.error().message;
    std::vector<std::string> names;
    for (const auto& object : objects.value_or(std::vector<ObjectInfo>{})) {
      names.push_back(object.key);
    }
    return names;
  }

  test::TempDir m_dir;
  std::unique_ptr<ObjectStore> m_store;
};

TEST_P(ObjectStoreContract, PutThenGetReturnsTheSameBytesAndInfo) {
  const std::string data = pattern(70'000);

  ASSERT_TRUE(m_store->put("2016/07/29/table/v0/file.log.gz", data));
  std::string read_back;
  auto info =
      m_store->get("2016/07/29/table/v0/file.log.gz", [&](std::string_view chunk) -> Result<void> {
        read_back.append(chunk);
        return {};
      });

  ASSERT_TRUE(info) << info.error().message;
  ASSERT_TRUE(info->has_value());
  EXPECT_EQ(read_back, data);
  EXPECT_EQ((*info)->size_bytes, data.size());
  EXPECT_FALSE((*info)->etag.empty());
}

TEST_P(ObjectStoreContract, MissingKeyIsNulloptAndReachesNoSink) {
  bool called = false;

  auto info = m_store->get("no/such/key", [&](std::string_view) -> Result<void> {
    called = true;
    return {};
  });
  auto head = m_store->head("no/such/key");

  ASSERT_TRUE(info) << info.error().message;
  EXPECT_FALSE(info->has_value());
  EXPECT_FALSE(called);
  ASSERT_TRUE(head) << head.error().message;
  EXPECT_FALSE(head->has_value());
}

TEST_P(ObjectStoreContract, HeadGivesSizeAndAnEtagThatChangesWithTheContent) {
  ASSERT_TRUE(m_store->put("a/object", "first version"));
  auto first = m_store->head("a/object");
  ASSERT_TRUE(m_store->put("a/object", "second, longer version"));
  auto second = m_store->head("a/object");

  ASSERT_TRUE(first && second);
  ASSERT_TRUE(first->has_value() && second->has_value());
  EXPECT_EQ((*first)->size_bytes, 13U);
  EXPECT_EQ((*second)->size_bytes, 22U);
  EXPECT_NE((*first)->etag, (*second)->etag);
  EXPECT_EQ(read(("a/object")).value(), "second, longer version");
}

TEST_P(ObjectStoreContract, EmptyObjectsWork) {
  ASSERT_TRUE(m_store->put("empty", ""));

  auto content = read("empty");
  auto head = m_store->head("empty");

  ASSERT_TRUE(content && head);
  EXPECT_EQ(content->value(), "");
  ASSERT_TRUE(head->has_value());
  EXPECT_EQ((*head)->size_bytes, 0U);
}

TEST_P(ObjectStoreContract, RangedGetReturnsOnlyTheRange) {
  const std::string data = pattern(10'000);
  ASSERT_TRUE(m_store->put("ranged", data));
  std::string middle;
  std::string tail;

  auto first = m_store->get("ranged",
                            [&](std::string_view chunk) -> Result<void> {
                              middle.append(chunk);
                              return {};
                            },
                            {.offset = 100, .length = 250});
  auto second = m_store->get("ranged",
                             [&](std::string_view chunk) -> Result<void> {
                               tail.append(chunk);
                               return {};
                             },
                             {.offset = 9'990, .length = std::nullopt});

  ASSERT_TRUE(first && second) << (first ? second.error().message : first.error().message);
  EXPECT_EQ(middle, data.substr(100, 250));
  EXPECT_EQ(tail, data.substr(9'990));
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->size_bytes, data.size());
}

TEST_P(ObjectStoreContract, RangePastTheEndIsPermanent) {
  ASSERT_TRUE(m_store->put("short", "0123456789"));

  auto info = m_store->get("short", [](std::string_view) -> Result<void> { return {}; },
                           {.offset = 10, .length = 5});

  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().kind, ErrorKind::permanent);
}

TEST_P(ObjectStoreContract, RemoveDeletesAndIsIdempotent) {
  ASSERT_TRUE(m_store->put("gone/soon", "x"));

  auto removed = m_store->remove("gone/soon");
  auto again = m_store->remove("gone/soon");
  auto head = m_store->head("gone/soon");

  ASSERT_TRUE(removed && again) << (removed ? again.error().message : removed.error().message);
  ASSERT_TRUE(head);
  EXPECT_FALSE(head->has_value());
}

TEST_P(ObjectStoreContract, ListReturnsKeysUnderThePrefixInOrderAcrossPages) {
  for (const auto* key : {"p/3", "p/1", "p/sub/2", "p/0", "p/5", "p/4", "p/6", "q/1", "pp"}) {
    ASSERT_TRUE(m_store->put(key, key));
  }
  std::vector<std::string> paged;
  std::optional<std::string> token;
  int pages = 0;

  do {
    auto page = m_store->list("p/", token, 3);
    ASSERT_TRUE(page) << page.error().message;
    EXPECT_LE(page->objects.size(), 3U);
    for (const auto& object : page->objects) {
      paged.push_back(object.key);
      EXPECT_EQ(object.size_bytes, object.key.size());
    }
    token = page->next_token;
    ++pages;
  } while (token && pages < 10);

  const std::vector<std::string> expected = {"p/0", "p/1", "p/3", "p/4", "p/5", "p/6", "p/sub/2"};
  EXPECT_EQ(paged, expected);
  EXPECT_GE(pages, 3);
  EXPECT_EQ(keys("p/"), expected);
  EXPECT_EQ(keys("p/s"), std::vector<std::string>{"p/sub/2"});
  EXPECT_TRUE(keys("nothing/here/").empty());
}

TEST_P(ObjectStoreContract, KeysWithSpecialCharactersRoundTrip) {
  const std::string key = "dir/a b+c%d=e&f\xc3\xa9~(1).gz";

  ASSERT_TRUE(m_store->put(key, "special"));

  EXPECT_EQ(read(key).value(), "special");
  EXPECT_EQ(keys("dir/"), std::vector<std::string>{key});
}

TEST_P(ObjectStoreContract, InvalidKeysArePermanentErrors) {
  for (const auto* key : {"", "/absolute", "a//b", "a/../b", "./a", "a/", "..", "a/."}) {
    auto put = m_store->put(key, "x");
    auto head = m_store->head(key);

    ASSERT_FALSE(put) << "key " << key;
    EXPECT_EQ(put.error().kind, ErrorKind::permanent) << "key " << key;
    ASSERT_FALSE(head) << "key " << key;
    EXPECT_EQ(head.error().kind, ErrorKind::permanent) << "key " << key;
  }
}

TEST_P(ObjectStoreContract, LargeStreamsGoUpInPartsAndComeBackInChunks) {
  const std::string data = pattern(2 * k_part_bytes + 123'457, 7);

  auto put = m_store->put_stream("big/stream.bin", source_of(data));
  ASSERT_TRUE(put) << put.error().message;
  http::Sha256 hash;
  std::size_t largest_chunk = 0;
  std::size_t total = 0;
  auto info = m_store->get("big/stream.bin", [&](std::string_view chunk) -> Result<void> {
    hash.update(chunk);
    largest_chunk = std::max(largest_chunk, chunk.size());
    total += chunk.size();
    return {};
  });

  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(total, data.size());
  EXPECT_EQ(hash.finish_hex(), http::sha256_hex(data));
  EXPECT_LE(largest_chunk, 1024U * 1024U);
  EXPECT_EQ(m_store->head("big/stream.bin").value().value().size_bytes, data.size());
}

TEST_P(ObjectStoreContract, LargeInMemoryPutAndFilePutRoundTrip) {
  const std::string data = pattern(k_part_bytes + 1, 3);
  const auto file = m_dir.path("upload.bin");
  std::ofstream(file, std::ios::binary) << data;
  const auto small_file = m_dir.path("small.bin");
  std::ofstream(small_file, std::ios::binary) << "small file";

  auto from_memory = m_store->put("big/memory.bin", data);
  auto from_file = m_store->put_file("big/file.bin", file);
  auto from_small_file = m_store->put_file("small/file.bin", small_file);

  ASSERT_TRUE(from_memory) << from_memory.error().message;
  ASSERT_TRUE(from_file) << from_file.error().message;
  ASSERT_TRUE(from_small_file) << from_small_file.error().message;
  EXPECT_EQ(http::sha256_hex(read("big/memory.bin").value().value()), http::sha256_hex(data));
  EXPECT_EQ(http::sha256_hex(read("big/file.bin").value().value()), http::sha256_hex(data));
  EXPECT_EQ(read("small/file.bin").value(), "small file");
}

TEST_P(ObjectStoreContract, FailingSourceLeavesNoObjectAndReturnsItsError) {
  const std::string data = pattern(k_part_bytes + 10, 5);
  std::size_t handed_out = 0;

  auto put =
      m_store->put_stream("broken/upload", [&](std::span<char> buffer) -> Result<std::size_t> {
        if (handed_out >= k_part_bytes + 5) {
          return fail(ErrorKind::transient, "source broke");
        }
        const std::size_t size = std::min(buffer.size(), data.size() - handed_out);
        std::copy_n(data.data() + handed_out, size, buffer.data());
        handed_out += size;
        return size;
      });

  ASSERT_FALSE(put);
  EXPECT_NE(put.error().message.find("source broke"), std::string::npos) << put.error().message;
  EXPECT_FALSE(m_store->head("broken/upload").value().has_value());
  EXPECT_TRUE(keys("broken/").empty());
}

TEST_P(ObjectStoreContract, SinkErrorStopsTheDownloadAndIsReturnedAsIs) {
  ASSERT_TRUE(m_store->put("sink/fails", pattern(3 * 1024 * 1024)));
  int calls = 0;

  auto info = m_store->get("sink/fails", [&](std::string_view) -> Result<void> {
    ++calls;
    return fail(ErrorKind::conflict, "sink is full");
  });

  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().kind, ErrorKind::conflict);
  EXPECT_NE(info.error().message.find("sink is full"), std::string::npos);
  EXPECT_EQ(calls, 1);
}

TEST_P(ObjectStoreContract, MissingBucketOrRootIsAPermanentErrorNamingIt) {
  auto missing = GetParam().make_missing(m_dir);
  ASSERT_TRUE(missing) << missing.error().message;
  ObjectStore& store = **missing;
  const auto ignore = [](std::string_view) -> Result<void> { return {}; };

  std::vector<Error> errors;
  if (auto got = store.get("k", ignore); !got) {
    errors.push_back(got.error());
  }
  if (auto head = store.head("k"); !head) {
    errors.push_back(head.error());
  }
  if (auto put = store.put("k", "v"); !put) {
    errors.push_back(put.error());
  }
  if (auto page = store.list("", std::nullopt); !page) {
    errors.push_back(page.error());
  }

  ASSERT_EQ(errors.size(), 4U);
  for (const auto& error : errors) {
    EXPECT_EQ(error.kind, ErrorKind::permanent) << error.message;
    EXPECT_NE(error.message.find(GetParam().missing_name), std::string::npos) << error.message;
  }
}

std::vector<Backend> backends() {
  return {
      Backend{
          .name = "local",
          .needs_s3 = false,
          .make =
              [](const test::TempDir& dir) {
                return make_local_object_store({.root = dir.path("objects"), .create_root = true});
              },
          .make_missing =
              [](const test::TempDir& dir) {
                auto store =
                    make_local_object_store({.root = dir.path("vanishing"), .create_root = true});
                std::filesystem::remove_all(dir.path("vanishing"));
                return store;
              },
          .missing_name = "vanishing"},
      Backend{.name = "s3",
              .needs_s3 = true,
              .make =
                  [](const test::TempDir&) {
                    return make_s3_object_store(
                        test::s3_test_config(test::shared_test_bucket(), k_part_bytes));
                  },
              .make_missing =
                  [](const test::TempDir&) {
                    return make_s3_object_store(
                        test::s3_test_config("rsi-no-such-bucket-4711", k_part_bytes));
                  },
              .missing_name = "rsi-no-such-bucket-4711"},
  };
}

INSTANTIATE_TEST_SUITE_P(Backends, ObjectStoreContract, ::testing::ValuesIn(backends()),
                         [](const auto& param_info) { return param_info.param.name; });

} // namespace
} // namespace rsi::objectstore
