// How a server error is classified when Redshift reports it under SQLSTATE XX000: golden tests
// with error texts recorded from Redshift's and Amazon S3's documentation (the troubleshooting
// page of error 1023, COPY's load-failure pages, STL_S3CLIENT_ERROR, S3's error codes), as libpq
// renders them ("ERROR:  …\nDETAIL:  …") and as pg::Connection passes them on.

#include <string_view>

#include <gtest/gtest.h>

#include "pg/connection.hpp"

namespace rsi::pg {
namespace {

// Redshift's "Troubleshooting serializable isolation errors", as the page prints it.
constexpr std::string_view k_1023_documented =
    "ERROR:1023 DETAIL: Serializable isolation violation on table in Redshift";
// The same error as libpq renders it: the code is the primary message, the table and the
// transactions of the cycle are the DETAIL.
constexpr std::string_view k_1023_libpq =
    "ERROR:  1023\nDETAIL:  Serializable isolation violation on table - 156014, transactions "
    "forming the cycle are: 1196, 1193 (pid:28045)";

// A COPY that S3 throttled: S3's SlowDown (HTTP 503, "Please reduce your request rate."), quoted
// by Redshift's S3ServiceException with the error block Redshift puts in DETAIL.
constexpr std::string_view k_slow_down =
    "ERROR:  S3ServiceException:Please reduce your request rate.,Status 503,Error SlowDown,Rid "
    "5B2C8A2F0C1D3E4F,ExtRid Zm9vYmFyYmF6cXV4cXV1eA==,CanRetry 1\n"
    "DETAIL:  \n"
    "  -----------------------------------------------\n"
    "  error:  S3ServiceException:Please reduce your request rate.,Status 503,Error SlowDown,Rid "
    "5B2C8A2F0C1D3E4F,ExtRid Zm9vYmFyYmF6cXV4cXV1eA==,CanRetry 1\n"
    "  code:      8001\n"
    "  context:   s3://spade/2016/01/01/part-00001.gz\n"
    "  query:     4207741\n"
    "  location:  s3_utility.cpp:668\n"
    "  process:   padbmaster [pid=23915]\n"
    "  -----------------------------------------------";
// S3's InternalError (HTTP 500, "We encountered an internal error. Please try again.").
constexpr std::string_view k_internal_error =
    "ERROR:  S3ServiceException:We encountered an internal error. Please try again.,Status "
    "500,Error InternalError,Rid 9F8E7D6C5B4A3921,ExtRid cXV1eGZvb2Jhcg==,CanRetry 1";
// A transfer from S3 cut short, as STL_S3CLIENT_ERROR's example records it.
constexpr std::string_view k_transfer_closed =
    "ERROR:  S3 Query Exception (Fetch)\n"
    "DETAIL:  \n"
    "  -----------------------------------------------\n"
    "  error:  transfer closed with 1947655 bytes remaining to read\n"
    "  code:      9005\n"
    "  context:   s3://spade/2016/01/01/part-00002.gz\n"
    "  -----------------------------------------------";
// STL_S3CLIENT_ERROR's usage note: "Connection timed out" means a networking issue.
constexpr std::string_view k_timed_out =
    "ERROR:  S3CurlException: Connection timed out after 50001 milliseconds, CurlError 28, "
    "multiCurlError 0, CanRetry 1, UserError 0";

// Permanent: the object is not there, the cluster and bucket are in different regions (the
// message Redshift's "Load fails" page quotes), S3 refuses the role, the data is bad.
constexpr std::string_view k_no_such_key =
    "ERROR:  S3ServiceException:The specified key does not exist.,Status 404,Error NoSuchKey,Rid "
    "4442587FB7D0A2F9\n  context: s3://spade/a/3.gz";
constexpr std::string_view k_other_region =
    "ERROR:  S3ServiceException:The bucket you are attempting to access must be addressed using "
    "the specified endpoint. Please send all future requests to this endpoint.,Status 301,Error "
    "PermanentRedirect,Rid 2BB3C8D0A1E7F645";
constexpr std::string_view k_access_denied =
    "ERROR:  S3ServiceException:Access Denied,Status 403,Error AccessDenied,Rid 73C5A1B2D4E6F809";
constexpr std::string_view k_load_failed =
    "ERROR:  Load into table 'pg_event' failed.  Check 'stl_load_errors' system table for "
    "details.\n"
    "DETAIL:  \n"
    "  -----------------------------------------------\n"
    "  error:  Invalid digit, Value '1023x', Pos 4, Type: Integer \n"
    "  code:      1207\n"
    "  context:   1023x\n"
    "  query:     1023\n"
    "  location:  :0\n"
    "  process:   query0_13_10234 [pid=10234]\n"
    "  -----------------------------------------------";

TEST(RedshiftErrorClassTest, ASerializableIsolationViolationIsTransient) {
  EXPECT_EQ(classify_server_error("XX000", k_1023_documented), ErrorKind::transient);
  EXPECT_EQ(classify_server_error("XX000", k_1023_libpq), ErrorKind::transient);
  EXPECT_EQ(classify_server_error("XX000", "1023"), ErrorKind::transient);
  // As pg::Connection passes it on, the statement's summary in front.
  EXPECT_EQ(classify_server_error(
                "XX000", "INSERT INTO infra.load_manifest (uuid, table_name, table_version, "
                         "file_count, row_count, ...: ERROR:  1023\nDETAIL:  Serializable "
                         "isolation violation on table - 156014, transactions forming the cycle "
                         "are: 1196, 1193 (pid:28045)"),
            ErrorKind::transient);
}

TEST(RedshiftErrorClassTest, TheCopyFailuresS3AndRedshiftDocumentAsPassingAreTransient) {
  for (const std::string_view message :
       {k_slow_down, k_internal_error, k_transfer_closed, k_timed_out}) {
    EXPECT_EQ(classify_server_error("XX000", message), ErrorKind::transient) << message;
  }
}

TEST(RedshiftErrorClassTest, EveryOtherInternalErrorStaysPermanent) {
  for (const std::string_view message :
       {k_no_such_key, k_other_region, k_access_denied, k_load_failed,
        std::string_view("ERROR:  10230"), std::string_view("ERROR:  Value 1023 out of range"),
        std::string_view("")}) {
    EXPECT_EQ(classify_server_error("XX000", message), ErrorKind::permanent) << message;
  }
}

TEST(RedshiftErrorClassTest, OtherSqlstatesAreClassifiedByTheirStateAlone) {
  EXPECT_EQ(classify_server_error("40001", "anything"), ErrorKind::transient);
  EXPECT_EQ(classify_server_error("23505", k_1023_libpq), ErrorKind::conflict);
  EXPECT_EQ(classify_server_error("42501", "permission denied for relation pg_event"),
            ErrorKind::permanent);
  EXPECT_EQ(classify_server_error("42601", k_slow_down), ErrorKind::permanent);
  EXPECT_EQ(classify_server_error("57014", "canceling statement due to statement timeout"),
            ErrorKind::transient);
  EXPECT_EQ(classify_sqlstate("XX000"), ErrorKind::permanent);
}

} // namespace
} // namespace rsi::pg
