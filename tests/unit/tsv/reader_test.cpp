#include "tsv/reader.hpp"

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/tsv_text.hpp"
#include "tsv_test_util.hpp"

namespace rsi::tsv {
namespace {

using Values = std::vector<std::optional<std::string>>; // nullopt: NULL.

const std::vector<Column> k_event_columns = {
    {"name", ColumnType::varchar(8)},
    {"count", ColumnType::of(TypeKind::bigint)},
    {"time", ColumnType::of(TypeKind::timestamp)},
};

Values values_of(const Reader& reader) {
  return rsi::test::texts_of(reader.row(), reader.columns());
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
    outcome.rows.push_back(values_of(*reader));
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

// What a reader that goes on after row faults met, record by record.
struct Attempt {
  std::uint64_t line = 0;
  std::optional<Values> row;          // Read.
  std::optional<ReadFailure> failure; // Or failed.
  std::string message;
  std::string text; // failed_record_text().

  friend bool operator==(const Attempt& left, const Attempt& right) {
    return left.line == right.line && left.row == right.row &&
           left.failure.has_value() == right.failure.has_value() &&
           (!left.failure || (left.failure->fault == right.failure->fault &&
                              left.failure->line == right.failure->line &&
                              left.failure->column == right.failure->column)) &&
           left.message == right.message && left.text == right.text;
  }
  friend void PrintTo(const Attempt& attempt, std::ostream* out) {
    *out << "{line " << attempt.line;
    if (attempt.failure) {
      *out << " " << to_string(attempt.failure->fault) << " at " << attempt.failure->line << ":"
           << attempt.failure->column << " \"" << attempt.message << "\" text \"" << attempt.text
           << "\"";
    } else {
      *out << " row";
      for (const auto& value : *attempt.row) {
        *out << " " << (value ? "\"" + *value + "\"" : "NULL");
      }
    }
    *out << "}";
  }
};

// Reads to the end, going on after every row fault; stops at any other fault.
std::vector<Attempt> read_past_row_faults(Reader& reader) {
  std::vector<Attempt> attempts;
  while (true) {
    const auto more = reader.next();
    if (more && !*more) {
      break;
    }
    Attempt attempt{.line = reader.line()};
    if (more) {
      attempt.row = values_of(reader);
    } else {
      attempt.failure = reader.failure();
      attempt.message = more.error().message;
      attempt.text = std::string(reader.failed_record_text());
    }
    attempts.push_back(attempt);
    if (!more && !(reader.failure() && is_row_fault(reader.failure()->fault))) {
      break;
    }
  }
  return attempts;
}

Attempt row_at(std::uint64_t line, Values values) {
  return {.line = line, .row = std::move(values)};
}

Attempt failure_at(std::uint64_t line, ReadFault fault, std::size_t column, std::string message,
                   std::string text) {
  return {.line = line,
          .failure = ReadFailure{.fault = fault, .line = line, .column = column},
          .message = std::move(message),
          .text = std::move(text)};
}

TEST(TsvReaderTest, ARowFaultConsumesTheRecordAndTheNextCallGoesOn) {
  test::TrickleSource source("a\t1\n"
                             "\"b\\\"\"\tx\n"    // "b\"" then a bad bigint.
                             "c\t3\t\t\textra\n" // Too many fields.
                             "\"d\\\ne\"\t4\n"   // An escaped newline: lines 4 and 5.
                             "\"e\t5\n"          // An unterminated quote.
                             "f\t6\n",
                             3);
  auto reader = Reader::open(
      source, k_event_columns,
      {.name = "t.tsv", .compression = Compression::none, .keep_failed_record_text = true});
  ASSERT_TRUE(reader);

  const auto attempts = read_past_row_faults(*reader);

  EXPECT_EQ(
      attempts,
      (std::vector<Attempt>{
          row_at(1, {"a", "1", std::nullopt}),
          failure_at(2, ReadFault::bad_value, 2,
                     "t.tsv line 2 column 2 (\"count\"): invalid bigint \"x\"", "\"b\\\"\"\tx"),
          failure_at(3, ReadFault::bad_record, 0,
                     "t.tsv line 3: extra column(s) found: more than 3 fields", "c\t3\t\t\textra"),
          row_at(4, {"d\ne", "4", std::nullopt}),
          failure_at(6, ReadFault::bad_record, 1,
                     "t.tsv line 6 column 1 (\"name\"): quoted value has no closing "
                     "quotation mark",
                     "\"e\t5"),
          row_at(7, {"f", "6", std::nullopt}),
      }));
  EXPECT_EQ(reader->counts().rows, 3U);
  EXPECT_FALSE(reader->failure()); // The end of the data clears the last fault.
}

// The reader splits and converts a record in one pass: a value rejected early in a record
// still loses to a record-level error later in it, and its message quotes the value as it was
// unescaped, whatever later fields did to the record.
TEST(TsvReaderTest, ARecordErrorLaterInTheRecordWinsOverAnEarlierBadValue) {
  test::TrickleSource source(std::string("a\tx\t\t\textra\n"          // Bad bigint, extra fields.
                                         "b\tx\t\"2017\n"             // Bad bigint, open quote.
                                         "c\t\"x\\\\y\"\t\"\\\\N\"\n" // Bad bigint, NULL marker.
                                         "d\tx\t\x00\n"               // Bad bigint, NUL byte.
                                         "\"e\\\"\"\t\\4\t\"\\\\\\\"\"\n" // Escapes, a bad time.
                                         "f\t6\n",
                                         63),
                             5);
  auto reader = Reader::open(
      source, k_event_columns,
      {.name = "t.tsv", .compression = Compression::none, .keep_failed_record_text = true});
  ASSERT_TRUE(reader);

  const auto attempts = read_past_row_faults(*reader);

  EXPECT_EQ(
      attempts,
      (std::vector<Attempt>{
          failure_at(1, ReadFault::bad_record, 0,
                     "t.tsv line 1: extra column(s) found: more than 3 fields", "a\tx\t\t\textra"),
          failure_at(2, ReadFault::bad_record, 3,
                     "t.tsv line 2 column 3 (\"time\"): quoted value has no closing "
                     "quotation mark",
                     "b\tx\t\"2017"),
          failure_at(3, ReadFault::bad_value, 2,
                     "t.tsv line 3 column 2 (\"count\"): invalid bigint \"x\\\\y\"",
                     "c\t\"x\\\\y\"\t\"\\\\N\""),
          failure_at(4, ReadFault::bad_record, 3,
                     "t.tsv line 4 column 3 (\"time\"): NUL byte (0x00) in the data",
                     std::string("d\tx\t\x00", 5)),
          failure_at(5, ReadFault::bad_value, 3,
                     "t.tsv line 5 column 3 (\"time\"): invalid timestamp \"\\\\\\\"\"",
                     "\"e\\\"\"\t\\4\t\"\\\\\\\"\""),
          row_at(6, {"f", "6", std::nullopt}),
      }));
}

TEST(TsvReaderTest, FailedRecordTextIsCutAndOnlyKeptWhenAsked) {
  const std::string long_record = "\"" + std::string(2000, 'y') + "\"\t\"not a number\"";
  const std::string text = "a\t1\n" + long_record + "\nb\t\"nan?\"\n";
  for (const bool keep : {false, true}) {
    test::TrickleSource source(text, 100);
    auto reader = Reader::open(
        source, k_event_columns,
        {.name = "t.tsv", .compression = Compression::none, .keep_failed_record_text = keep});
    ASSERT_TRUE(reader);

    ASSERT_TRUE(reader->next().value());
    EXPECT_EQ(reader->failed_record_text(), ""); // No failure.
    ASSERT_FALSE(reader->next());
    const std::string first(reader->failed_record_text());
    ASSERT_FALSE(reader->next());
    const std::string second(reader->failed_record_text());

    if (keep) {
      EXPECT_EQ(first, long_record.substr(0, k_failed_record_text_bytes));
      EXPECT_EQ(second, "b\t\"nan?\"");
    } else {
      EXPECT_EQ(first, "");
      EXPECT_EQ(second, "");
    }
    EXPECT_FALSE(reader->next().value());
  }
}

TEST(TsvReaderTest, AfterAFaultThatIsNotAboutARowTheReaderStaysFailed) {
  test::TrickleSource source("short\t1\n" + std::string(300, 'x') + "\t2\nnext\t3\n", 16);
  auto reader = Reader::open(source, k_event_columns,
                             {.name = "t.tsv",
                              .compression = Compression::none,
                              .max_record_bytes = 100,
                              .keep_failed_record_text = true});
  ASSERT_TRUE(reader);
  ASSERT_TRUE(reader->next().value());

  const auto too_long = reader->next();
  const auto again = reader->next();

  ASSERT_FALSE(too_long);
  EXPECT_FALSE(is_row_fault(reader->failure()->fault));
  EXPECT_EQ(reader->failed_record_text(), "");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::permanent);
  EXPECT_EQ(again.error().message, "read t.tsv: cannot go on after a record_too_long failure");
  EXPECT_EQ(reader->failure()->fault, ReadFault::record_too_long);
}

TEST(TsvReaderTest, OnlyRecordFaultsAreRowFaults) {
  EXPECT_TRUE(is_row_fault(ReadFault::bad_record));
  EXPECT_TRUE(is_row_fault(ReadFault::bad_value));
  EXPECT_TRUE(is_row_fault(ReadFault::invalid_characters));
  EXPECT_FALSE(is_row_fault(ReadFault::source));
  EXPECT_FALSE(is_row_fault(ReadFault::corrupt_gzip));
  EXPECT_FALSE(is_row_fault(ReadFault::truncated_gzip));
  EXPECT_FALSE(is_row_fault(ReadFault::record_too_long));
}

TEST(TsvReaderTest, RecordLongerThanTheLimitFails) {
  const std::string text = "short\t1\n" + std::string(300, 'x') + "\t2\n";

  const auto outcome = read_text(text, k_event_columns, 16, 100);

  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->message, "t.tsv line 2: record longer than 100 bytes");
  EXPECT_EQ(outcome.rows.size(), 1U);
}

TEST(TsvReaderTest, RecordLongerThanTheLimitFailsHoweverTheDataArrives) {
  // In one read, the newline is already in the buffer: the length is what counts.
  const std::string text = "short\t1\n" + std::string(300, 'x') + "\t2\nnext\t3\n";

  const auto whole = read_text(text, k_event_columns, 1U << 20U, 100);
  const auto at_limit = read_text(std::string(98, 'y') + "\t4\n", k_event_columns, 1U << 20U, 100);

  ASSERT_TRUE(whole.error);
  EXPECT_EQ(whole.error->message, "t.tsv line 2: record longer than 100 bytes");
  EXPECT_EQ(whole.rows.size(), 1U);
  EXPECT_FALSE(at_limit.error) << "100 bytes is within the limit";
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
  EXPECT_EQ(values_of(reader), (Values{"abc", "1", std::nullopt}));
}

// Every row of the current file, then the counts (or the error that ended it).
ReadOutcome read_rest(Reader& reader) {
  ReadOutcome outcome;
  while (true) {
    const auto more = reader.next();
    if (!more) {
      outcome.error = more.error();
      break;
    }
    if (!*more) {
      break;
    }
    outcome.rows.push_back(values_of(reader));
    outcome.lines.push_back(reader.line());
  }
  outcome.counts = reader.counts();
  return outcome;
}

TEST(TsvReaderTest, ReopenReadsTheNextFileFromItsStartWithItsOwnCountsAndLines) {
  // A long first record grows the buffer; the second file reads through the same buffer and
  // decompressor, by short reads and from two gzip members.
  const std::string long_name(200, 'n');
  test::TrickleSource first(test::gzip("\"" + long_name + "\"\t1\nb\t2\npartial\t3"), 7);
  test::TrickleSource second(test::gzip("c\t4\n") + test::gzip("d\t5\n"), 3);
  auto reader = Reader::open(first, {{"name", ColumnType::varchar(300)}, k_event_columns[1]},
                             {.name = "a.gz"});
  ASSERT_TRUE(reader);
  const ReadOutcome a = read_rest(*reader);

  reader->reopen(second, "b.gz");
  const ReadOutcome b = read_rest(*reader);

  ASSERT_FALSE(a.error) << a.error->message;
  ASSERT_FALSE(b.error) << b.error->message;
  EXPECT_EQ(a.rows, (std::vector<Values>{{long_name, "1"}, {"b", "2"}, {"partial", "3"}}));
  EXPECT_EQ(b.rows, (std::vector<Values>{{"c", "4"}, {"d", "5"}}));
  EXPECT_EQ(b.lines, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(b.counts, (LoadCounts{.rows = 2, .bytes = 8}));
}

TEST(TsvReaderTest, ReopenAfterAFailedFileStartsClean) {
  test::TrickleSource corrupt("not gzip at all", 100);
  test::TrickleSource good(test::gzip("a\t1\n"), 100);
  auto reader = Reader::open(corrupt, k_event_columns, {.name = "bad.gz"});
  ASSERT_TRUE(reader);
  const ReadOutcome failed = read_rest(*reader);

  reader->reopen(good, "good.gz");
  const ReadOutcome after = read_rest(*reader);

  ASSERT_TRUE(failed.error);
  EXPECT_EQ(failed.error->message, "read bad.gz: gzip member 1: invalid gzip header");
  ASSERT_FALSE(after.error) << after.error->message;
  EXPECT_FALSE(reader->failure());
  EXPECT_EQ(after.rows, (std::vector<Values>{{"a", "1", std::nullopt}}));
}

TEST(TsvReaderTest, ReopenOfUncompressedInputReadsTheNewSource) {
  test::TrickleSource first("a\t1\nleft over", 4);
  test::TrickleSource second("b\t2\n", 4);
  auto reader =
      Reader::open(first, k_event_columns, {.name = "a", .compression = Compression::none});
  ASSERT_TRUE(reader);
  ASSERT_TRUE(reader->next().value()); // "left over" stays unread in the buffer.

  reader->reopen(second, "b");
  const ReadOutcome b = read_rest(*reader);

  ASSERT_FALSE(b.error) << b.error->message;
  EXPECT_EQ(b.rows, (std::vector<Values>{{"b", "2", std::nullopt}}));
}

} // namespace
} // namespace rsi::tsv
