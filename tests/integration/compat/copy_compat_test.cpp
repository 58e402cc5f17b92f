// Compatibility with the original rs_ingester: its COPY and manifest, rebuilt here from its code
// (redshift/row_copy.go: `COPY %s.%s FROM %s WITH CREDENTIALS '%s' %s` with lib/pq's quoting and
// the import options joined by spaces; loadclient/rsloader.go: the manifest JSON and
// NormalizeS3URL), against what this project's Redshift backend sends.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/file_pointer.hpp"
#include "pg/connection.hpp"
#include "warehouse/redshift_sql.hpp"

namespace rsi {
namespace {

// The original's statement for the same inputs.
std::string original_copy(std::string_view schema, std::string_view table,
                          std::string_view manifest_url, std::string_view credentials) {
  const std::vector<std::string> options{
      "removequotes", "delimiter '\\t'", "gzip",          "escape",      "truncatecolumns",
      "roundec",      "fillrecord",      "compupdate on", "emptyasnull", "acceptinvchars '?'",
      "manifest",     "trimblanks;"};
  return fmt::format("COPY \"{}\".\"{}\" FROM '{}' WITH CREDENTIALS '{}' {}", schema, table,
                     manifest_url, credentials, fmt::join(options, " "));
}

class CopyCompat : public ::testing::Test {
protected:
  pg::Connection m_quoter = pg::Connection::detached().value();
  warehouse::SqlNames m_names{
      warehouse::Dialect::redshift,
      [this](std::string_view name) { return m_quoter.quote_identifier(name); },
      warehouse::Layout{.physical_schema = "logs"}};
  warehouse::QuoteFn m_literal = [this](std::string_view text) {
    return m_quoter.quote_literal(text);
  };
};

TEST_F(CopyCompat, TheCopyIsTheOriginalsTextWithKeysAndWithASessionToken) {
  const std::string url =
      warehouse::redshift::manifest_url("manifests", "0b7c6d4e-1111-4000-8000-000000000000");
  EXPECT_EQ(url, "s3://manifests/0b7c6d4e-1111-4000-8000-000000000000.json")
      << "NormalizeS3URL(bucket/uuid.json)";

  const auto keys = warehouse::redshift::copy_statement(
      m_names, m_literal, "minute-watched", url,
      {.access_key_id = "AKIAEXAMPLE", .secret_access_key = "wJal/rX+Ut"});
  const auto temporary =
      warehouse::redshift::copy_statement(m_names, m_literal, "minute-watched", url,
                                          {.access_key_id = "ASIAEXAMPLE",
                                           .secret_access_key = "wJal/rX+Ut",
                                           .session_token = "FQo//tok=="});

  ASSERT_TRUE(keys) << keys.error().message;
  EXPECT_EQ(*keys, original_copy("logs", "minute-watched", url,
                                 "aws_access_key_id=AKIAEXAMPLE;aws_secret_access_key=wJal/rX+Ut"));
  ASSERT_TRUE(temporary) << temporary.error().message;
  EXPECT_EQ(*temporary,
            original_copy(
                "logs", "minute-watched", url,
                "aws_access_key_id=ASIAEXAMPLE;aws_secret_access_key=wJal/rX+Ut;token=FQo//tok=="));
}

TEST_F(CopyCompat, TheManifestListsEveryFileAsTheOriginalDid) {
  // Its KeyNames through NormalizeS3URL: the scheme added when missing, kept when present.
  const std::vector<core::ObjectLocation> files{
      core::locate_key_name("spade-compacter/2016/oauth/v0/a.gz").value(),
      core::locate_key_name("s3://spade-compacter/2016/oauth/v0/b.gz").value()};

  EXPECT_EQ(warehouse::redshift::manifest_json(files),
            R"({"entries":[{"url":"s3://spade-compacter/2016/oauth/v0/a.gz","mandatory":true},)"
            R"({"url":"s3://spade-compacter/2016/oauth/v0/b.gz","mandatory":true}]})");
}

TEST_F(CopyCompat, AnOldLoadIsFoundInTheQueryLogsByTheOriginalsPattern) {
  // copyCommandSearch: `COPY %% FROM '%s' %%`, matched with ILIKE.
  EXPECT_EQ(warehouse::redshift::copy_search_pattern("s3://manifests/u.json"),
            "COPY % FROM 's3://manifests/u.json' %");
}

} // namespace
} // namespace rsi
