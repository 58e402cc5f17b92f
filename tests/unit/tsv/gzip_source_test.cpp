#include "tsv/gzip_source.hpp"

#include <array>
#include <string>

#include <gtest/gtest.h>

#include "support/testdata.hpp"
#include "tsv_test_util.hpp"

namespace rsi::tsv {
namespace {

// Reads `source` to its end in reads of `chunk` bytes.
Result<std::string> read_all(ByteSource& source, std::size_t chunk = 4096) {
  std::string out;
  std::string buffer(chunk, '\0');
  while (true) {
    RSI_TRY_ASSIGN(const std::size_t got, source.read(buffer));
    if (got == 0) {
      return out;
    }
    out.append(buffer.data(), got);
  }
}

Result<std::string> gunzip(std::string compressed, std::size_t read_chunk = 4096,
                           std::size_t input_chunk = 1U << 20U) {
  test::TrickleSource compressed_source(std::move(compressed), input_chunk);
  auto source = make_gzip_source(compressed_source, "x.gz");
  return read_all(*source, read_chunk);
}

std::string sample_text(std::size_t lines) {
  std::string text;
  for (std::size_t line = 0; line < lines; ++line) {
    text += "\"2017-01-30 16:26:23\"\t\"" + std::to_string(line * 7919) + "\"\t\"abc\"\n";
  }
  return text;
}

TEST(TsvGzipSourceTest, InflatesOneMember) {
  const std::string text = sample_text(1000);

  const auto inflated = gunzip(test::gzip(text));

  ASSERT_TRUE(inflated) << inflated.error().message;
  EXPECT_EQ(*inflated, text);
}

TEST(TsvGzipSourceTest, ConcatenatedMembersReadAsTheirConcatenation) {
  const std::string first = sample_text(500);
  const std::string second = "second member\n";
  const std::string third = sample_text(20);

  const auto inflated =
      gunzip(test::gzip(first) + test::gzip(second, 1) + test::gzip("") + test::gzip(third, 9));

  ASSERT_TRUE(inflated) << inflated.error().message;
  EXPECT_EQ(*inflated, first + second + third);
}

TEST(TsvGzipSourceTest, CopesWithTinyReadsAndTinyInputChunks) {
  const std::string text = sample_text(300);

  const auto inflated = gunzip(test::gzip(text) + test::gzip(text), 7, 3);

  ASSERT_TRUE(inflated) << inflated.error().message;
  EXPECT_EQ(*inflated, text + text);
}

TEST(TsvGzipSourceTest, TruncatedStreamIsAnError) {
  const std::string compressed = test::gzip(sample_text(1000));

  for (const std::size_t keep :
       {std::size_t{0}, std::size_t{5}, std::size_t{10}, compressed.size() / 2,
        compressed.size() - 4, compressed.size() - 1}) {
    const auto inflated = gunzip(compressed.substr(0, keep));

    ASSERT_FALSE(inflated) << "kept " << keep << " bytes";
    EXPECT_EQ(inflated.error().kind, ErrorKind::permanent);
    EXPECT_EQ(inflated.error().message, "read x.gz: unexpected end of gzip stream");
  }
}

TEST(TsvGzipSourceTest, TruncatedSecondMemberIsAnError) {
  const std::string second = test::gzip(sample_text(10));

  const auto inflated = gunzip(test::gzip("first\n") + second.substr(0, second.size() - 3));

  ASSERT_FALSE(inflated);
  EXPECT_EQ(inflated.error().message, "read x.gz: unexpected end of gzip stream");
}

TEST(TsvGzipSourceTest, BadCrcIsAnError) {
  std::string compressed = test::gzip(sample_text(100));
  compressed[compressed.size() - 8] ^= 0x01; // First byte of the CRC-32 in the trailer.

  const auto inflated = gunzip(compressed);

  ASSERT_FALSE(inflated);
  EXPECT_EQ(inflated.error().kind, ErrorKind::permanent);
  EXPECT_EQ(inflated.error().message, "read x.gz: gzip member 1: CRC-32 or length mismatch");
}

TEST(TsvGzipSourceTest, BadLengthIsAnError) {
  std::string compressed = test::gzip(sample_text(100));
  compressed[compressed.size() - 4] ^= 0x01; // ISIZE in the trailer.

  const auto inflated = gunzip(compressed);

  ASSERT_FALSE(inflated);
  EXPECT_EQ(inflated.error().message, "read x.gz: gzip member 1: CRC-32 or length mismatch");
}

TEST(TsvGzipSourceTest, GarbageAfterAMemberIsAnError) {
  const auto inflated = gunzip(test::gzip("data\n") + "this is not gzip at all");

  ASSERT_FALSE(inflated);
  EXPECT_EQ(inflated.error().message, "read x.gz: data after gzip member 1 is not gzip");
}

TEST(TsvGzipSourceTest, PlainTextIsAnError) {
  const auto inflated = gunzip("\"2017-01-30\"\t\"x\"\n");

  ASSERT_FALSE(inflated);
  EXPECT_EQ(inflated.error().message, "read x.gz: gzip member 1: invalid gzip header");
}

TEST(TsvGzipSourceTest, CorruptDeflateDataIsAnError) {
  std::string compressed = test::gzip(sample_text(100));
  for (std::size_t index = 12; index < 40; ++index) {
    compressed[index] = static_cast<char>(0xFF);
  }

  const auto inflated = gunzip(compressed);

  ASSERT_FALSE(inflated);
  EXPECT_EQ(inflated.error().kind, ErrorKind::permanent);
}

TEST(TsvGzipSourceTest, ErrorsAreSticky) {
  test::TrickleSource compressed("not gzip", 100);
  auto source = make_gzip_source(compressed, "x.gz");
  std::array<char, 16> buffer{};

  const auto first = source->read(buffer);
  const auto second = source->read(buffer);

  ASSERT_FALSE(first);
  ASSERT_FALSE(second);
  EXPECT_EQ(first.error().message, second.error().message);
}

TEST(TsvGzipSourceTest, TruncatedSpadeFileIsAnError) {
  RSI_REQUIRE_TESTDATA(path, rsi::test::testdata_file("spade-minute-watched.v0.truncated.tsv.gz"));
  auto file = open_file_source(path);
  ASSERT_TRUE(file) << file.error().message;
  auto source = make_gzip_source(**file, "minute-watched/v0.truncated.tsv.gz");

  const auto inflated = read_all(*source, 1U << 16U);

  ASSERT_FALSE(inflated);
  EXPECT_EQ(inflated.error().message,
            "read minute-watched/v0.truncated.tsv.gz: unexpected end of gzip stream");
}

TEST(TsvFileSourceTest, MissingFileIsAPermanentError) {
  const auto file = open_file_source("/nonexistent/file.gz");

  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().kind, ErrorKind::permanent);
  EXPECT_NE(file.error().message.find("/nonexistent/file.gz"), std::string::npos);
}

} // namespace
} // namespace rsi::tsv
