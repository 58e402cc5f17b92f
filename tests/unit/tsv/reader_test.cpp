#include "tsv/reader.hpp"

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tsv_test_util.hpp"

namespace rsi::tsv {
namespace {

using Values = std::vector<std::optional<std::string>>; // nullopt: NULL.

const std::vector<Column> k_event_columns = {
    {"name", ColumnType::varchar(8)},
    {"count", ColumnType::of(TypeKind::bigint)},
    {"time", ColumnType::of(TypeKind::timestamp)},
};

Values values_of(std::span<const Field> row) {
  Values values;
  for (const Field& field : row) {
    values.push_back(field.text ? std::optional<std::string>(*field.text) : std::nullopt);
  }
  return values;
}

struct ReadOutcome {
  std::vector<Values> rows;
  std::vector<std::uint64_t> lines;
  LoadCounts counts;
  std::optional<Error> error;
};

ReadOutcome read_all(ByteSource& source, const std::vector<Column>& columns,
                     ReaderOptions options) {
  ReadOutcome outcome;
  auto reader = Reader::open(source, columns, std::move(options));
  if (!reader) {
    outcome.error = reader.error();
    return outcome;
  }
  while (true) {
    const auto more = reader->next();
    if (!more) {
      outcome.error = more.error();
      break;
    }
    if (!*more) {
      break;
    }
    outcome.rows.push_back(values_of(reader->row()));
    outcome.lines.push_back(reader->line());
  }
  outcome.counts = reader->counts();
  return outcome;
}

ReadOutcome read_text(const std::string& text, const std::vector<Column>& columns = k_event_columns,
                      std::size_t chunk = 1U << 20U, std::size_t max_record_bytes = 4U << 20U) {
  test::TrickleSource source(text, chunk);
  return read_all(
      source, columns,
      {.name = "t.tsv", .compression = Compression::none, .max_record_bytes = max_record_bytes});
}

TEST(TsvReaderTest, ReadsTypedRows) {
  const auto outcome = read_text("\"abc\"\t\"+12\"\t\"2017-01-30 16:26:23\"\n"
                                 "\"\"\t\"\"\t\"\"\n");

  ASSERT_FALSE(outcome.error) << outcome.error->message;
  EXPECT_EQ(outcome.rows, (std::vector<Values>{{"abc", "12", "2017-01-30 16:26:23"},
                                               {std::nullopt, std::nullopt, std::nullopt}}));
  EXPECT_EQ(outcome.lines, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(outcome.counts.rows, 2U);
}

TEST(TsvReaderTest, FillRecordMakesMissingTrailingColumnsNull) {
  const auto outcome = read_text("\"abc\"\t\"1\"\nxyz\n");

  ASSERT_FALSE(outcome.error) << outcome.error->message;
  EXPECT_EQ(outcome.rows,
            (std::vector<Values>{{"abc", "1", std::nullopt}, {"xyz", std::nullopt, std::nullopt}}));
}

TEST(TsvReaderTest, EmptyLineIsARowOfNulls) {
  const auto outcome = read_text("a\t1\n\nb\t2\n");

  ASSERT_FALSE(outcome.error) << outcome.error->message;
  ASSERT_EQ(outcome.rows.size(), 3U);
  EXPECT_EQ(outcome.rows[1], (Values{std::nullopt, std::nullopt, std::nullopt}));
}

TEST(TsvReaderTest, LastLineWithoutNewlineIsARowAndTrailingNewlineIsNot) {
  EXPECT_EQ(read_text("a\nb").rows.size(), 2U);
  EXPECT_EQ(read_text("a\nb\n").rows.size(), 2U);
  EXPECT_EQ(read_text("").rows.size(), 0U);
}

TEST(TsvReaderTest, ExtraColumnsFailTheLoad) {
  const auto outcome = read_text("a\t1\nb\t2\t2017-01-30 16:26:23\textra\n");

  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->kind, ErrorKind::permanent);
  EXPECT_EQ(outcome.error->message, "t.tsv line 2: extra column(s) found: more than 3 fields");
}

TEST(TsvReaderTest, BadValueNamesFileLineColumnAndValue) {
  const auto outcome = read_text("a\t1\t2017-01-30 16:26:23\n"
                                 "b\t2\t\"2016-13-01 00:00:00\"\n");

  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->kind, ErrorKind::permanent);
  EXPECT_EQ(outcome.error->message,
            "t.tsv line 2 column 3 (\"time\"): invalid timestamp \"2016-13-01 00:00:00\"");
  EXPECT_EQ(outcome.rows.size(), 1U);
}

TEST(TsvReaderTest, UnterminatedQuoteNamesTheColumn) {
  const auto outcome = read_text("\"abc\t1\n");

  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->message,
            "t.tsv line 1 column 1 (\"name\"): quoted value has no closing quotation mark");
}

TEST(TsvReaderTest, NulByteFailsTheLoad) {
  const auto outcome = read_text(std::string("a\t1\x00\n", 5));

  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->message,
            "t.tsv line 1 column 2 (\"count\"): NUL byte (0x00) in the data");
}

TEST(TsvReaderTest, EscapedNewlinesJoinLinesAndCountAsLines) {
  const auto outcome = read_text("\"a\\\nb\"\t1\n"
                                 "\"c\\\\\"\t2\n" // An escaped backslash, then a real newline.
                                 "d\\\n\\\ne\t3\n"
                                 "f\tx\n");

  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.rows, (std::vector<Values>{{"a\nb", "1", std::nullopt},
                                               {"c\\", "2", std::nullopt},
                                               {"d\n\ne", "3", std::nullopt}}));
  EXPECT_EQ(outcome.lines, (std::vector<std::uint64_t>{1, 3, 4}));
  EXPECT_EQ(outcome.error->message, "t.tsv line 7 column 2 (\"count\"): invalid bigint \"x\"");
}

TEST(TsvReaderTest, RecordsSplitAcrossReadsAreReassembled) {
  std::string text;
  for (int line = 0; line < 500; ++line) {
    text += "\"n" + std::to_string(line) + "\\\tx\"\t\"" + std::to_string(line) +
            "\"\t\"2017-01-30 16:26:23.5\"\n";
  }
  const auto whole = read_text(text);

  for (const std::size_t chunk : {1, 2, 3, 7, 64, 1000}) {
    const auto trickled = read_text(text, k_event_columns, chunk);

    ASSERT_FALSE(trickled.error) << trickled.error->message;
    EXPECT_EQ(trickled.rows, whole.rows) << "chunk " << chunk;
  }
  ASSERT_EQ(whole.rows.size(), 500U);
  EXPECT_EQ(whole.rows[499], (Values{"n499\tx", "499", "2017-01-30 16:26:23.5"}));
}

TEST(TsvReaderTest, RecordLongerThanTheLimitFails) {
  const std::string text = "short\t1\n" + std::string(300, 'x') + "\t2\n";

  const auto outcome = read_text(text, k_event_columns, 16, 100);

  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->message, "t.tsv line 2: record longer than 100 bytes");
  EXPECT_EQ(outcome.rows.size(), 1U);
}

TEST(TsvReaderTest, CountsTruncationsAndReplacements) {
  const auto outcome = read_text("\"abcdefghij\"\t1\n"
                                 "\"a\xff\xfe\"\t2\n"
                                 "\"ok\"\t3\n"
                                 "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"\t4\n");

  ASSERT_FALSE(outcome.error) << outcome.error->message;
  EXPECT_EQ(outcome.rows[0][0], "abcdefgh");
  EXPECT_EQ(outcome.rows[1][0], "a??");
  EXPECT_EQ(outcome.rows[3][0], "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
  EXPECT_EQ(outcome.counts, (LoadCounts{.rows = 4,
                                        .truncated_values = 2,
                                        .replaced_characters = 2,
                                        .rows_with_replacements = 1,
                                        .bytes = 45}));
}

TEST(TsvReaderTest, GzipMembersSplitInsideARecordReadAsOneStream) {
  const std::string compressed =
      test::gzip("a\t1\t2017-01-30 16:") + test::gzip("26:23\nb\t") + test::gzip("2\n");
  test::TrickleSource source(compressed, 5);

  const auto outcome = read_all(source, k_event_columns, {.name = "t.gz"});

  ASSERT_FALSE(outcome.error) << outcome.error->message;
  EXPECT_EQ(outcome.rows,
            (std::vector<Values>{{"a", "1", "2017-01-30 16:26:23"}, {"b", "2", std::nullopt}}));
}

TEST(TsvReaderTest, TruncatedGzipFailsAfterTheCompleteRows) {
  const std::string compressed = test::gzip("a\t1\nb\t2\n");
  test::TrickleSource source(compressed.substr(0, compressed.size() - 6), 1U << 20U);

  const auto outcome = read_all(source, k_event_columns, {.name = "t.gz"});

  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->message, "read t.gz: unexpected end of gzip stream");
}

TEST(TsvReaderTest, OpenRejectsTablesWithoutColumnsOrWithBadTypes) {
  test::TrickleSource source("", 1);

  const auto no_columns = Reader::open(source, {}, {.name = "t.gz"});
  const auto bad_type = Reader::open(source, {{"d", ColumnType::decimal(40, 2)}}, {.name = "t.gz"});

  ASSERT_FALSE(no_columns);
  ASSERT_FALSE(bad_type);
  EXPECT_EQ(no_columns.error().message, "read t.gz: table has no columns");
  EXPECT_EQ(bad_type.error().message,
            "read t.gz: column \"d\": column type decimal(40,2): outside Redshift's limits");
}

TEST(TsvReaderTest, RowViewsSurviveMovingTheReader) {
  test::TrickleSource source("abc\t1\n", 100);
  auto opened =
      Reader::open(source, k_event_columns, {.name = "t", .compression = Compression::none});
  ASSERT_TRUE(opened);
  Reader reader = std::move(*opened);

  const auto more = reader.next();

  ASSERT_TRUE(more && *more);
  EXPECT_EQ(values_of(reader.row()), (Values{"abc", "1", std::nullopt}));
}

} // namespace
} // namespace rsi::tsv
