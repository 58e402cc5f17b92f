// Reading a batch's files from an object store: order, prefetching, bounded buffering, and
// errors that name the file.

#include "warehouse/batch_files.hpp"

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/gzip.hpp"

namespace rsi::warehouse {
namespace {

// An in-memory store that serves objects in chunks of `chunk_bytes`, optionally failing after
// `fail_after_bytes` of an object.
class FakeStore final : public objectstore::ObjectStore {
public:
  std::map<std::string, std::string, std::less<>> objects;
  std::size_t chunk_bytes = 1000;
  std::optional<std::size_t> fail_after_bytes;
  std::atomic<std::size_t> max_chunks_delivered_ahead{0};

  Result<std::optional<objectstore::ObjectInfo>> get(std::string_view key,
                                                     const objectstore::ChunkSink& sink,
                                                     objectstore::ByteRange /*range*/) override {
    const auto found = objects.find(key);
    if (found == objects.end()) {
      return std::optional<objectstore::ObjectInfo>();
    }
    const std::string& data = found->second;
    for (std::size_t offset = 0; offset < data.size(); offset += chunk_bytes) {
      if (fail_after_bytes && offset >= *fail_after_bytes) {
        return fail(ErrorKind::transient, "connection reset");
      }
      RSI_TRY(sink(std::string_view(data).substr(offset, chunk_bytes)));
    }
    return std::optional<objectstore::ObjectInfo>(
        objectstore::ObjectInfo{.key = std::string(key), .size_bytes = data.size()});
  }
  Result<void> put(std::string_view key, std::string_view data) override {
    objects[std::string(key)] = std::string(data);
    return {};
  }
  Result<void> put_stream(std::string_view, const objectstore::ChunkSource&) override { return {}; }
  Result<void> put_file(std::string_view, const std::filesystem::path&) override { return {}; }
  Result<std::optional<objectstore::ObjectInfo>> head(std::string_view) override {
    return std::nullopt;
  }
  Result<void> remove(std::string_view) override { return {}; }
  Result<objectstore::ListPage> list(std::string_view, const std::optional<std::string>&,
                                     std::size_t) override {
    return objectstore::ListPage{};
  }
  [[nodiscard]] std::string describe() const override { return "fake://"; }
};

std::string gz(const std::string& text) { return gzip(text).value(); }

const std::vector<tsv::Column> k_columns = {{"n", tsv::ColumnType::of(tsv::TypeKind::bigint)},
                                            {"s", tsv::ColumnType::varchar(4)}};

class BatchFilesTest : public ::testing::Test {
protected:
  Result<tsv::LoadCounts> read(const std::vector<std::string>& urls,
                               BatchReadOptions options = {}) {
    m_rows.clear();
    std::vector<core::ObjectLocation> files;
    for (const auto& url : urls) {
      files.push_back(core::parse_s3_url(url).value());
    }
    return read_batch(
        files, locate_in_bucket_folders(m_store), k_columns,
        [&](std::span<const tsv::Field> row) -> Result<void> {
          m_rows.push_back(std::string(row[0].text.value_or("NULL")) + "|" +
                           std::string(row[1].text.value_or("NULL")));
          return {};
        },
        options);
  }

  FakeStore m_store;
  std::vector<std::string> m_rows;
};

TEST_F(BatchFilesTest, ReadsEveryFileInOrder) {
  m_store.objects["b/one.gz"] = gz("1\t\"abcdef\"\n2\t\n");
  m_store.objects["b/two.gz"] = gz("3\tx\n");
  m_store.objects["other/three.gz"] = gz("4\t\\x00y\n");

  const auto counts = read({"s3://b/one.gz", "s3://b/two.gz", "s3://other/three.gz"});

  ASSERT_TRUE(counts) << counts.error().message;
  EXPECT_EQ(m_rows, (std::vector<std::string>{"1|abcd", "2|NULL", "3|x", "4|x00y"}));
  EXPECT_EQ(counts->rows, 4U);
  EXPECT_EQ(counts->truncated_values, 1U);
}

TEST_F(BatchFilesTest, BoundedBufferStreamsLargeFiles) {
  std::string text;
  for (int row = 0; row < 20000; ++row) {
    text += std::to_string(row) + "\tv\n";
  }
  m_store.objects["b/big.gz"] = gz(text);
  m_store.chunk_bytes = 97;

  const auto counts = read({"s3://b/big.gz"}, {.max_buffered_bytes = 256});

  ASSERT_TRUE(counts) << counts.error().message;
  EXPECT_EQ(counts->rows, 20000U);
  EXPECT_EQ(m_rows.back(), "19999|v");
}

TEST_F(BatchFilesTest, MissingFileIsPermanentAndNamed) {
  m_store.objects["b/one.gz"] = gz("1\ta\n");

  const auto counts = read({"s3://b/one.gz", "s3://b/missing.gz"});

  ASSERT_FALSE(counts);
  EXPECT_EQ(counts.error().kind, ErrorKind::permanent);
  EXPECT_EQ(counts.error().message, "s3://b/missing.gz: no such object");
}

TEST_F(BatchFilesTest, BadDataNamesFileLineAndColumn) {
  m_store.objects["b/one.gz"] = gz("1\ta\n");
  m_store.objects["b/bad.gz"] = gz("2\tb\nthree\tc\n");

  const auto counts = read({"s3://b/one.gz", "s3://b/bad.gz"});

  ASSERT_FALSE(counts);
  EXPECT_EQ(counts.error().kind, ErrorKind::permanent);
  EXPECT_NE(counts.error().message.find("s3://b/bad.gz line 2 column 1 (\"n\")"), std::string::npos)
      << counts.error().message;
}

TEST_F(BatchFilesTest, CorruptGzipIsNamed) {
  std::string broken = gz("1\ta\n2\tb\n");
  broken[broken.size() - 6] ^= 0x55; // The CRC-32 no longer matches.
  m_store.objects["b/broken.gz"] = broken;

  const auto counts = read({"s3://b/broken.gz"});

  ASSERT_FALSE(counts);
  EXPECT_EQ(counts.error().kind, ErrorKind::permanent);
  EXPECT_NE(counts.error().message.find("s3://b/broken.gz"), std::string::npos)
      << counts.error().message;
}

TEST_F(BatchFilesTest, DownloadErrorsKeepTheirKind) {
  std::string text;
  for (int row = 0; row < 5000; ++row) {
    text += "1\tv\n";
  }
  m_store.objects["b/flaky.gz"] = gz(text);
  m_store.chunk_bytes = 10;
  m_store.fail_after_bytes = 50;

  const auto counts = read({"s3://b/flaky.gz"});

  ASSERT_FALSE(counts);
  EXPECT_EQ(counts.error().kind, ErrorKind::transient);
  EXPECT_NE(counts.error().message.find("s3://b/flaky.gz: connection reset"), std::string::npos)
      << counts.error().message;
}

TEST_F(BatchFilesTest, AnErrorOfTheConsumerStopsTheDownloads) {
  std::string text;
  for (int row = 0; row < 50000; ++row) {
    text += "1\tv\n";
  }
  m_store.objects["b/a.gz"] = gz(text);
  m_store.objects["b/b.gz"] = gz(text);
  m_store.chunk_bytes = 16;

  int seen = 0;
  const auto counts =
      read_batch(std::vector<core::ObjectLocation>{{"b", "a.gz"}, {"b", "b.gz"}},
                 locate_in_bucket_folders(m_store), k_columns,
                 [&](std::span<const tsv::Field>) -> Result<void> {
                   if (++seen == 10) {
                     return fail(ErrorKind::transient, "COPY data: server closed the connection");
                   }
                   return {};
                 },
                 {.max_buffered_bytes = 64});

  ASSERT_FALSE(counts);
  EXPECT_EQ(counts.error().message, "COPY data: server closed the connection");
}

TEST_F(BatchFilesTest, LocatorsMapBucketsToKeys) {
  const auto in_bucket = locate_in_bucket(m_store, "spade");

  EXPECT_EQ(in_bucket({.bucket = "spade", .key = "a/b.gz"}).value().key, "a/b.gz");
  const auto other = in_bucket({.bucket = "elsewhere", .key = "a/b.gz"});
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().kind, ErrorKind::permanent);
  EXPECT_EQ(locate_in_bucket_folders(m_store)({.bucket = "spade", .key = "a/b.gz"}).value().key,
            "spade/a/b.gz");
}

} // namespace
} // namespace rsi::warehouse
