// The original's run scripts start both binaries. build/scripts/run_metadatastorer.sh and
// run_rsloadmanager.sh exec the daemons with the argument lists reproduced below (the scripts'
// variables get test values: PostgreSQL databases, an SQS queue on fauxqs, buckets on s3rver, a
// fake Blueprint). Each daemon must start, answer on its original address (metadatastorer
// 127.0.0.1:7767, rsloadmanager localhost:8080), report an error-level event to Rollbar (a local
// fake, reached through the test-only --rollbar-endpoint appended after the scripts' arguments)
// and exit 0 on SIGTERM.
//
// The -config file names the warehouse with a postgres:// URL, which means Redshift as in the
// original; the warehouse is a PostgreSQL database with the few Redshift names the backend uses
// stood in for, so rsloadmanager runs its Redshift backend unchanged.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include "common/gzip.hpp"
#include "core/file_pointer.hpp"
#include "objectstore/s3_object_store.hpp"
#include "pg/connection.hpp"
#include "queue/sqs_protocol.hpp"
#include "sqs_test_queue.hpp"
#include "support/fake_blueprint.hpp"
#include "support/fake_rollbar.hpp"
#include "support/net.hpp"
#include "support/process.hpp"
#include "support/redshift_shims.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"

namespace rsi {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr int k_metadatastorer_port = 7767; // --health-addr's default, the original's pprof port.
constexpr int k_rsloadmanager_port = 8080;  // The original's control API: localhost:8080.
constexpr std::string_view k_table = "compat_event";

// The variables the run scripts read (from /etc/environment and conf.sh), with test values.
struct ScriptVariables {
  std::string owner = "science";
  std::string cloud_app = "rs-ingester";
  std::string cloud_environment = "compat-test"; // CLOUD_DEV_PHASE is unset.
  std::string ec2_region = "us-west-2";
  std::string cloud_auto_scale_group = "rs-ingester-compat-asg-7";
  std::string ingester_db_url;
  std::string rollbar_token = "compat-rollbar-token-0001";
  // run_metadatastorer.sh
  std::string processed_files_sqs_queue;
  std::string sqs_poll_wait = "30s"; // The script's default.
  std::string listener_count = "5";  // The script's default.
  std::string bp_configs_bucket;
  std::string bp_ingest_db_configs_key = "ingestdb/allmetadata.json.gz";
  std::string bp_metadata_reload_frequency = "5m";
  std::string bp_metadata_retry_delay = "1s";
  // run_rsloadmanager.sh
  std::string manifest_bucket;
  std::string load_count_trigger = "5";
  std::string load_age_seconds = "1800";
  std::string no_work_delay = "1m"; // The script's default.
  std::string migrator_poll_period = "1s";
  std::string wait_processor_period = "1s";
  std::string blueprint_host;
  std::string offpeak_start_hour = "3";
  std::string offpeak_duration_hours = "8";
  std::string onpeak_migration_timeout_milliseconds = "600000";
  std::string offpeak_migration_timeout_milliseconds = "10800000";
  std::string reporter_poll_period = "1s";

  // ${CLOUD_DEV_PHASE:-${CLOUD_ENVIRONMENT}}.${EC2_REGION}.${CLOUD_AUTO_SCALE_GROUP##*-}
  [[nodiscard]] std::string prefix_tail() const {
    return fmt::format("{}.{}.{}", cloud_environment, ec2_region,
                       cloud_auto_scale_group.substr(cloud_auto_scale_group.rfind('-') + 1));
  }
};

// build/scripts/run_metadatastorer.sh
std::vector<std::string> metadatastorer_args(const ScriptVariables& v) {
  return {
      fmt::format("-statsPrefix={}.{}-metadatastorer.{}", v.owner, v.cloud_app, v.prefix_tail()),
      "-databaseURL=" + v.ingester_db_url,
      "-sqsQueueName=" + v.processed_files_sqs_queue,
      "-sqsPollWait=" + v.sqs_poll_wait,
      "-listenerCount=" + v.listener_count,
      "-rollbarToken=" + v.rollbar_token,
      "-rollbarEnvironment=" + v.cloud_environment,
      "-bpConfigsBucket=" + v.bp_configs_bucket,
      "-bpMetadataConfigsKey=" + v.bp_ingest_db_configs_key,
      "-bpMetadataReloadFrequency=" + v.bp_metadata_reload_frequency,
      "-bpMetadataRetryDelay=" + v.bp_metadata_retry_delay};
}

// build/scripts/run_rsloadmanager.sh (run from the directory conf.json was copied to).
std::vector<std::string> rsloadmanager_args(const ScriptVariables& v) {
  return {"-n_workers",
          "5",
          fmt::format("-statsPrefix={}.{}.{}", v.owner, v.cloud_app, v.prefix_tail()),
          "-databaseURL=" + v.ingester_db_url,
          "-manifestBucket=" + v.manifest_bucket,
          "-loadCountTrigger=" + v.load_count_trigger,
          "-loadAgeSeconds=" + v.load_age_seconds,
          "-no_work_delay=" + v.no_work_delay,
          "-migratorPollPeriod=" + v.migrator_poll_period,
          "-waitProcessorPeriod=" + v.wait_processor_period,
          "-blueprint_host=" + v.blueprint_host,
          "-rollbarToken=" + v.rollbar_token,
          "-rollbarEnvironment=" + v.cloud_environment,
          "-offpeakStartHour=" + v.offpeak_start_hour,
          "-offpeakDurationHours=" + v.offpeak_duration_hours,
          "-onpeakMigrationTimeoutMs=" + v.onpeak_migration_timeout_milliseconds,
          "-offpeakMigrationTimeoutMs=" + v.offpeak_migration_timeout_milliseconds,
          "-reporterPollPeriod=" + v.reporter_poll_period,
          "-config=conf.json"};
}

std::optional<std::string> env_value(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr || *value == '\0' ? std::nullopt : std::optional<std::string>(value);
}

// The value of `key` in a libpq key=value conninfo ("" when absent).
std::string conninfo_value(const std::string& conninfo, const std::string& key) {
  const std::string needle = key + "=";
  for (std::size_t at = conninfo.find(needle); at != std::string::npos;
       at = conninfo.find(needle, at + 1)) {
    if (at == 0 || conninfo[at - 1] == ' ') {
      const std::size_t start = at + needle.size();
      return conninfo.substr(start, conninfo.find(' ', start) - start);
    }
  }
  return "";
}

// A postgres:// URL for database `name` on the server of `base` (the form the scripts pass).
std::string postgres_url(const std::string& base, const std::string& name) {
  return fmt::format("postgres://{}@{}:{}/{}", conninfo_value(base, "user"),
                     conninfo_value(base, "host"), conninfo_value(base, "port"), name);
}

// True when nothing listens on 127.0.0.1:`port` right now. A connection attempt tells, where a
// trial bind would not: the daemons' server binds with SO_REUSEPORT, so connections of an earlier
// run lingering in TIME_WAIT do not stop it, and another such listener would not stop it either.
bool port_free(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool refused =
      connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 &&
      errno == ECONNREFUSED;
  close(fd);
  return refused;
}

// The /health status code on 127.0.0.1:`port`, or 0 when nothing answers.
int health(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  client.set_read_timeout(5);
  auto response = client.Get("/health");
  return response ? response->status : 0;
}

std::string tail(const std::string& text) {
  return text.size() > 6000 ? text.substr(text.size() - 6000) : text;
}

// A queue on the SQS emulator in the scripts' region (the emulator keeps queues per region),
// deleted on destruction.
class RegionQueue {
public:
  static std::unique_ptr<RegionQueue> create(const http::Environment& env,
                                             const std::string& name) {
    const queue::SqsConfig config{.queue = name};
    auto target = queue::sqs::resolve_target(config, env);
    EXPECT_TRUE(target) << target.error().message;
    auto api =
        queue::sqs::Api::create(*target, config,
                                http::make_static_credentials_provider(
                                    {.access_key_id = "S3RVER", .secret_access_key = "S3RVER"}));
    EXPECT_TRUE(api) << api.error().message;
    auto created = api->call(
        "CreateQueue", {{"QueueName", name}, {"Attributes", {{"VisibilityTimeout", "5"}}}}, 10s);
    EXPECT_TRUE(created) << created.error().message;
    if (!created) {
      return nullptr;
    }
    return std::unique_ptr<RegionQueue>(
        new RegionQueue(std::move(*api), name, created->value("QueueUrl", "")));
  }
  ~RegionQueue() { (void)m_api.call("DeleteQueue", {{"QueueUrl", m_url}}, 10s); }
  RegionQueue(const RegionQueue&) = delete;
  RegionQueue& operator=(const RegionQueue&) = delete;

  [[nodiscard]] const std::string& name() const { return m_name; }
  [[nodiscard]] Result<void> send(const std::string& body) {
    RSI_TRY(m_api.call("SendMessage", {{"QueueUrl", m_url}, {"MessageBody", body}}, 10s));
    return {};
  }

private:
  RegionQueue(queue::sqs::Api api, std::string name, std::string url)
      : m_api(std::move(api)), m_name(std::move(name)), m_url(std::move(url)) {}

  queue::sqs::Api m_api;
  std::string m_name;
  std::string m_url;
};

// Runs the daemon from `dir`, as the scripts do from theirs (-config=conf.json is relative).
std::unique_ptr<test::Process> start_in(const std::filesystem::path& dir, const char* program,
                                        std::vector<std::string> args,
                                        const std::filesystem::path& log,
                                        const std::map<std::string, std::string>& env) {
  const auto previous = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  auto process = std::make_unique<test::Process>(program, std::move(args), log, env);
  std::filesystem::current_path(previous);
  return process;
}

class RunScriptsE2E : public ::testing::Test {
protected:
  void SetUp() override {
    m_pg = test::postgres_conninfo();
    m_s3 = env_value("RSI_TEST_S3_ENDPOINT");
    RSI_REQUIRE_SERVICE(m_pg && m_s3 && test::sqs_endpoint(),
                        "PostgreSQL (RSI_TEST_PG), s3rver and fauxqs");
    for (const int port : {k_metadatastorer_port, k_rsloadmanager_port}) {
      if (!port_free(port)) {
        GTEST_SKIP() << "127.0.0.1:" << port
                     << " is in use; the original's argument lists bind it, so this test "
                     << "cannot run while something else holds it";
      }
    }

    m_ingester.emplace(*m_pg);
    m_warehouse.emplace(*m_pg);
    auto warehouse = pg::Connection::connect(m_warehouse->conninfo());
    ASSERT_TRUE(warehouse) << warehouse.error().message;
    const auto shimmed = warehouse->exec_script(test::k_redshift_shims);
    ASSERT_TRUE(shimmed) << shimmed.error().message;

    m_vars.ingester_db_url = postgres_url(*m_pg, m_ingester->name());
    m_vars.blueprint_host = fmt::format("127.0.0.1:{}", m_blueprint.port());
    m_vars.bp_configs_bucket = bucket_name("bp");
    m_vars.manifest_bucket = bucket_name("manifests");
    const auto [host, port] = host_and_port(*m_s3);
    httplib::Client s3(host, port);
    for (const std::string& bucket : {m_vars.bp_configs_bucket, m_vars.manifest_bucket}) {
      const auto created = s3.Put("/" + bucket, "", "application/octet-stream");
      ASSERT_TRUE(created && created->status == 200) << "create bucket " << bucket;
    }
    m_queue = RegionQueue::create(aws_env(), test::unique_name("compat"));
    ASSERT_TRUE(m_queue);
    m_vars.processed_files_sqs_queue = m_queue->name();

    // conf.json, copied next to rsloadmanager by its script: the original's redshift object.
    std::ofstream(m_dir.path("conf.json")) << json{
        {"redshift",
         {{"url", postgres_url(*m_pg, m_warehouse->name())},
          {"physicalSchema", "logs"},
          {"viewSchema", "views"},
          {"viewColumn", "time"},
          {"viewFilter", "WHERE time > GETDATE() - INTERVAL '90 days'"},
          {"fullViewSchema", "fullviews"},
          {"fullViewReplacements",
           json::object()}}}}.dump();
  }

  static std::pair<std::string, int> host_and_port(const std::string& endpoint) {
    const std::string rest = endpoint.substr(endpoint.find("://") + 3);
    const auto colon = rest.rfind(':');
    return {rest.substr(0, colon), std::stoi(rest.substr(colon + 1))};
  }

  static std::string bucket_name(const std::string& prefix) {
    std::string name = test::unique_name(prefix);
    std::replace(name.begin(), name.end(), '_', '-');
    return name;
  }

  // What the scripts export (AWS_REGION, AWS_DEFAULT_REGION) and what the machine provides
  // (CLOUD_ENVIRONMENT, STATSD_HOSTPORT, AWS credentials), plus the emulators' endpoints.
  std::map<std::string, std::string> daemon_env() const {
    return {{"CLOUD_ENVIRONMENT", m_vars.cloud_environment},
            {"AWS_REGION", "us-west-2"},
            {"AWS_DEFAULT_REGION", "us-west-2"},
            {"AWS_ACCESS_KEY_ID", "S3RVER"},
            {"AWS_SECRET_ACCESS_KEY", "S3RVER"},
            {"AWS_ENDPOINT_URL_S3", *m_s3},
            {"AWS_ENDPOINT_URL_SQS", test::sqs_endpoint().value_or("")},
            {"STATSD_HOSTPORT", fmt::format("127.0.0.1:{}", m_statsd.port())}};
  }

  // The original arguments, then the test-only endpoint.
  std::vector<std::string> with_fake_rollbar(std::vector<std::string> args) const {
    args.push_back("--rollbar-endpoint=" + m_rollbar.endpoint());
    return args;
  }

  http::Environment aws_env() const {
    const auto daemon = daemon_env();
    return {daemon.begin(), daemon.end()};
  }

  void put_event_metadata() {
    auto store = objectstore::make_s3_object_store(
        {.bucket = m_vars.bp_configs_bucket, .environment = aws_env()});
    ASSERT_TRUE(store) << store.error().message;
    const json metadata = {{std::string(k_table),
                            {{"datastores",
                              {{"MetadataValue", "ace"},
                               {"TS", "2018-01-30T00:00:00Z"},
                               {"UserName", "compat"},
                               {"Version", 1}}}}}};
    const auto put = (*store)->put(m_vars.bp_ingest_db_configs_key, gzip(metadata.dump()).value());
    ASSERT_TRUE(put) << put.error().message;
  }

  // The Rollbar item whose message starts with `message`, once it has arrived.
  std::optional<json> rollbar_item(std::string_view message) const {
    for (const json& item : m_rollbar.items()) {
      if (item.is_object() &&
          item["data"]["body"]["message"]["body"].get<std::string>().starts_with(message)) {
        return item;
      }
    }
    return std::nullopt;
  }

  void expect_reported(std::string_view message, const std::string& daemon_log) {
    std::optional<json> item;
    ASSERT_TRUE(test::eventually(60s, [&] { return (item = rollbar_item(message)).has_value(); }))
        << "no Rollbar item \"" << message << "\"; " << m_rollbar.count() << " items arrived\n"
        << tail(daemon_log);
    EXPECT_EQ((*item)["access_token"], m_vars.rollbar_token);
    EXPECT_EQ((*item)["data"]["environment"], m_vars.cloud_environment);
    EXPECT_EQ((*item)["data"]["level"], "error");
  }

  static void stop(test::Process& daemon, const char* name) {
    daemon.signal(SIGTERM);
    const auto status = daemon.wait(15s);
    ASSERT_TRUE(status.has_value()) << name << " did not stop within 15 s of SIGTERM\n"
                                    << tail(daemon.log_text());
    EXPECT_EQ(*status, 0) << name << "\n" << tail(daemon.log_text());
  }

  bool sent_with_prefix(const std::string& prefix) const {
    const auto all = m_statsd.datagrams();
    return std::any_of(all.begin(), all.end(),
                       [&](const std::string& datagram) { return datagram.starts_with(prefix); });
  }

  std::int64_t tsv_rows() const {
    auto conn = pg::Connection::connect(m_ingester->conninfo());
    if (!conn) {
      return -1;
    }
    auto rows = conn->exec(fmt::format("SELECT count(*) FROM tsv WHERE tablename = '{}'", k_table));
    return rows && rows->size() == 1 ? rows->integer(0, 0) : -1;
  }

  test::TempDir m_dir;
  std::optional<std::string> m_pg;
  std::optional<std::string> m_s3;
  test::UdpListener m_statsd;
  test::FakeBlueprint m_blueprint;
  test::FakeRollbar m_rollbar;
  std::optional<test::PostgresDatabase> m_ingester;
  std::optional<test::PostgresDatabase> m_warehouse;
  std::unique_ptr<RegionQueue> m_queue;
  ScriptVariables m_vars;
};

TEST_F(RunScriptsE2E, TheOriginalRunScriptsStartBothBinaries) {
  // metadatastorer, before its event metadata exists: it answers, unhealthy, and reports the
  // error-level "event metadata unavailable" (the original's "Failed to refresh Blueprint
  // metadata") to Rollbar.
  auto storer =
      start_in(m_dir.path(), RSI_METADATASTORER_BIN, with_fake_rollbar(metadatastorer_args(m_vars)),
               m_dir.path("metadatastorer.log"), daemon_env());
  ASSERT_TRUE(test::eventually(30s, [&] {
    return health(k_metadatastorer_port) != 0 || !storer->running();
  })) << tail(storer->log_text());
  if (!storer->running() && storer->log_text().find("cannot serve /health") != std::string::npos) {
    GTEST_SKIP() << "127.0.0.1:" << k_metadatastorer_port << " was taken meanwhile:\n"
                 << tail(storer->log_text());
  }
  ASSERT_TRUE(storer->running()) << tail(storer->log_text());
  expect_reported("event metadata unavailable", storer->log_text());

  put_event_metadata();
  EXPECT_TRUE(test::eventually(60s, [&] { return health(k_metadatastorer_port) == 200; }))
      << tail(storer->log_text());

  // rsloadmanager, with the Redshift backend of its -config file.
  auto loader =
      start_in(m_dir.path(), RSI_RSLOADMANAGER_BIN, with_fake_rollbar(rsloadmanager_args(m_vars)),
               m_dir.path("rsloadmanager.log"), daemon_env());
  ASSERT_TRUE(test::eventually(60s, [&] {
    return health(k_rsloadmanager_port) == 200 || !loader->running();
  })) << tail(loader->log_text());
  if (!loader->running() &&
      loader->log_text().find("cannot serve the control API") != std::string::npos) {
    GTEST_SKIP() << "localhost:" << k_rsloadmanager_port << " was taken meanwhile:\n"
                 << tail(loader->log_text());
  }
  ASSERT_TRUE(loader->running()) << tail(loader->log_text());

  // A file of a table Blueprint does not know: metadatastorer records it, and rsloadmanager's
  // migrator reports the failed migration at error level (the original's "Error migrating table").
  const core::FilePointer pointer{.key_name =
                                      m_vars.bp_configs_bucket + "/spade/compat_event/0001.gz",
                                  .table = std::string(k_table),
                                  .version = 0};
  const auto sent = m_queue->send(core::encode_file_pointer(pointer));
  ASSERT_TRUE(sent) << sent.error().message;
  EXPECT_TRUE(test::eventually(60s, [&] { return tsv_rows() == 1; })) << tail(storer->log_text());
  expect_reported("migration failed", loader->log_text());

  stop(*storer, "metadatastorer");
  stop(*loader, "rsloadmanager");

  // -statsPrefix took effect, CLOUD_ENVIRONMENT is the log lines' env, and the token stayed out
  // of the logs.
  const ScriptVariables& v = m_vars;
  EXPECT_TRUE(sent_with_prefix(
      fmt::format("{}.{}-metadatastorer.{}.", v.owner, v.cloud_app, v.prefix_tail())));
  EXPECT_TRUE(
      sent_with_prefix(fmt::format("{}.{}.{}.tsv_files.", v.owner, v.cloud_app, v.prefix_tail())));
  for (const auto* daemon : {storer.get(), loader.get()}) {
    const std::string log = daemon->log_text();
    EXPECT_NE(log.find(R"("env":"compat-test")"), std::string::npos) << tail(log);
    EXPECT_EQ(log.find(v.rollbar_token), std::string::npos) << "the Rollbar token is in a log line";
  }
}

} // namespace
} // namespace rsi
