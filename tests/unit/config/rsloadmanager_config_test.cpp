#include "config/rsloadmanager_config.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "config/go_flags.hpp"
#include "support/temp_dir.hpp"

namespace rsi::config {
namespace {

using namespace std::chrono_literals;

RsloadmanagerConfig load_loader_config(std::vector<std::string> args, http::Environment env = {}) {
  std::vector<const char*> argv{"rsloadmanager"};
  argv.reserve(args.size() + 1);
  for (const std::string& arg : args) {
    argv.push_back(arg.c_str());
  }
  return load_rsloadmanager(static_cast<int>(argv.size()), argv.data(), std::move(env));
}

// The error message of a configuration that must be refused.
std::string refusal(std::vector<std::string> args, http::Environment env = {}) {
  try {
    (void)load_loader_config(std::move(args), std::move(env));
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(accepted)";
}

// The least a deployment must say: an ingester database, a warehouse, a schema registry.
std::vector<std::string> minimal(std::vector<std::string> more = {}) {
  std::vector<std::string> args{"-databaseURL",    "postgres://u@db/ingester",
                                "--warehouse-url", "sqlite:///data/warehouse.db",
                                "-blueprint_host", "blueprint:8080"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

class RsloadmanagerConfigTest : public ::testing::Test {
protected:
  std::string write(const std::string& name, const std::string& text) {
    const auto path = m_dir.path(name);
    std::ofstream(path) << text;
    return path.string();
  }

  test::TempDir m_dir;
};

TEST_F(RsloadmanagerConfigTest, TheOriginalDefaults) {
  const auto config = load_loader_config(minimal());

  EXPECT_EQ(config.database_url, "postgres://u@db/ingester");
  EXPECT_EQ(config.warehouse_url, "sqlite:///data/warehouse.db");
  EXPECT_EQ(config.registry_url, "blueprint:8080");
  EXPECT_EQ(config.workers, 5);
  EXPECT_EQ(config.loader.policy.count_trigger, 5);
  EXPECT_EQ(config.loader.policy.age_trigger, 1800s);
  EXPECT_EQ(config.loader.no_work_delay, 1min);
  EXPECT_EQ(config.loader.max_load_retry, 5);
  EXPECT_EQ(config.max_db_retry, 10);
  EXPECT_FALSE(config.redshift_system_tables.has_value()) << "decided by the host";
  EXPECT_EQ(config.loader.error_retry_delay, 15min);
  EXPECT_EQ(config.loader.failed_load_check_interval, 1min);
  EXPECT_EQ(config.migrator.poll_period, 1min);
  EXPECT_EQ(config.reporter_period, 1min);
  EXPECT_EQ(config.migrator.wait_processor_period, 3min);
  EXPECT_EQ(config.migrator.offpeak.start_hour, 3);
  EXPECT_EQ(config.migrator.offpeak.duration_hours, 8);
  EXPECT_EQ(config.migrator.onpeak_timeout, 600'000ms);
  EXPECT_EQ(config.migrator.offpeak_timeout, 10'800'000ms);
  EXPECT_EQ(config.stats_prefix, "ingester");
  EXPECT_EQ(config.max_db_connections, 5U);
  EXPECT_FALSE(config.statsd_address);
  // New settings.
  EXPECT_EQ(config.control.address, "localhost:8080");
  EXPECT_FALSE(config.control.token);
  EXPECT_FALSE(config.migrator.dry_run);
  EXPECT_EQ(config.loader.policy.lease, 2min);
  EXPECT_EQ(config.loader.policy.max_files, 0U);
  EXPECT_EQ(config.manifest_bucket, "");
  EXPECT_EQ(config.iam_role, "");
  EXPECT_EQ(config.objects_url, "");
  EXPECT_EQ(config.layout.physical_schema, "logs");
  EXPECT_EQ(config.log.level, log::Level::info);
}

TEST_F(RsloadmanagerConfigTest, EveryOriginalFlagWithOneDash) {
  const auto config = load_loader_config({"-databaseURL",
                                          "postgres://u@db/ingester",
                                          "-manifestBucket",
                                          "manifests",
                                          "-loadCountTrigger",
                                          "50",
                                          "-loadAgeSeconds",
                                          "600",
                                          "-n_workers",
                                          "12",
                                          "-blueprint_host",
                                          "bp.internal:8080",
                                          "-statsPrefix",
                                          "ingester.prod",
                                          "-maxDBConnections",
                                          "20",
                                          "-migratorPollPeriod",
                                          "30s",
                                          "-reporterPollPeriod",
                                          "10s",
                                          "-waitProcessorPeriod",
                                          "5m",
                                          "-offpeakStartHour",
                                          "22",
                                          "-offpeakDurationHours",
                                          "6",
                                          "-onpeakMigrationTimeoutMs",
                                          "1000",
                                          "-offpeakMigrationTimeoutMs",
                                          "2000",
                                          "-no_work_delay",
                                          "5s",
                                          "-max_load_retry",
                                          "3",
                                          "-max_db_retry",
                                          "4",
                                          "-error_retry_delay",
                                          "1h30m",
                                          "-failed_load_check_interval",
                                          "2m",
                                          "-rsURL",
                                          "postgres://rs@cluster:5439/events"},
                                         {{"STATSD_HOSTPORT", "127.0.0.1:8125"}});

  EXPECT_EQ(config.manifest_bucket, "manifests");
  EXPECT_EQ(config.loader.policy.count_trigger, 50);
  EXPECT_EQ(config.loader.policy.age_trigger, 600s);
  EXPECT_EQ(config.workers, 12);
  EXPECT_EQ(config.registry_url, "bp.internal:8080");
  EXPECT_EQ(config.stats_prefix, "ingester.prod");
  EXPECT_EQ(config.max_db_connections, 20U);
  EXPECT_EQ(config.migrator.poll_period, 30s);
  EXPECT_EQ(config.reporter_period, 10s);
  EXPECT_EQ(config.migrator.wait_processor_period, 5min);
  EXPECT_EQ(config.migrator.offpeak.start_hour, 22);
  EXPECT_EQ(config.migrator.offpeak.duration_hours, 6);
  EXPECT_EQ(config.migrator.onpeak_timeout, 1000ms);
  EXPECT_EQ(config.migrator.offpeak_timeout, 2000ms);
  EXPECT_EQ(config.loader.no_work_delay, 5s);
  EXPECT_EQ(config.loader.max_load_retry, 3);
  EXPECT_EQ(config.max_db_retry, 4);
  EXPECT_EQ(config.loader.error_retry_delay, 90min);
  EXPECT_EQ(config.loader.failed_load_check_interval, 2min);
  EXPECT_EQ(config.warehouse_url, "redshift://rs@cluster:5439/events");
  EXPECT_EQ(config.statsd_address.value_or(""), "127.0.0.1:8125");
}

TEST_F(RsloadmanagerConfigTest, TwoDashesAndEqualsSignsWorkToo) {
  const auto config = load_loader_config(
      {"--databaseURL=sqlite:///data/ingester.db", "--warehouse-url=sqlite:///data/w.db",
       "--blueprint_host=bp", "--n_workers=3", "--loadCountTrigger", "7", "-loadAgeSeconds=60",
       "--no_work_delay=250ms", "-max_load_retry=0"});

  EXPECT_EQ(config.database_url, "sqlite:///data/ingester.db");
  EXPECT_EQ(config.workers, 3);
  EXPECT_EQ(config.loader.policy.count_trigger, 7);
  EXPECT_EQ(config.loader.policy.age_trigger, 60s);
  EXPECT_EQ(config.loader.no_work_delay, 250ms);
  EXPECT_EQ(config.loader.max_load_retry, 0);
}

TEST_F(RsloadmanagerConfigTest, ZeroWorkersTurnLoadingOff) {
  EXPECT_EQ(load_loader_config(minimal({"-n_workers", "0"})).workers, 0);
}

TEST_F(RsloadmanagerConfigTest, TheConfigFileGivesTheRedshiftUrlAndLayout) {
  const std::string file = write("config.json", R"json({
    "redshift": {
      "url": "postgres://loader:secret@cluster.example:5439/events?sslmode=require",
      "physicalSchema": "logs",
      "viewSchema": "views",
      "viewColumn": "time",
      "viewFilter": "WHERE time > '2016-01-01'",
      "fullViewSchema": "fullviews",
      "fullViewReplacements": {"ip": "NULL::varchar", "user_id": "md5(user_id)"},
      "somethingNew": true
    },
    "otherSection": {}
  })json");

  const auto config =
      load_loader_config({"-databaseURL", "postgres://u@db/ingester", "-config", file,
                          "-manifestBucket", "manifests", "-blueprint_host", "bp"});

  // The original reached Redshift with a postgres:// URL: it still selects the Redshift backend.
  EXPECT_EQ(config.warehouse_url,
            "redshift://loader:secret@cluster.example:5439/events?sslmode=require");
  EXPECT_EQ(config.layout.physical_schema, "logs");
  EXPECT_EQ(config.layout.view_schema, "views");
  EXPECT_EQ(config.layout.view_column, "time");
  EXPECT_EQ(config.layout.view_filter, "WHERE time > '2016-01-01'");
  EXPECT_EQ(config.layout.full_view_schema, "fullviews");
  EXPECT_EQ(config.layout.full_view_replacements,
            (std::map<std::string, std::string, std::less<>>{{"ip", "NULL::varchar"},
                                                             {"user_id", "md5(user_id)"}}));
}

TEST_F(RsloadmanagerConfigTest, TheConfigFileTakesTheRedshiftSchemeAndTwoDashes) {
  const std::string file =
      write("config.json", R"({"redshift":{"url":"redshift://rs@cluster:5439/db",
                                                                "physicalSchema":"events"}})");

  const auto config = load_loader_config(
      {"--databaseURL", "x", "--config=" + file, "--manifestBucket=m", "--blueprint_host=bp"});

  EXPECT_EQ(config.warehouse_url, "redshift://rs@cluster:5439/db");
  EXPECT_EQ(config.layout.physical_schema, "events");
  EXPECT_EQ(config.layout.view_schema, "");
}

TEST_F(RsloadmanagerConfigTest, WarehouseUrlOverridesTheConfigFile) {
  const std::string file =
      write("config.json",
            R"({"redshift":{"url":"postgres://rs@cluster:5439/db","viewSchema":"views"}})");

  const auto config =
      load_loader_config({"-databaseURL", "x", "-config", file, "--warehouse-url",
                          "postgres://pg@local/warehouse", "-blueprint_host", "bp"});

  EXPECT_EQ(config.warehouse_url,
            "postgres://pg@local/warehouse"); // A PostgreSQL warehouse: no bucket needed.
  EXPECT_EQ(config.layout.view_schema, "views");
}

TEST_F(RsloadmanagerConfigTest, NewFlags) {
  const auto config = load_loader_config({"--databaseURL",
                                          "sqlite:///data/ingester.db",
                                          "--warehouse-url",
                                          "redshift://rs@cluster:5439/db",
                                          "-manifestBucket",
                                          "manifests",
                                          "--iam-role",
                                          "arn:aws:iam::123456789012:role/copy",
                                          "--objects-url",
                                          "file:///data/objects",
                                          "--registry-url",
                                          "file:///data/schemas",
                                          "--batch-lease",
                                          "30s",
                                          "--max-batch-files",
                                          "100",
                                          "--dry-run-migrations",
                                          "--control-addr",
                                          "0.0.0.0:9090",
                                          "--control-token",
                                          "from-flag",
                                          "--log-level",
                                          "debug",
                                          "--env",
                                          "prod",
                                          "--aws-region",
                                          "us-west-2",
                                          "--aws-endpoint",
                                          "http://127.0.0.1:4569",
                                          "--queue-url",
                                          "sqs://spade-events",
                                          "--redshift-system-tables",
                                          "off"},
                                         {{"RSI_CONTROL_TOKEN", "from-env"}});

  EXPECT_EQ(config.iam_role, "arn:aws:iam::123456789012:role/copy");
  EXPECT_EQ(config.objects_url, "file:///data/objects");
  EXPECT_EQ(config.registry_url, "file:///data/schemas");
  EXPECT_EQ(config.loader.policy.lease, 30s);
  EXPECT_EQ(config.loader.policy.max_files, 100U);
  EXPECT_TRUE(config.migrator.dry_run);
  EXPECT_EQ(config.control.address, "0.0.0.0:9090");
  EXPECT_EQ(config.control.token.value_or(""), "from-flag");
  EXPECT_EQ(config.log.level, log::Level::debug);
  EXPECT_EQ(config.log.env, "prod");
  EXPECT_EQ(config.aws.region, "us-west-2");
  EXPECT_EQ(config.aws.endpoint, "http://127.0.0.1:4569");
  EXPECT_EQ(config.queue_url, "sqs://spade-events");
  EXPECT_EQ(config.redshift_system_tables, false);
}

TEST_F(RsloadmanagerConfigTest, TheControlTokenComesFromTheEnvironmentAndTheApiCanBeTurnedOff) {
  const auto config =
      load_loader_config(minimal({"--control-addr", ""}), {{"RSI_CONTROL_TOKEN", "from-env"}});

  EXPECT_EQ(config.control.token.value_or(""), "from-env");
  EXPECT_EQ(config.control.address, "");
  EXPECT_FALSE(load_loader_config(minimal(), {{"RSI_CONTROL_TOKEN", ""}}).control.token);
}

TEST_F(RsloadmanagerConfigTest, TheControlTokenComesFromAFlagAFileOrTheEnvironmentInThatOrder) {
  const std::string file = write("token", "from-file\n");

  EXPECT_EQ(load_loader_config(minimal({"--control-token-file", file}),
                               {{"RSI_CONTROL_TOKEN", "from-env"}})
                .control.token,
            "from-file");
  EXPECT_EQ(load_loader_config(minimal({"-control-token", "from-flag"}),
                               {{"RSI_CONTROL_TOKEN", "from-env"}})
                .control.token,
            "from-flag");
  EXPECT_NE(
      refusal(minimal({"--control-token", "a", "--control-token-file", file})).find("not both"),
      std::string::npos);
  EXPECT_NE(refusal(minimal({"--control-token-file", write("empty", "\n")})).find("empty"),
            std::string::npos);
  EXPECT_NE(refusal(minimal({"--control-token-file", m_dir.path("missing").string()}))
                .find("cannot read"),
            std::string::npos);
}

TEST_F(RsloadmanagerConfigTest, AControlApiBeyondLoopbackNeedsATokenOrAnExplicitRisk) {
  for (const std::string address :
       {"0.0.0.0:8080", ":8080", "10.0.0.5:8080", "ingester.internal:8080", "[::]:8080"}) {
    const std::string message = refusal(minimal({"--control-addr", address}));
    EXPECT_NE(message.find("refusing to start"), std::string::npos) << address << ": " << message;
    EXPECT_NE(message.find("--control-allow-insecure"), std::string::npos) << message;

    EXPECT_EQ(load_loader_config(minimal({"--control-addr", address}), {{"RSI_CONTROL_TOKEN", "t"}})
                  .control.address,
              address);
    const auto insecure =
        load_loader_config(minimal({"--control-addr", address, "--control-allow-insecure"}));
    EXPECT_TRUE(insecure.control.allow_insecure);
    EXPECT_TRUE(insecure.control.exposed_without_token());
  }
  for (const std::string address : {"localhost:8080", "127.0.0.1:0", "[::1]:8080", ""}) {
    EXPECT_FALSE(
        load_loader_config(minimal({"--control-addr", address})).control.exposed_without_token())
        << address;
  }
  EXPECT_NE(refusal(minimal({"--control-addr", "localhost"})).find("--control-addr"),
            std::string::npos);
}

TEST_F(RsloadmanagerConfigTest, AllowedHostsAndOriginsAreCommaSeparated) {
  const auto config = load_loader_config(
      minimal({"--control-allowed-hosts", "ingester.internal, other.example:9000",
               "--control-allowed-origins", "https://blueprint.internal"}));

  EXPECT_EQ(config.control.allowed_hosts,
            (std::vector<std::string>{"ingester.internal", "other.example:9000"}));
  EXPECT_EQ(config.control.allowed_origins, std::vector<std::string>{"https://blueprint.internal"});
}

TEST_F(RsloadmanagerConfigTest, TheRunScriptsRollbarFlagsAreAccepted) {
  const auto config =
      load_loader_config(minimal({"-rollbarToken=abc123", "-rollbarEnvironment=production"}));

  EXPECT_EQ(config.rollbar.token, "abc123");
  EXPECT_EQ(config.rollbar.environment, "production");
  EXPECT_EQ(config.rollbar.endpoint, "https://api.rollbar.com/api/1/item/");
}

TEST_F(RsloadmanagerConfigTest, RollbarIsOffByDefaultAndTheEndpointCanBeOverridden) {
  const auto config = load_loader_config(
      minimal({"--rollbarToken", "abc123", "--rollbar-endpoint", "http://127.0.0.1:9/item/"}));

  EXPECT_TRUE(load_loader_config(minimal()).rollbar.token.empty());
  EXPECT_EQ(config.rollbar.endpoint, "http://127.0.0.1:9/item/");
  EXPECT_NE(refusal(minimal({"--rollbar-endpoint", "api.rollbar.com"})).find("--rollbar-endpoint"),
            std::string::npos);
}

TEST_F(RsloadmanagerConfigTest, CloudEnvironmentIsTheDefaultOfTheLogEnvAndOfRollbars) {
  const http::Environment cloud{{"CLOUD_ENVIRONMENT", "staging"}};

  const auto from_env = load_loader_config(minimal({"-rollbarToken", "abc123"}), cloud);
  const auto explicit_flags =
      load_loader_config(minimal({"--env", "prod", "-rollbarEnvironment", "production"}), cloud);
  const auto without = load_loader_config(minimal());

  EXPECT_EQ(from_env.log.env, "staging");
  EXPECT_EQ(from_env.rollbar.environment, "staging");
  EXPECT_EQ(explicit_flags.log.env, "prod");
  EXPECT_EQ(explicit_flags.rollbar.environment, "production");
  EXPECT_EQ(without.log.env, "local");
  EXPECT_EQ(without.rollbar.environment, "");
}

TEST_F(RsloadmanagerConfigTest, TheOriginalRunScriptArgumentsParse) {
  const std::string conf =
      write("conf.json", R"({"redshift":{"url":"postgres://rs@cluster:5439/db"}})");
  const auto config = load_loader_config(
      {"-n_workers", "5", "-statsPrefix=science.rs-ingester.prod.us-west-2.7",
       "-databaseURL=postgres://u@db/ingester", "-manifestBucket=manifests", "-loadCountTrigger=5",
       "-loadAgeSeconds=1800", "-no_work_delay=1m", "-migratorPollPeriod=1m",
       "-waitProcessorPeriod=3m", "-blueprint_host=blueprint:8080", "-rollbarToken=abc123",
       "-rollbarEnvironment=prod", "-offpeakStartHour=3", "-offpeakDurationHours=8",
       "-onpeakMigrationTimeoutMs=600000", "-offpeakMigrationTimeoutMs=10800000",
       "-reporterPollPeriod=1m", "-config=" + conf},
      {{"CLOUD_ENVIRONMENT", "prod"}});

  EXPECT_EQ(config.warehouse_url, "redshift://rs@cluster:5439/db");
  EXPECT_EQ(config.stats_prefix, "science.rs-ingester.prod.us-west-2.7");
  EXPECT_EQ(config.rollbar.token, "abc123");
  EXPECT_EQ(config.log.env, "prod");
}

TEST_F(RsloadmanagerConfigTest, BadSettingsAreNamed) {
  const std::string not_json = write("not_json.json", "{\"redshift\": {");
  const std::string array = write("array.json", "[]");
  const std::string wrong_type = write("wrong_type.json", R"({"redshift":{"url":5}})");
  const std::string section_not_object = write("section.json", R"({"redshift":"postgres://x"})");
  const std::string bad_replacements =
      write("replacements.json", R"({"redshift":{"fullViewReplacements":["x"]}})");
  const std::string postgres_redshift =
      write("redshift.json", R"({"redshift":{"url":"postgres://rs@c:5439/db"}})");
  const std::string missing = m_dir.path("missing.json").string();

  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"--warehouse-url", "sqlite:///w.db", "-blueprint_host", "bp"}, "-databaseURL is required"},
      {{"-databaseURL", "x", "-blueprint_host", "bp"}, "a warehouse is required"},
      {{"-databaseURL", "x", "--warehouse-url", "sqlite:///w.db"}, "a schema registry is required"},
      {minimal({"--registry-url", "file:///schemas"}),
       "-blueprint_host or --registry-url, not both"},
      {{"-databaseURL", "x", "--warehouse-url", "redshift://rs@c:5439/db", "-blueprint_host", "bp"},
       "-manifestBucket is required for a Redshift warehouse"},
      {{"-databaseURL", "x", "-config", postgres_redshift, "-blueprint_host", "bp"},
       "-manifestBucket is required for a Redshift warehouse"},
      {{"-databaseURL", "x", "-rsURL", "postgres://rs@c:5439/db", "-blueprint_host", "bp"},
       "-manifestBucket is required for a Redshift warehouse"},
      {minimal({"-no_work_delay", "soon"}), "-no_work_delay: invalid duration \"soon\""},
      {minimal({"-error_retry_delay", "15"}), "-error_retry_delay"},
      {minimal({"-failed_load_check_interval", "0"}),
       "-failed_load_check_interval: must be positive"},
      {minimal({"-migratorPollPeriod", "-1m"}), "-migratorPollPeriod"},
      {minimal({"-reporterPollPeriod", "1 minute"}), "-reporterPollPeriod"},
      {minimal({"-waitProcessorPeriod", "3d"}), "-waitProcessorPeriod"},
      {minimal({"--batch-lease", "1s"}), "--batch-lease must be at least 2s"},
      {minimal({"-offpeakStartHour", "24"}), "offpeakStartHour"},
      {minimal({"-offpeakDurationHours", "25"}), "offpeakDurationHours"},
      {minimal({"-onpeakMigrationTimeoutMs", "0"}), "onpeakMigrationTimeoutMs"},
      {minimal({"-n_workers", "-1"}), "n_workers"},
      {minimal({"-loadCountTrigger", "many"}), "loadCountTrigger"},
      {minimal({"-maxDBConnections", "0"}), "maxDBConnections"},
      {minimal({"--log-level", "loud"}), "--log-level: unknown level \"loud\""},
      {minimal({"-noSuchFlag", "1"}), "noSuchFlag"},
      {minimal({"-config", missing}), "-config " + missing + ": cannot read the file"},
      {minimal({"-config", not_json}), "-config " + not_json + ": not a JSON object"},
      {minimal({"-config", array}), "-config " + array + ": not a JSON object"},
      {minimal({"-config", wrong_type}), "url"},
      {minimal({"-config", section_not_object}), "-config " + section_not_object},
      {minimal({"-config", bad_replacements}), "fullViewReplacements"},
  };
  for (const auto& [args, expected] : cases) {
    const std::string message = refusal(args);
    EXPECT_NE(message.find(expected), std::string::npos)
        << "expected \"" << expected << "\" in: " << message;
  }
}

TEST_F(RsloadmanagerConfigTest, ConfigErrorsNeverShowTheWarehousePassword) {
  const std::string file =
      write("config.json", R"({"redshift":{"url":"postgres://loader:hunter2@c:5439/db",
                                                                "viewSchema":7}})");

  const std::string message =
      refusal({"-databaseURL", "x", "-config", file, "-blueprint_host", "bp"});

  EXPECT_NE(message.find("viewSchema"), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
}

TEST_F(RsloadmanagerConfigTest, TheReplayOfRejectedMessagesTakesEventMetadataAndRoutes) {
  const auto without = load_loader_config(minimal());
  const auto with = load_loader_config(
      minimal({"--event-metadata-url", "s3://bp-configs/metadata.json.gz", "--route",
               "logs/{table}/v{version}/**", "-route", "exports/{table}/** version=3"}));

  EXPECT_EQ(without.event_metadata_url, "");
  EXPECT_TRUE(without.routes.empty());
  EXPECT_EQ(with.event_metadata_url, "s3://bp-configs/metadata.json.gz");
  ASSERT_EQ(with.routes.size(), 2U);
  EXPECT_EQ(with.routes[0].text(), "logs/{table}/v{version}/**");
  EXPECT_EQ(with.routes[1].text(), "exports/{table}/** version=3");
  EXPECT_NE(refusal(minimal({"--route", "logs/{table}/**"})).find("needs --event-metadata-url"),
            std::string::npos);
  EXPECT_NE(
      refusal(minimal({"--event-metadata-url", "file:///m.json", "--route", "logs/{tabel}/**"}))
          .find("--route: route \"logs/{tabel}/**\": unknown placeholder"),
      std::string::npos);
}

TEST_F(RsloadmanagerConfigTest, HelpIsNotAnError) {
  EXPECT_THROW((void)load_loader_config({"--help"}), HelpRequested);
  EXPECT_THROW((void)load_loader_config({"-help"}), HelpRequested);
}

} // namespace
} // namespace rsi::config
