// rs_ingester redshift-smoke (src/app/redshift_smoke.hpp) against PostgreSQL dressed as Redshift
// (tests/support/redshift_shims.hpp), its COPY played by test::FakeRedshiftCopy as in the
// backend's own tests: every step passes and leaves nothing behind; a user who may not create
// the scratch schema gets one FAIL line, the rest skipped, and the clean-up still runs. And
// scripts/redshift-smoke itself, run as an operator would, with nothing stubbed.

#include "app/redshift_smoke.hpp"

#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "http/credentials.hpp"
#include "objectstore/local_object_store.hpp"
#include "pg/connection.hpp"
#include "s3_test_support.hpp"
#include "support/process.hpp"
#include "support/redshift_on_postgres.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"

namespace rsi::app {
namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

class RedshiftSmokeTest : public test::RedshiftOnPostgresFixture {
protected:
  void SetUp() override {
    RedshiftOnPostgresFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) {
      return;
    }
    m_data = objectstore::make_local_object_store({.root = m_dir.path("spade")}).value();
    m_copy->insert_row =
        "INSERT INTO rsi_smoke_test.rsi_smoke_test_event (note, label) VALUES ($1, 'smoke')";
    m_copy->rows_per_file = 2; // Each file has two lines.
  }

  RedshiftSmokeSettings settings(const std::string& conninfo) {
    return {.redshift = {.conninfo = conninfo,
                         .manifests = m_manifests.get(),
                         .manifest_bucket = "manifests",
                         .iam_role = "default",
                         .run_copy_for_test = fake_copy()},
            .data = m_data.get(),
            .data_bucket = "spade",
            .scratch = "rsi_smoke_test"};
  }

  static std::size_t objects(objectstore::ObjectStore& store) {
    return store.list("", std::nullopt).value().objects.size();
  }

  std::unique_ptr<objectstore::ObjectStore> m_data;
};

TEST_F(RedshiftSmokeTest, EveryStepPassesAndNothingIsLeftBehind) {
  std::ostringstream out;

  const bool passed = run_redshift_smoke(settings(m_database->conninfo()), out);

  EXPECT_TRUE(passed) << out.str();
  EXPECT_EQ(lines(out.str()),
            (std::vector<std::string>{
                "PASS  create the scratch schemas rsi_smoke_test, rsi_smoke_test_views",
                "PASS  start-up checks (privileges, infra tables)",
                "PASS  migrate a small history (create v0, add and rename v1)",
                "PASS  load two files through a manifest",
                "PASS  check the ledger (complete; the same manifest again refused)",
                "PASS  resolve a simulated orphan through the ledger",
                "PASS  drop the scratch schemas and the smoke's bookkeeping rows",
                "PASS  redshift smoke: every step passed"}));
  // Two COPYs of two files each: the load and the orphan's (the refused one ran none).
  ASSERT_EQ(m_copy->copies.size(), 2U);
  EXPECT_EQ(m_copy->copies[0].urls.size(), 2U);
  EXPECT_EQ(m_copy->copies[0].statement.find(
                R"(COPY "rsi_smoke_test"."rsi_smoke_test_event" FROM 's3://manifests/)"),
            0U);
  EXPECT_NE(m_copy->copies[0].statement.find(" IAM_ROLE default "), std::string::npos);
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rsi_smoke_test%'"), "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM infra.table_version"), "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM infra.load_manifest"), "0");
  EXPECT_EQ(objects(*m_data), 0U);
  EXPECT_EQ(objects(*m_manifests), 0U);
}

// As the service's user (infra made by an administrator; no DELETE there, no SYSLOG ACCESS
// UNRESTRICTED): every step passes, and NOTE lines say what only an administrator can do.
TEST_F(RedshiftSmokeTest, AsTheServicesUserItPassesAndNotesWhatOnlyAnAdministratorCanDo) {
  ASSERT_TRUE(warehouse::make_redshift_warehouse({.conninfo = m_database->conninfo(),
                                                  .manifests = m_manifests.get(),
                                                  .manifest_bucket = "manifests",
                                                  .iam_role = "default"}));
  const std::string role = test::unique_name("rsi_service");
  ASSERT_TRUE(m_admin->exec_script(fmt::format(
      "CREATE ROLE {0} LOGIN; GRANT CREATE ON DATABASE {1} TO {0}; GRANT USAGE ON SCHEMA infra "
      "TO {0}; GRANT SELECT, INSERT ON infra.table_version, infra.load_manifest, "
      "infra.rejected_row TO {0}",
      role, m_database->name())));
  std::ostringstream out;

  const bool passed = run_redshift_smoke(settings(m_database->conninfo() + " user=" + role), out);

  EXPECT_TRUE(passed) << out.str();
  const auto printed = lines(out.str());
  ASSERT_EQ(printed.size(), 12U) << out.str();
  EXPECT_EQ(printed[1], "PASS  start-up checks (privileges, infra tables)");
  EXPECT_TRUE(printed[2].starts_with(
      fmt::format("NOTE  run ALTER USER \"{}\" SYSLOG ACCESS UNRESTRICTED; (without it", role)))
      << printed[2];
  EXPECT_EQ(printed[7], "PASS  drop the scratch schemas and the smoke's bookkeeping rows");
  EXPECT_EQ(printed[8], "NOTE  no DELETE on infra: as an administrator, run DELETE FROM "
                        "infra.table_version WHERE name = 'rsi_smoke_test_event';");
  for (std::size_t note = 9; note < 11; ++note) {
    EXPECT_TRUE(printed[note].starts_with("NOTE  no DELETE on infra: as an administrator, run "
                                          "DELETE FROM infra.load_manifest WHERE uuid = '"))
        << printed[note];
  }
  EXPECT_EQ(printed[11], "PASS  redshift smoke: every step passed");
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rsi_smoke_test%'"), "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM infra.load_manifest"), "2") << "what the notes name";
  ASSERT_TRUE(m_admin->exec_script(fmt::format("DROP OWNED BY {0} CASCADE; DROP ROLE {0}", role)));
}

TEST_F(RedshiftSmokeTest, AUserWhoMayNotCreateTheSchemaGetsOneFailureAndTheRestSkipped) {
  const std::string role = test::unique_name("rsi_smoker");
  ASSERT_TRUE(m_admin->exec_script(fmt::format("CREATE ROLE {} LOGIN", role)));
  std::ostringstream out;

  const bool passed = run_redshift_smoke(settings(m_database->conninfo() + " user=" + role), out);

  EXPECT_FALSE(passed);
  const auto printed = lines(out.str());
  ASSERT_EQ(printed.size(), 8U) << out.str();
  EXPECT_TRUE(printed[0].starts_with(
      "FAIL  create the scratch schemas rsi_smoke_test, rsi_smoke_test_views: "))
      << printed[0];
  EXPECT_NE(printed[0].find("permission denied"), std::string::npos) << printed[0];
  for (std::size_t step = 1; step < 6; ++step) {
    EXPECT_TRUE(printed[step].starts_with("SKIP  ")) << printed[step];
  }
  EXPECT_EQ(printed[6], "PASS  drop the scratch schemas and the smoke's bookkeeping rows");
  EXPECT_EQ(printed[7], "FAIL  redshift smoke: 1 step(s) failed");
  ASSERT_TRUE(m_admin->exec_script(fmt::format("DROP ROLE {}", role)));
}

// scripts/redshift-smoke as an operator runs it, with this build's rs_ingester, against the same
// PostgreSQL dressed as Redshift and the S3 emulator, nothing stubbed: every step up to COPY
// passes, COPY itself fails (PostgreSQL cannot read S3: the statement Redshift would get reaches
// the server and is refused), the steps after it are skipped, and the clean-up still runs.
TEST_F(RedshiftSmokeTest, TheScriptRunsTheRealCommandUpToTheCopyPostgresCannotRun) {
  const auto endpoint = test::s3_endpoint();
  RSI_REQUIRE_SERVICE(endpoint.has_value(), "the S3 emulator (RSI_TEST_S3_ENDPOINT)");
  ASSERT_TRUE(test::create_bucket(*endpoint, "rsi-smoke-manifests"));
  std::map<std::string, std::string> parts; // host=… port=… user=… dbname=…
  std::istringstream conninfo(m_database->conninfo());
  for (std::string part; conninfo >> part;) {
    const auto equals = part.find('=');
    parts[part.substr(0, equals)] = part.substr(equals + 1);
  }
  const std::string url = fmt::format("redshift://{}@{}:{}/{}?sslmode=disable", parts["user"],
                                      parts["host"], parts["port"], parts["dbname"]);
  const auto log = m_dir.path("smoke.log");

  test::Process smoke(RSI_REDSHIFT_SMOKE_SCRIPT,
                      {"--warehouse-url", url, "--manifest-bucket", "rsi-smoke-manifests",
                       "--aws-endpoint", *endpoint, "--aws-region", "us-east-1", "--iam-role",
                       "default", "--scratch-schema", "rsi_smoke_script"},
                      log,
                      {{"RSI_SMOKE_BIN", RSI_RS_INGESTER_BIN},
                       {"AWS_ACCESS_KEY_ID", "S3RVER"},
                       {"AWS_SECRET_ACCESS_KEY", "S3RVER"}});
  const auto status = smoke.wait(std::chrono::seconds(120));

  EXPECT_EQ(status, 1) << smoke.log_text();
  std::vector<std::string> printed;
  for (const std::string& line : lines(smoke.log_text())) {
    if (!line.starts_with("{")) { // Log lines (JSON, stderr) aside.
      printed.push_back(line);
    }
  }
  ASSERT_EQ(printed.size(), 8U) << smoke.log_text();
  EXPECT_EQ(printed[0],
            "PASS  create the scratch schemas rsi_smoke_script, rsi_smoke_script_views");
  EXPECT_EQ(printed[1], "PASS  start-up checks (privileges, infra tables)");
  EXPECT_EQ(printed[2], "PASS  migrate a small history (create v0, add and rename v1)");
  EXPECT_TRUE(printed[3].starts_with("FAIL  load two files through a manifest: load "))
      << printed[3];
  EXPECT_NE(
      printed[3].find(
          R"(COPY "rsi_smoke_script"."rsi_smoke_script_event" FROM 's3://rsi-smoke-manifests/)"),
      std::string::npos)
      << printed[3];
  EXPECT_NE(printed[3].find("syntax error at or near \"IAM_ROLE\""), std::string::npos)
      << printed[3];
  EXPECT_EQ(printed[4], "SKIP  check the ledger (complete; the same manifest again refused)");
  EXPECT_EQ(printed[5], "SKIP  resolve a simulated orphan through the ledger");
  EXPECT_EQ(printed[6], "PASS  drop the scratch schemas and the smoke's bookkeeping rows");
  EXPECT_EQ(printed[7], "FAIL  redshift smoke: 1 step(s) failed");
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rsi_smoke_script%'"),
            "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM infra.table_version"), "0");
}

} // namespace
} // namespace rsi::app
