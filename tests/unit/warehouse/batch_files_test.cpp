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
#include "common/utf8.hpp"
#include "support/tsv_text.hpp"

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
  LoadOutcome<tsv::LoadCounts> read(const std::vector<std::string>& urls,
                                    BatchReadOptions options = {}) {
    m_rows.clear();
    std::vector<core::ObjectLocation> files;
    for (const auto& url : urls) {
      files.push_back(core::parse_s3_url(url).value());
    }
    return read_batch(
        files, locate_in_bucket_folders(m_store), k_columns,
        [&](std::span<const tsv::Field> row) -> Result<void> {
          m_rows.push_back(rsi::test::text_of(row[0], k_columns[0].type).value_or("NULL") + "|" +
                           rsi::test::text_of(row[1], k_columns[1].type).value_or("NULL"));
          return {};
        },
        options);
  }

  // read() with a bad-row limit, collecting the rejected rows in m_rejected.
  LoadOutcome<tsv::LoadCounts> read_skipping(const std::vector<std::string>& urls,
                                             std::uint32_t max_bad_rows) {
    m_rows.clear();
    m_rejected.clear();
    std::vector<core::ObjectLocation> files;
    for (const auto& url : urls) {
      files.push_back(core::parse_s3_url(url).value());
    }
    return read_batch(
        files, locate_in_bucket_folders(m_store), k_columns,
        [&](std::span<const tsv::Field> row) -> Result<void> {
          m_rows.push_back(rsi::test::text_of(row[0], k_columns[0].type).value_or("NULL"));
          return {};
        },
        {}, {.max_bad_rows = max_bad_rows, .on_rejected = [&](RejectedRow row) -> Result<void> {
               m_rejected.push_back(std::move(row));
               return {};
             }});
  }

  FakeStore m_store;
  std::vector<std::string> m_rows;
  std::vector<RejectedRow> m_rejected;
};

void expect_fault(const LoadError& error, FileFault expected) {
  EXPECT_TRUE(error.data) << error.message;
  ASSERT_TRUE(error.fault) << error.message;
  EXPECT_EQ(error.fault->file, expected.file);
  EXPECT_EQ(error.fault->kind, expected.kind) << to_string(error.fault->kind);
  EXPECT_EQ(error.fault->line, expected.line);
  EXPECT_EQ(error.fault->column, expected.column);
}

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
  EXPECT_TRUE(counts.error().data);
  ASSERT_TRUE(counts.error().fault);
  EXPECT_EQ(counts.error().fault->file, 1U);
  EXPECT_EQ(counts.error().fault->kind, FileFaultKind::missing_object);
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
  ASSERT_TRUE(counts.error().fault);
  EXPECT_EQ(counts.error().fault->kind, FileFaultKind::corrupt_gzip);
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
  EXPECT_FALSE(counts.error().data) << "a download that broke is not the file's fault";
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

TEST_F(BatchFilesTest, BadRowsUpToTheLimitAreSkippedAcrossFilesAndReported) {
  m_store.objects["b/one.gz"] = gz("1\ta\n\"x\"\tb\n2\tc\n");
  m_store.objects["b/two.gz"] = gz("3\td\textra\n4\te\n");

  const auto counts = read_skipping({"s3://b/one.gz", "s3://b/two.gz"}, 2);

  ASSERT_TRUE(counts) << counts.error().message;
  EXPECT_EQ(m_rows, (std::vector<std::string>{"1", "2", "4"}));
  EXPECT_EQ(counts->rows, 3U);
  ASSERT_EQ(m_rejected.size(), 2U);
  EXPECT_EQ(m_rejected[0].file, 0U);
  EXPECT_EQ(m_rejected[0].file_url, "s3://b/one.gz");
  EXPECT_EQ(m_rejected[0].line, 2U);
  EXPECT_EQ(m_rejected[0].column, "n");
  EXPECT_EQ(m_rejected[0].raw_text, "\"x\"\tb"); // As in the file: quotes kept.
  EXPECT_EQ(m_rejected[0].reason, "s3://b/one.gz line 2 column 1 (\"n\"): invalid bigint \"x\"");
  EXPECT_EQ(m_rejected[1].file, 1U);
  EXPECT_EQ(m_rejected[1].file_url, "s3://b/two.gz");
  EXPECT_EQ(m_rejected[1].line, 1U);
  EXPECT_EQ(m_rejected[1].column, "");
  EXPECT_EQ(m_rejected[1].raw_text, "3\td\textra");
  EXPECT_EQ(m_rejected[1].reason,
            "s3://b/two.gz line 1: extra column(s) found: more than 2 fields");
}

TEST_F(BatchFilesTest, TheBadRowPastTheLimitFailsTheBatchAsTooManyBadRows) {
  m_store.objects["b/one.gz"] = gz("1\ta\nx\tb\n2\tc\n");
  m_store.objects["b/two.gz"] = gz("3\td\n\n4\tlong value\ny\te\n");

  const auto counts = read_skipping({"s3://b/one.gz", "s3://b/two.gz"}, 1);

  ASSERT_FALSE(counts);
  EXPECT_EQ(counts.error().kind, ErrorKind::permanent);
  expect_fault(counts.error(),
               {.file = 1, .kind = FileFaultKind::too_many_bad_rows, .line = 4, .column = 1});
  EXPECT_EQ(counts.error().message, "too many bad rows: 1 rejected (max_bad_rows 1), then "
                                    "s3://b/two.gz line 4 column 1 (\"n\"): invalid bigint \"y\"");
  EXPECT_EQ(m_rejected.size(), 1U);
}

TEST_F(BatchFilesTest, WithoutALimitTheFirstBadRowFailsTheBatchWithItsKind) {
  m_store.objects["b/one.gz"] = gz("1\ta\n2\tb\tc\n");

  const auto counts = read_skipping({"s3://b/one.gz"}, 0);

  ASSERT_FALSE(counts);
  expect_fault(counts.error(), {.file = 0, .kind = FileFaultKind::bad_record, .line = 2});
  EXPECT_EQ(counts.error().message,
            "s3://b/one.gz line 2: extra column(s) found: more than 2 fields");
  EXPECT_TRUE(m_rejected.empty());
}

TEST_F(BatchFilesTest, FaultsThatAreNotAboutOneRowAreNeverSkipped) {
  std::string broken = gz("x\ta\n2\tb\n");
  broken[broken.size() - 6] ^= 0x55; // The CRC-32 no longer matches.
  m_store.objects["b/broken.gz"] = broken;
  // Longer than the 4 MiB COPY allows even where the reader's buffer doubles past it.
  m_store.objects["b/long.gz"] = gz("x\ta\n" + std::string(12U << 20U, '7') + "\n");

  const auto corrupt = read_skipping({"s3://b/broken.gz"}, 1000);
  const auto too_long = read_skipping({"s3://b/long.gz"}, 1000);
  m_store.objects["b/ok.gz"] = gz("x\ta\n1\tb\n");
  const auto missing = read_skipping({"s3://b/ok.gz", "s3://b/missing.gz"}, 1000);

  ASSERT_FALSE(corrupt);
  expect_fault(corrupt.error(), {.file = 0, .kind = FileFaultKind::corrupt_gzip});
  ASSERT_FALSE(too_long);
  expect_fault(too_long.error(), {.file = 0, .kind = FileFaultKind::record_too_long, .line = 2});
  ASSERT_FALSE(missing);
  expect_fault(missing.error(), {.file = 1, .kind = FileFaultKind::missing_object});
}

TEST_F(BatchFilesTest, RejectedRowTextIsValidUtf8WithoutNulAndCut) {
  m_store.objects["b/odd.gz"] = gz(std::string("\xff\xfe\tb\n"
                                               "1\ta\x00"
                                               "b\n",
                                               11) +
                                   std::string(3000, '9') + "x\tc\n");

  const auto counts = read_skipping({"s3://b/odd.gz"}, 10);

  ASSERT_TRUE(counts) << counts.error().message;
  ASSERT_EQ(m_rejected.size(), 3U);
  EXPECT_EQ(m_rejected[0].raw_text, "??\tb");
  EXPECT_EQ(m_rejected[1].raw_text, "1\ta?b");
  EXPECT_EQ(m_rejected[1].column, "s");
  EXPECT_EQ(m_rejected[2].raw_text, std::string(k_rejected_text_bytes, '9'));
  for (const RejectedRow& row : m_rejected) {
    for (const std::string* text : {&row.raw_text, &row.reason, &row.file_url}) {
      EXPECT_TRUE(is_valid_utf8(*text)) << *text;
      EXPECT_EQ(text->find('\0'), std::string::npos) << *text;
      EXPECT_LE(text->size(), k_rejected_text_bytes);
    }
  }
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
