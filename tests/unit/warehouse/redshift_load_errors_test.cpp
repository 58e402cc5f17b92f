// Which file a failed Redshift COPY is blamed on: from the rows Redshift logged (codes and reasons
// to fault kinds, URLs cut at 256 bytes, too many rejected rows) and, without rows, from its
// message (authorization, a named file, the manifest, Redshift's words for bad data).

#include "warehouse/redshift_load_errors.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace rsi::warehouse::redshift {
namespace {

const std::vector<core::ObjectLocation> k_files = {
    {"spade", "a/1.gz"}, {"spade", "a/2.gz"}, {"spade", "a/2.gz.bak"}};
const std::vector<std::string> k_columns = {"time", "country", "n", "s"};

LoadRequest request(std::uint32_t max_bad_rows = 0) {
  return {.manifest = "5f0c8a8e-6a3e-4d1b-9a55-7d2f3b1c9e01",
          .table = "pg_event",
          .files = k_files,
          .max_bad_rows = max_bad_rows};
}

LoadErrorRow row(std::string url, std::uint64_t line, int code = 1207) {
  return {.file_url = std::move(url),
          .line = line,
          .column = "n",
          .code = code,
          .reason = "Invalid digit, Value 'x', Pos 0, Type: Long"};
}

TEST(RedshiftFaultKindTest, CodesOfTheLoadErrorReference) {
  EXPECT_EQ(fault_kind(1207, "Invalid digit, Value 'x', Pos 0, Type: Long"),
            FileFaultKind::bad_value);
  EXPECT_EQ(fault_kind(1206, "Invalid timestamp format or value"), FileFaultKind::bad_value);
  EXPECT_EQ(fault_kind(1204, "String length exceeds DDL length"), FileFaultKind::bad_value);
  EXPECT_EQ(fault_kind(1202, "Extra column(s) found"), FileFaultKind::bad_record);
  EXPECT_EQ(fault_kind(1214, "Delimiter not found"), FileFaultKind::bad_record);
  EXPECT_EQ(fault_kind(1220, "String contains invalid or unsupported UTF8 codepoints"),
            FileFaultKind::invalid_characters);
  EXPECT_EQ(fault_kind(1215, "Multibyte character not supported for CHAR"),
            FileFaultKind::invalid_characters);
  EXPECT_EQ(fault_kind(1212, "Load file was not found"), FileFaultKind::missing_object);
}

TEST(RedshiftFaultKindTest, OtherCodesAreReadFromTheReason) {
  EXPECT_EQ(fault_kind(1200, "gzip: unexpected end of stream"), FileFaultKind::corrupt_gzip);
  EXPECT_EQ(fault_kind(0, "Delimiter not found"), FileFaultKind::bad_record);
  EXPECT_EQ(fault_kind(0, "The specified key does not exist"), FileFaultKind::missing_object);
  EXPECT_EQ(fault_kind(0, "Invalid digit, Value 'x'"), FileFaultKind::bad_value);
  EXPECT_EQ(fault_kind(1200, "Unknown parse error"), FileFaultKind::rejected);
}

TEST(RedshiftFindFileTest, ByTheWholeUrlOrAUniqueUrlCutAt256Bytes) {
  const std::string long_key(300, 'k');
  const std::vector<core::ObjectLocation> files = {{"b", long_key + "1"}, {"b", "short.gz"}};
  const std::string cut = ("s3://b/" + long_key).substr(0, 256);
  const std::vector<core::ObjectLocation> ambiguous = {{"b", long_key + "1"},
                                                       {"b", long_key + "2"}};

  EXPECT_EQ(find_file("s3://spade/a/2.gz", k_files), 1U);
  EXPECT_EQ(find_file("s3://spade/a/2.gz.bak", k_files), 2U);
  EXPECT_EQ(find_file("s3://spade/a/9.gz", k_files), std::nullopt);
  EXPECT_EQ(find_file("s3://spade/a/2", k_files), std::nullopt) << "not cut: must be whole";
  EXPECT_EQ(find_file(cut, files), 0U);
  EXPECT_EQ(find_file(cut, ambiguous), std::nullopt);
}

TEST(RedshiftLoadErrorFromRowsTest, NamesTheFileLineColumnAndReason) {
  const std::vector<LoadErrorRow> rows = {row("s3://spade/a/2.gz", 17)};

  const LoadError error = load_error_from_rows(rows, request(), k_columns);

  EXPECT_TRUE(error.data);
  EXPECT_EQ(error.kind, ErrorKind::permanent);
  ASSERT_TRUE(error.fault);
  EXPECT_EQ(error.fault->file, 1U);
  EXPECT_EQ(error.fault->kind, FileFaultKind::bad_value);
  EXPECT_EQ(error.fault->line, 17U);
  EXPECT_EQ(error.fault->column, 3U);
  EXPECT_EQ(error.message, "s3://spade/a/2.gz line 17 column 3 (\"n\"): Invalid digit, Value "
                           "'x', Pos 0, Type: Long (Redshift load error 1207)");
}

TEST(RedshiftLoadErrorFromRowsTest, TheFirstFileOfTheBatchWithARejectedRowIsAtFault) {
  const std::vector<LoadErrorRow> rows = {row("s3://spade/a/2.gz.bak", 3, 1220),
                                          row("s3://spade/a/2.gz", 9), row("s3://spade/a/2.gz", 4)};

  const LoadError error = load_error_from_rows(rows, request(), {});

  ASSERT_TRUE(error.fault);
  EXPECT_EQ(error.fault->file, 1U);
  EXPECT_EQ(error.fault->line, 4U);
  EXPECT_EQ(error.fault->column, 0U) << "columns unknown";
  EXPECT_NE(error.message.find("column \"n\""), std::string::npos) << error.message;
}

TEST(RedshiftLoadErrorFromRowsTest, TooManyRejectedRowsBlameTheFileWithTheMost) {
  const std::vector<LoadErrorRow> rows = {row("s3://spade/a/1.gz", 8),
                                          row("s3://spade/a/2.gz.bak", 5),
                                          row("s3://spade/a/2.gz.bak", 2)};

  const LoadError error = load_error_from_rows(rows, request(2), k_columns);

  EXPECT_TRUE(error.data);
  ASSERT_TRUE(error.fault);
  EXPECT_EQ(error.fault->file, 2U);
  EXPECT_EQ(error.fault->kind, FileFaultKind::too_many_bad_rows);
  EXPECT_EQ(error.fault->line, 2U);
  EXPECT_EQ(error.message.rfind("s3://spade/a/2.gz.bak: COPY rejected 3 rows, more than the 2 "
                                "allowed (2 in this file, the first at line 2",
                                0),
            0U)
      << error.message;
}

TEST(RedshiftLoadErrorFromRowsTest, RowsWithinTheLimitAreNotTooMany) {
  const std::vector<LoadErrorRow> rows = {row("s3://spade/a/1.gz", 8, 1202)};

  const LoadError error = load_error_from_rows(rows, request(1), k_columns);

  ASSERT_TRUE(error.fault);
  EXPECT_EQ(error.fault->kind, FileFaultKind::bad_record);
}

TEST(RedshiftLoadErrorFromRowsTest, RowsOfNoFileOfTheBatchAreStillAboutTheData) {
  const std::vector<LoadErrorRow> rows = {row("s3://elsewhere/x.gz", 1)};

  const LoadError error = load_error_from_rows(rows, request(), k_columns);

  EXPECT_TRUE(error.data);
  EXPECT_FALSE(error.fault);
  EXPECT_NE(error.message.find("s3://elsewhere/x.gz"), std::string::npos) << error.message;
}

LoadError from_message(std::string_view message) {
  return load_error_from_message(Error{ErrorKind::permanent, std::string(message)}, message,
                                 k_files);
}

TEST(RedshiftLoadErrorFromMessageTest, AFileNamedInTheMessageIsAtFault) {
  const std::string_view not_there = "S3ServiceException:The specified key does not exist.,Status "
                                     "404,Error NoSuchKey\n  context: s3://spade/a/2.gz.bak";
  const LoadError missing = from_message(not_there);
  const LoadError gzip = from_message("gzip: unexpected end of stream, s3://spade/a/1.gz");

  EXPECT_TRUE(missing.data);
  ASSERT_TRUE(missing.fault);
  EXPECT_EQ(missing.fault->file, 2U) << "the longest URL named, not the key it begins with";
  EXPECT_EQ(missing.fault->kind, FileFaultKind::missing_object);
  EXPECT_EQ(missing.message, not_there);
  ASSERT_TRUE(gzip.fault);
  EXPECT_EQ(gzip.fault->file, 0U);
  EXPECT_EQ(gzip.fault->kind, FileFaultKind::corrupt_gzip);
}

TEST(RedshiftLoadErrorFromMessageTest, RedshiftsWordsForBadDataWithoutAFileMeanBisect) {
  for (const std::string_view message :
       {"Load into table 'pg_event' failed.  Check 'stl_load_errors' system table for details.",
        "Check 'sys_load_error_detail' system table for details.",
        "S3ServiceException:The specified key does not exist.,Status 404,Error NoSuchKey",
        "invalid gzip stream"}) {
    const LoadError error = from_message(message);

    EXPECT_TRUE(error.data) << message;
    EXPECT_FALSE(error.fault) << message;
    EXPECT_EQ(error.message, message);
  }
}

TEST(RedshiftLoadErrorFromMessageTest, AuthorizationAndOtherFailuresAreNotAboutTheData) {
  for (const std::string_view message :
       {"permission denied for relation pg_event",
        "S3ServiceException:Access Denied,Status 403,Error AccessDenied\n  context: "
        "s3://spade/a/1.gz",
        "S3ServiceException:The AWS Access Key Id you provided does not exist in our records.,"
        "Status 403,Error InvalidAccessKeyId",
        "S3ServiceException:The provided token has expired.,Status 400,Error ExpiredToken",
        "User arn:aws:redshift:us-east-1:1:dbuser:c/u is not authorized to assume IAM Role",
        "Problem reading manifest file - S3ServiceException:The specified key does not exist.,"
        "Status 404,Error NoSuchKey",
        "syntax error at or near \"maxerror\""}) {
    const LoadError error = from_message(message);

    EXPECT_FALSE(error.data) << message;
    EXPECT_FALSE(error.fault) << message;
    EXPECT_EQ(error.kind, ErrorKind::permanent);
  }
}

} // namespace
} // namespace rsi::warehouse::redshift
