#include "config/metadatastorer_config.hpp"

#include <gtest/gtest.h>

#include "config/go_flags.hpp"

namespace rsi::config {
namespace {

using namespace std::chrono_literals;

MetadatastorerConfig load_storer_config(std::vector<const char*> args, http::Environment env = {}) {
  std::vector<const char*> argv{"metadatastorer"};
  argv.reserve(args.size() + 1);
  for (const char* arg : args) {
    argv.push_back(arg);
  }
  return load_metadatastorer(static_cast<int>(argv.size()), argv.data(), std::move(env));
}

TEST(MetadatastorerConfigTest, TheOriginalFlagsKeepTheirMeaningAndDefaults) {
  const auto config = load_storer_config(
      {"-databaseURL", "postgres://u@db/ingester", "-sqsQueueName", "spade-files",
       "-bpConfigsBucket", "bp-configs", "-bpMetadataConfigsKey", "metadata.json.gz"},
      {{"STATSD_HOSTPORT", "127.0.0.1:8125"}});
  EXPECT_EQ(config.database_url, "postgres://u@db/ingester");
  EXPECT_EQ(config.queue_url, "sqs://spade-files");
  EXPECT_EQ(config.event_metadata_url, "s3://bp-configs/metadata.json.gz");
  EXPECT_EQ(config.listener_count, 1);
  EXPECT_EQ(config.max_db_connections, 5U);
  EXPECT_EQ(config.poll_wait, 30s);
  EXPECT_EQ(config.stats_prefix, "metadatastorer");
  EXPECT_EQ(config.metadata_reload, 5min);
  EXPECT_EQ(config.statsd_address.value_or(""), "127.0.0.1:8125");
  EXPECT_FALSE(config.keep_rejected_in_queue);
  EXPECT_EQ(config.unknown_table_wait, 24h)
      << "a new event's files may wait a day for its metadata";
  EXPECT_EQ(config.unknown_table_retry, 1min);
}

TEST(MetadatastorerConfigTest, NewFlagsSelectTheEmbeddedBackends) {
  const auto config = load_storer_config(
      {"--databaseURL=sqlite:///data/ingester.db", "--queue-url=dir:///data/inbox",
       "--event-metadata-url", "file:///data/metadata.json", "-listenerCount=4",
       "--keep-rejected-in-queue", "-bpMetadataReloadFrequency", "30s", "--log-level", "debug",
       "--unknown-table-wait", "48h", "--unknown-table-retry", "30s"});
  EXPECT_EQ(config.queue_url, "dir:///data/inbox");
  EXPECT_EQ(config.listener_count, 4);
  EXPECT_TRUE(config.keep_rejected_in_queue);
  EXPECT_EQ(config.metadata_reload, 30s);
  EXPECT_EQ(config.log.level, log::Level::debug);
  EXPECT_EQ(config.unknown_table_wait, 48h);
  EXPECT_EQ(config.unknown_table_retry, 30s);
}

TEST(MetadatastorerConfigTest, RoutesAreRepeatableAndKeepTheirOrder) {
  const auto config = load_storer_config(
      {"-databaseURL", "x", "-sqsQueueName", "q", "--event-metadata-url", "file:///m", "--route",
       "logs/{table}/v{version}/**", "--route=exports/{table}/** bucket=partner", "--registry-url",
       "http://blueprint:8080"});
  ASSERT_EQ(config.routes.size(), 2U);
  EXPECT_EQ(config.routes[0].text(), "logs/{table}/v{version}/**");
  EXPECT_EQ(config.routes[1].text(), "exports/{table}/** bucket=partner");
  EXPECT_EQ(config.registry_url, "http://blueprint:8080");
  EXPECT_TRUE(load_storer_config(
                  {"-databaseURL", "x", "-sqsQueueName", "q", "--event-metadata-url", "file:///m"})
                  .routes.empty())
      << "without --route only Spade's messages are taken";
}

TEST(MetadatastorerConfigTest, TheOriginalRunScriptArgumentsParse) {
  const auto config = load_storer_config(
      {"-statsPrefix=science.rs-ingester-metadatastorer.prod.us-west-2.7",
       "-databaseURL=postgres://u@db/ingester", "-sqsQueueName=spade-files", "-sqsPollWait=30s",
       "-listenerCount=5", "-rollbarToken=abc123", "-rollbarEnvironment=production",
       "-bpConfigsBucket=bp-configs", "-bpMetadataConfigsKey=metadata.json.gz",
       "-bpMetadataReloadFrequency=5m", "-bpMetadataRetryDelay=2s"},
      {{"CLOUD_ENVIRONMENT", "prod"}});

  EXPECT_EQ(config.stats_prefix, "science.rs-ingester-metadatastorer.prod.us-west-2.7");
  EXPECT_EQ(config.listener_count, 5);
  EXPECT_EQ(config.rollbar.token, "abc123");
  EXPECT_EQ(config.rollbar.environment, "production");
  EXPECT_EQ(config.rollbar.endpoint, "https://api.rollbar.com/api/1/item/");
  EXPECT_EQ(config.log.env, "prod");
}

TEST(MetadatastorerConfigTest, RollbarAndTheLogEnvFollowCloudEnvironmentUnlessFlagsSayOtherwise) {
  const std::vector<const char*> base{"-databaseURL",         "x",        "-sqsQueueName", "q",
                                      "--event-metadata-url", "file:///m"};
  auto with = [&](std::vector<const char*> more) {
    more.insert(more.begin(), base.begin(), base.end());
    return more;
  };

  const auto from_env =
      load_storer_config(with({"--rollbarToken", "abc123"}), {{"CLOUD_ENVIRONMENT", "staging"}});
  const auto from_flags =
      load_storer_config(with({"--env", "dev", "-rollbarEnvironment", "canary",
                               "--rollbar-endpoint", "http://127.0.0.1:9/item/"}),
                         {{"CLOUD_ENVIRONMENT", "staging"}});
  const auto neither = load_storer_config(base);

  EXPECT_EQ(from_env.log.env, "staging");
  EXPECT_EQ(from_env.rollbar.environment, "staging");
  EXPECT_EQ(from_flags.log.env, "dev");
  EXPECT_EQ(from_flags.rollbar.environment, "canary");
  EXPECT_EQ(from_flags.rollbar.endpoint, "http://127.0.0.1:9/item/");
  EXPECT_EQ(neither.log.env, "local");
  EXPECT_TRUE(neither.rollbar.token.empty());
  EXPECT_THROW((void)load_storer_config(with({"--rollbar-endpoint", "ftp://x"})), ConfigError);
}

TEST(MetadatastorerConfigTest, BadSettingsAreNamed) {
  const std::vector<std::pair<std::vector<const char*>, std::string>> cases{
      {{"-sqsQueueName", "q", "--event-metadata-url", "file:///m"}, "-databaseURL is required"},
      {{"-databaseURL", "x", "--event-metadata-url", "file:///m"}, "a queue is required"},
      {{"-databaseURL", "x", "-sqsQueueName", "q"}, "event metadata is required"},
      {{"-databaseURL", "x", "-sqsQueueName", "q", "-bpConfigsBucket", "b"}, "go together"},
      {{"-databaseURL", "x", "-sqsQueueName", "q", "--event-metadata-url", "file:///m",
        "-sqsPollWait", "soon"},
       "-sqsPollWait: invalid duration \"soon\""},
      {{"-databaseURL", "x", "-sqsQueueName", "q", "--event-metadata-url", "file:///m",
        "-listenerCount", "0"},
       "listenerCount"},
      {{"-databaseURL", "x", "-sqsQueueName", "q", "--event-metadata-url", "file:///m",
        "-noSuchFlag", "1"},
       "noSuchFlag"},
      {{"-databaseURL", "x", "-sqsQueueName", "q", "--event-metadata-url", "file:///m",
        "--unknown-table-retry", "0s"},
       "--unknown-table-retry: must be 1s to 12h"},
      {{"-databaseURL", "x", "-sqsQueueName", "q", "--event-metadata-url", "file:///m",
        "--unknown-table-wait", "15d"},
       "invalid duration"},
      {{"-databaseURL", "x", "-sqsQueueName", "q", "--event-metadata-url", "file:///m",
        "--unknown-table-wait", "400h"},
       "--unknown-table-wait: must be at least --unknown-table-retry and at most 14 days"},
      {{"-databaseURL", "x", "-sqsQueueName", "q", "--event-metadata-url", "file:///m", "--route",
        "logs/{tabel}/**"},
       "--route: route \"logs/{tabel}/**\": unknown placeholder \"{tabel}\""},
      {{"-databaseURL", "x", "-sqsQueueName", "q", "--event-metadata-url", "file:///m", "--route",
        "exports/{table}/**"},
       "takes the table's current version from the schema registry: give --registry-url"},
  };
  for (const auto& [args, expected] : cases) {
    try {
      (void)load_storer_config(args);
      ADD_FAILURE() << "accepted: " << expected;
    } catch (const ConfigError& error) {
      EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
    }
  }
}

TEST(MetadatastorerConfigTest, HelpIsNotAnError) {
  EXPECT_THROW((void)load_storer_config({"--help"}), HelpRequested);
  EXPECT_THROW((void)load_storer_config({"-help"}), HelpRequested);
}

} // namespace
} // namespace rsi::config
