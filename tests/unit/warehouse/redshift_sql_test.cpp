// The SQL and objects the Redshift backend sends, as golden text: the COPY of ARCHITECTURE §3
// with key credentials (with and without a session token) or an IAM role, with MAXERROR, the
// manifest, the original's system-table search pattern, and the load-error and rejected-row
// statements.

#include "warehouse/redshift_sql.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "warehouse/pg_sql.hpp"
#include "warehouse_test_util.hpp"

namespace rsi::warehouse::redshift {
namespace {

SqlNames names() {
  return SqlNames(Dialect::redshift, test::libpq_quoter(), Layout{.physical_schema = "logs"});
}

constexpr std::string_view k_url = "s3://manifests/5f0c8a8e-6a3e-4d1b-9a55-7d2f3b1c9e01.json";

TEST(RedshiftCopyTest, KeyCredentials) {
  const CopyAuthorization keys{.access_key_id = "AKIAEXAMPLE", .secret_access_key = "s3cr3t/KEY+x"};

  const auto copy = copy_statement(names(), test::libpq_literal_quoter(), "pg_event", k_url, keys);

  ASSERT_TRUE(copy) << copy.error().message;
  EXPECT_EQ(
      *copy,
      R"(COPY "logs"."pg_event" FROM 's3://manifests/5f0c8a8e-6a3e-4d1b-9a55-7d2f3b1c9e01.json' WITH CREDENTIALS 'aws_access_key_id=AKIAEXAMPLE;aws_secret_access_key=s3cr3t/KEY+x' removequotes delimiter '\t' gzip escape truncatecolumns roundec fillrecord compupdate on emptyasnull acceptinvchars '?' manifest trimblanks;)");
}

TEST(RedshiftCopyTest, KeyCredentialsWithSessionToken) {
  const CopyAuthorization keys{
      .access_key_id = "ASIAEXAMPLE", .secret_access_key = "secret", .session_token = "tok/en=="};

  const auto copy =
      copy_statement(names(), test::libpq_literal_quoter(), "minute-watched", k_url, keys);

  ASSERT_TRUE(copy) << copy.error().message;
  EXPECT_EQ(
      *copy,
      R"(COPY "logs"."minute-watched" FROM 's3://manifests/5f0c8a8e-6a3e-4d1b-9a55-7d2f3b1c9e01.json' WITH CREDENTIALS 'aws_access_key_id=ASIAEXAMPLE;aws_secret_access_key=secret;token=tok/en==' removequotes delimiter '\t' gzip escape truncatecolumns roundec fillrecord compupdate on emptyasnull acceptinvchars '?' manifest trimblanks;)");
}

TEST(RedshiftCopyTest, IamRole) {
  const CopyAuthorization role{.iam_role = "arn:aws:iam::123456789012:role/ingester",
                               .secret_access_key = "unused"};

  const auto copy = copy_statement(names(), test::libpq_literal_quoter(), "pg_event", k_url, role);

  ASSERT_TRUE(copy) << copy.error().message;
  EXPECT_EQ(
      *copy,
      R"(COPY "logs"."pg_event" FROM 's3://manifests/5f0c8a8e-6a3e-4d1b-9a55-7d2f3b1c9e01.json' IAM_ROLE 'arn:aws:iam::123456789012:role/ingester' removequotes delimiter '\t' gzip escape truncatecolumns roundec fillrecord compupdate on emptyasnull acceptinvchars '?' manifest trimblanks;)");
}

TEST(RedshiftCopyTest, TheDefaultIamRoleIsTheKeywordUnquoted) {
  // COPY's authorization syntax is IAM_ROLE { default | 'arn:aws:iam::<account>:role/<name>' }:
  // `default` is a keyword; quoted, it would be read as an ARN.
  for (const std::string_view spelling : {"default", "DEFAULT", "Default"}) {
    const CopyAuthorization role{.iam_role = std::string(spelling)};

    const auto copy =
        copy_statement(names(), test::libpq_literal_quoter(), "pg_event", k_url, role, 3);

    ASSERT_TRUE(copy) << copy.error().message;
    EXPECT_EQ(
        *copy,
        R"(COPY "logs"."pg_event" FROM 's3://manifests/5f0c8a8e-6a3e-4d1b-9a55-7d2f3b1c9e01.json' IAM_ROLE default removequotes delimiter '\t' gzip escape truncatecolumns roundec fillrecord compupdate on emptyasnull acceptinvchars '?' manifest trimblanks maxerror 3;)");
  }
  // Only the whole word: a role named like it is an ARN, quoted as any other.
  const auto arn = copy_statement(names(), test::libpq_literal_quoter(), "pg_event", k_url,
                                  {.iam_role = "arn:aws:iam::123456789012:role/default"});
  ASSERT_TRUE(arn) << arn.error().message;
  EXPECT_NE(arn->find(" IAM_ROLE 'arn:aws:iam::123456789012:role/default' "), std::string::npos)
      << *arn;
}

TEST(RedshiftCopyTest, MaxBadRowsAddsMaxerrorAtTheEnd) {
  const CopyAuthorization keys{.access_key_id = "AKIAEXAMPLE", .secret_access_key = "s3cr3t/KEY+x"};
  const CopyAuthorization role{.iam_role = "arn:aws:iam::123456789012:role/ingester"};

  const auto with_keys =
      copy_statement(names(), test::libpq_literal_quoter(), "pg_event", k_url, keys, 25);
  const auto with_role =
      copy_statement(names(), test::libpq_literal_quoter(), "pg_event", k_url, role, 1);
  const auto none =
      copy_statement(names(), test::libpq_literal_quoter(), "pg_event", k_url, role, 0);

  ASSERT_TRUE(with_keys && with_role && none);
  EXPECT_EQ(
      *with_keys,
      R"(COPY "logs"."pg_event" FROM 's3://manifests/5f0c8a8e-6a3e-4d1b-9a55-7d2f3b1c9e01.json' WITH CREDENTIALS 'aws_access_key_id=AKIAEXAMPLE;aws_secret_access_key=s3cr3t/KEY+x' removequotes delimiter '\t' gzip escape truncatecolumns roundec fillrecord compupdate on emptyasnull acceptinvchars '?' manifest trimblanks maxerror 25;)");
  EXPECT_EQ(
      *with_role,
      R"(COPY "logs"."pg_event" FROM 's3://manifests/5f0c8a8e-6a3e-4d1b-9a55-7d2f3b1c9e01.json' IAM_ROLE 'arn:aws:iam::123456789012:role/ingester' removequotes delimiter '\t' gzip escape truncatecolumns roundec fillrecord compupdate on emptyasnull acceptinvchars '?' manifest trimblanks maxerror 1;)");
  EXPECT_EQ(
      *none,
      R"(COPY "logs"."pg_event" FROM 's3://manifests/5f0c8a8e-6a3e-4d1b-9a55-7d2f3b1c9e01.json' IAM_ROLE 'arn:aws:iam::123456789012:role/ingester' removequotes delimiter '\t' gzip escape truncatecolumns roundec fillrecord compupdate on emptyasnull acceptinvchars '?' manifest trimblanks;)");
}

TEST(RedshiftCopyTest, MaxBadRowsAboveRedshiftsLimitIsSentAsTheLimit) {
  const CopyAuthorization role{.iam_role = "arn:aws:iam::123456789012:role/ingester"};

  const auto copy =
      copy_statement(names(), test::libpq_literal_quoter(), "t", k_url, role, 4000000000U);

  ASSERT_TRUE(copy) << copy.error().message;
  EXPECT_TRUE(copy->ends_with(" manifest trimblanks maxerror 100000;")) << *copy;
}

TEST(RedshiftCopyTest, RefusesCredentialsThatWouldBreakTheStringWithoutShowingThem) {
  const std::vector<CopyAuthorization> bad = {
      {.access_key_id = "AKIA", .secret_access_key = "x;token=y"},
      {.access_key_id = "AKIA", .secret_access_key = "it's"},
      {.access_key_id = "AKIA", .secret_access_key = "back\\slash"},
      {.access_key_id = "AKIA", .secret_access_key = "new\nline"},
      {.iam_role = "arn'; drop"},
      {.access_key_id = "AKIA"},
      {},
  };
  for (const auto& authorization : bad) {
    const auto copy =
        copy_statement(names(), test::libpq_literal_quoter(), "t", k_url, authorization);

    ASSERT_FALSE(copy);
    EXPECT_EQ(copy.error().kind, ErrorKind::permanent);
    if (!authorization.secret_access_key.empty()) {
      EXPECT_EQ(copy.error().message.find(authorization.secret_access_key), std::string::npos);
    }
  }
}

TEST(RedshiftCopyTest, RedactRemovesEverySecret) {
  const CopyAuthorization keys{.access_key_id = "AKIAEXAMPLE",
                               .secret_access_key = "s3cr3t",
                               .session_token = "FQoGZXIvYXdzEXAMPLE"};

  const std::string message = redact("COPY ... "
                                     "'aws_access_key_id=AKIAEXAMPLE;aws_secret_access_key=s3cr3t;"
                                     "token=FQoGZXIvYXdzEXAMPLE': denied",
                                     keys);

  EXPECT_EQ(
      message,
      "COPY ... 'aws_access_key_id=<redacted>;aws_secret_access_key=<redacted>;token=<redacted>': "
      "denied");
}

TEST(RedshiftManifestTest, IsTheOriginalsJson) {
  const std::vector<core::ObjectLocation> files = {{"spade-compacter-local", "path/file.gz"},
                                                   {"b", "k/2.gz"}};

  EXPECT_EQ(manifest_json(files),
            R"({"entries":[{"url":"s3://spade-compacter-local/path/file.gz","mandatory":true},)"
            R"({"url":"s3://b/k/2.gz","mandatory":true}]})");
  EXPECT_EQ(manifest_url("manifests", "5f0c8a8e-6a3e-4d1b-9a55-7d2f3b1c9e01"), k_url);
}

TEST(RedshiftLoadCheckTest, SearchesTheQueryLogsForTheOriginalsCopy) {
  EXPECT_EQ(copy_search_pattern(k_url),
            "COPY % FROM 's3://manifests/5f0c8a8e-6a3e-4d1b-9a55-7d2f3b1c9e01.json' %");
  EXPECT_EQ(k_copy_running,
            "SELECT count(*) FROM stv_recents WHERE query ILIKE $1 AND status != 'Done'");
  EXPECT_EQ(k_copy_committed,
            "SELECT count(*) FROM stl_query q JOIN stl_utilitytext u ON u.xid = q.xid "
            "WHERE q.querytxt ILIKE $1 AND u.text = 'COMMIT'");
  EXPECT_EQ(k_copy_attempted, "SELECT count(*) FROM stl_query WHERE querytxt ILIKE $1");
}

TEST(RedshiftLoadErrorsTest, RejectedRowsAreReadByTheCopysQueryId) {
  EXPECT_EQ(k_last_copy_id, "SELECT pg_last_copy_id()");
  EXPECT_EQ(k_stl_load_errors,
            "SELECT trim(filename), line_number, trim(colname), err_code, trim(err_reason), "
            "rtrim(raw_line) FROM stl_load_errors WHERE query = $1");
  EXPECT_EQ(k_sys_load_error_detail,
            "SELECT trim(file_name), line_number, trim(column_name), error_code, "
            "trim(error_message), NULL FROM sys_load_error_detail WHERE query_id = $1");
}

TEST(RedshiftLoadErrorsTest, RejectedRowsAreKeptInInfraRejectedRow) {
  EXPECT_EQ(pg_sql::k_create_rejected_row,
            "CREATE TABLE IF NOT EXISTS infra.rejected_row (manifest_uuid char(36) NOT NULL, "
            "table_name varchar(127) NOT NULL, file_url varchar(1024) NOT NULL, line_number "
            "bigint, column_name varchar(127), raw_line varchar(1024), reason varchar(1024) NOT "
            "NULL, rejected_at timestamp NOT NULL)");
  EXPECT_EQ(pg_sql::rejected_row_insert(1, "GETDATE()"),
            "INSERT INTO infra.rejected_row (manifest_uuid, table_name, file_url, line_number, "
            "column_name, raw_line, reason, rejected_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
            "GETDATE())");
  EXPECT_EQ(pg_sql::rejected_row_insert(2, "GETDATE()"),
            "INSERT INTO infra.rejected_row (manifest_uuid, table_name, file_url, line_number, "
            "column_name, raw_line, reason, rejected_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
            "GETDATE()), ($1, $2, $8, $9, $10, $11, $12, GETDATE())");
}

TEST(RedshiftBookkeepingTest, VersionStatementsAreTheOriginals) {
  EXPECT_EQ(pg_sql::k_select_version,
            "SELECT MAX(version) FROM infra.table_version WHERE name = $1 GROUP BY name");
  EXPECT_EQ(k_insert_version,
            "INSERT INTO infra.table_version (name, version, ts) VALUES ($1, $2, GETDATE())");
  EXPECT_EQ(pg_sql::k_select_versions,
            "SELECT name, MAX(version) FROM infra.table_version GROUP BY name");
}

} // namespace
} // namespace rsi::warehouse::redshift
