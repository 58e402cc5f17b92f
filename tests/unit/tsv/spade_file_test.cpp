// The real Spade file ../shared/testdata/spade-minute-watched.v0.tsv.gz: 7,504 lines of 23
// double-quoted, tab-separated fields written by Spade (Go), whose device ids include Go's
// escaped NUL bytes (`\x00\x00\x00\x00\x00`), read with a schema that fits its columns.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/testdata.hpp"
#include "support/tsv_text.hpp"
#include "tsv/reader.hpp"
#include "tsv_test_util.hpp"
#include "warehouse/pg_copy_text.hpp"

namespace rsi::tsv {
namespace {

constexpr std::uint64_t k_rows = 7504;
constexpr std::uint64_t k_uncompressed_bytes = 2398406;

std::vector<Column> minute_watched_columns() {
  return {
      {"time", ColumnType::of(TypeKind::timestamp)},
      {"time_utc", ColumnType::of(TypeKind::timestamp)},
      {"adblock", ColumnType::of(TypeKind::boolean)},
      {"browser", ColumnType::varchar(128)}, // Narrower than some values: TRUNCATECOLUMNS.
      {"buffer_empty_count", ColumnType::of(TypeKind::bigint)},
      {"channel", ColumnType::varchar(25)},
      {"channel_id", ColumnType::of(TypeKind::bigint)},
      {"content_mode", ColumnType::varchar(16)},
      {"current_bitrate", ColumnType::of(TypeKind::double_precision)},
      {"device_id", ColumnType::varchar(32)},
      {"game", ColumnType::varchar(64)},
      {"live", ColumnType::of(TypeKind::boolean)},
      {"logged_in", ColumnType::of(TypeKind::boolean)},
      {"ip", ColumnType::varchar(15)},
      {"platform", ColumnType::varchar(16)},
      {"buffer_seconds", ColumnType::decimal(10, 2)}, // 4.457 -> 4.46: ROUNDEC.
      {"vod_id", ColumnType::varchar(8)},
      {"vod_type", ColumnType::varchar(16)},
      // Always empty in this file: NULL whatever the type.
      {"quality", ColumnType::character(2)},
      {"retries", ColumnType::of(TypeKind::integer)},
      {"session_date", ColumnType::of(TypeKind::date)},
      {"volume", ColumnType::of(TypeKind::real)},
      {"hidden", ColumnType::of(TypeKind::smallint)},
  };
}

// The text of the current row's value in `column`, "NULL" for NULL.
std::string text_or_null(const Reader& reader, std::size_t column) {
  return rsi::test::text_of(reader.row()[column], reader.columns()[column].type).value_or("NULL");
}

class TsvSpadeFileTest : public ::testing::Test {
protected:
  void open(std::size_t chunk) {
    RSI_REQUIRE_TESTDATA(path, rsi::test::testdata_file("spade-minute-watched.v0.tsv.gz"));
    auto file = open_file_source(path);
    ASSERT_TRUE(file) << file.error().message;
    // Re-serve the file in `chunk`-byte reads to move buffer boundaries around.
    std::string compressed;
    std::string buffer(1U << 16U, '\0');
    while (true) {
      const auto got = (*file)->read(buffer);
      ASSERT_TRUE(got) << got.error().message;
      if (*got == 0) {
        break;
      }
      compressed.append(buffer.data(), *got);
    }
    m_source = std::make_unique<test::TrickleSource>(std::move(compressed), chunk);
    auto reader = Reader::open(*m_source, minute_watched_columns(),
                               {.name = "minute-watched/v0/spade-minute-watched.v0.tsv.gz"});
    ASSERT_TRUE(reader) << reader.error().message;
    m_reader.emplace(std::move(*reader));
  }

  std::unique_ptr<test::TrickleSource> m_source;
  std::optional<Reader> m_reader;
};

TEST_F(TsvSpadeFileTest, LoadsEveryRowWithCopySemantics) {
  open(1U << 20U);
  if (!m_reader) {
    return; // Skipped: no shared test data.
  }
  std::uint64_t rows = 0;
  std::uint64_t escaped_nul_device_ids = 0;
  std::uint64_t backslashes = 0;
  std::uint64_t null_adblock = 0;
  std::uint64_t live = 0;
  std::int64_t channel_id_sum = 0;
  std::uint64_t null_channel_ids = 0;
  std::int64_t buffer_empty_count_sum = 0;
  std::int64_t buffer_cents_sum = 0;
  std::uint64_t null_tail_fields = 0;
  std::string first_row_pg;

  while (true) {
    const auto more = m_reader->next();
    ASSERT_TRUE(more) << more.error().message;
    if (!*more) {
      break;
    }
    ++rows;
    const auto row = m_reader->row();
    ASSERT_EQ(row.size(), 23U);
    if (rows == 1) {
      warehouse::append_pg_copy_row(first_row_pg, row, m_reader->columns());
    }
    if (rows == 6) { // The first `\x00\x00\x00\x00\x00` device id.
      EXPECT_EQ(text_or_null(*m_reader, 9), "x00x00x00x00x00");
      EXPECT_EQ(text_or_null(*m_reader, 4), "38");
      EXPECT_EQ(text_or_null(*m_reader, 15), "7.03");
    }
    const std::string device_id = text_or_null(*m_reader, 9);
    escaped_nul_device_ids += device_id == "x00x00x00x00x00" ? 1 : 0;
    for (const Field& field : row) {
      backslashes += std::count(field.text.begin(), field.text.end(), '\\');
    }
    null_adblock += row[2].is_null() ? 1 : 0;
    live += !row[11].is_null() && row[11].integer == 1 ? 1 : 0;
    if (row[6].is_null()) {
      ++null_channel_ids;
    } else {
      channel_id_sum += row[6].integer;
    }
    buffer_empty_count_sum += row[4].integer;
    if (!row[15].is_null()) {
      std::string cents = text_or_null(*m_reader, 15);
      cents.erase(cents.find('.'), 1);
      buffer_cents_sum += std::stoll(cents);
      EXPECT_EQ(row[15].integer, std::stoll(cents)); // DECIMAL(10,2): the unscaled integer.
    }
    for (std::size_t index = 18; index < 23; ++index) {
      null_tail_fields += row[index].is_null() ? 1 : 0;
    }
  }

  EXPECT_EQ(rows, k_rows);
  EXPECT_EQ(m_reader->line(), k_rows); // The last row starts on the last line.
  EXPECT_EQ(escaped_nul_device_ids, 671U);
  EXPECT_EQ(backslashes, 0U);
  EXPECT_EQ(null_adblock, 362U);
  EXPECT_EQ(live, 3628U);
  EXPECT_EQ(channel_id_sum, 356830830471);
  EXPECT_EQ(null_channel_ids, 17U);
  EXPECT_EQ(buffer_empty_count_sum, 474645);
  EXPECT_EQ(buffer_cents_sum, 7665233); // Each value rounded half up to cents first.
  EXPECT_EQ(null_tail_fields, 5 * k_rows);
  EXPECT_EQ(m_reader->counts(), (LoadCounts{.rows = k_rows,
                                            .truncated_values = 2836,
                                            .replaced_characters = 0,
                                            .rows_with_replacements = 0,
                                            .bytes = k_uncompressed_bytes}));
  EXPECT_EQ(first_row_pg,
            "2017-01-30 16:26:23\t2017-01-31 00:26:23\tf\t5.0 (Windows NT 6.3; Win64; x64) "
            "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/50.0.2661.102 Safari/537.36\t83\t\\N\t"
            "52203144\tother\t433.59375\t1469b2cde59e372d16908495e8f8256d\tWho Wants To Be A "
            "Millionaire?\tf\t\\N\t10.192.2.234\txboxone\t4.46\t\\N\thighlight\t\\N\t\\N\t\\N\t"
            "\\N\t\\N\n");
}

TEST_F(TsvSpadeFileTest, SmallReadsGiveTheSameRows) {
  open(997);
  if (!m_reader) {
    return;
  }
  std::uint64_t rows = 0;
  std::string last_time;
  while (true) {
    const auto more = m_reader->next();
    ASSERT_TRUE(more) << more.error().message;
    if (!*more) {
      break;
    }
    ++rows;
    last_time = text_or_null(*m_reader, 0);
  }

  EXPECT_EQ(rows, k_rows);
  EXPECT_EQ(last_time, "2017-01-30 16:26:28");
}

TEST(TsvSpadeTruncatedFileTest, FailsWithUnexpectedEndOfGzipStream) {
  RSI_REQUIRE_TESTDATA(path, rsi::test::testdata_file("spade-minute-watched.v0.truncated.tsv.gz"));
  auto file = open_file_source(path);
  ASSERT_TRUE(file) << file.error().message;
  auto reader =
      Reader::open(**file, minute_watched_columns(),
                   {.name = "minute-watched/v0/spade-minute-watched.v0.truncated.tsv.gz"});
  ASSERT_TRUE(reader) << reader.error().message;
  Result<bool> more = true;

  while (more && *more) {
    more = reader->next();
  }

  ASSERT_FALSE(more);
  EXPECT_EQ(more.error().kind, ErrorKind::permanent);
  EXPECT_EQ(more.error().message,
            "read minute-watched/v0/spade-minute-watched.v0.truncated.tsv.gz: "
            "unexpected end of gzip stream");
  EXPECT_LT(reader->counts().rows, k_rows);
}

} // namespace
} // namespace rsi::tsv
