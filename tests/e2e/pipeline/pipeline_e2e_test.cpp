// The whole pipeline as processes, under faults: a producer puts a few hundred generated Spade
// files (tests/support/spade_generator.hpp: adversarial values, expected rows computed by an
// independent oracle) into s3rver and announces them on an SQS queue (fauxqs); metadatastorer
// records them in a private PostgreSQL ingester database; rsloadmanager loads them into a
// private PostgreSQL warehouse, migrating one table from version 0 to 1 while files flow, with
// schemas from a fake Blueprint. Meanwhile both daemons are killed (-9) at random moments more
// than twenty times, the ingester database restarts, S3 (behind a fault proxy) answers 503 and
// drops connections in bursts, messages arrive twice and late, malformed messages and hostile
// table names arrive, and one file is a truncated gzip: its batch goes stale, and the test acts
// as the operator of docs/runbook.md (skip the batch, announce its good files again). In the
// end every warehouse table must hold exactly the expected rows, every column compared as
// text, the ingester tables must be drained, and every rejected input must be on record with
// its reason.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <iostream>
#include <mutex>
#include <random>
#include <set>
#include <span>

#include <httplib.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/gzip.hpp"
#include "core/operation.hpp"
#include "objectstore/s3_object_store.hpp"
#include "pg/connection.hpp"
#include "queue/sqs_protocol.hpp"
#include "sqs_test_queue.hpp"
#include "support/fake_blueprint.hpp"
#include "support/fault_proxy.hpp"
#include "support/net.hpp"
#include "support/private_postgres.hpp"
#include "support/process.hpp"
#include "support/services.hpp"
#include "support/spade_generator.hpp"
#include "support/temp_dir.hpp"

namespace rsi {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::spade::ColumnKind;
using test::spade::ColumnSpec;
using test::spade::ExpectedRow;

constexpr std::uint32_t k_seed = 20'240'611;
constexpr int k_min_kills = 22;
constexpr int k_max_kills = 80;
constexpr int k_max_load_retry = 2;
const std::string k_metadata_key = "metadata/allmetadata.json.gz";
const std::string k_operator = "pipeline-e2e: OPS-1 truncated gzip";

struct TableDef {
  std::string name;
  std::vector<ColumnSpec> columns;     // Version 0.
  std::optional<ColumnSpec> v1_column; // What the migration to version 1 adds, if it has one.
  int files = 0;
  int v1_files = 0; // The last `v1_files` files are written for version 1.
};

std::vector<TableDef> table_defs() {
  const ColumnSpec id{"id", ColumnKind::bigint};
  return {
      {"pipe_events",
       {id,
        {"name", ColumnKind::varchar, 16},
        {"amount", ColumnKind::integer},
        {"ratio", ColumnKind::double_precision},
        {"ok", ColumnKind::boolean},
        {"time", ColumnKind::timestamp},
        {"day", ColumnKind::date}},
       ColumnSpec{"note", ColumnKind::varchar, 24},
       70,
       30},
      {"pipe_texts",
       {id,
        {"a", ColumnKind::varchar, 8},
        {"b", ColumnKind::varchar, 64},
        {"c", ColumnKind::varchar, 65535}},
       std::nullopt,
       60,
       0},
      {"pipe_numbers",
       {id,
        {"small", ColumnKind::integer},
        {"big", ColumnKind::bigint},
        {"x", ColumnKind::double_precision},
        {"flag", ColumnKind::boolean}},
       std::nullopt,
       60,
       0},
      {"pipe-times",
       {id,
        {"time", ColumnKind::timestamp},
        {"day", ColumnKind::date},
        {"label", ColumnKind::varchar, 12}},
       std::nullopt,
       50,
       0},
      {"pipe_mixed",
       {id,
        {"label", ColumnKind::varchar, 32},
        {"n", ColumnKind::bigint},
        {"at", ColumnKind::timestamp},
        {"flag", ColumnKind::boolean}},
       std::nullopt,
       60,
       0},
  };
}

// The table that migrates while files flow, and the one that gets the corrupt file.
constexpr std::size_t k_migrating_table = 0;
constexpr std::size_t k_corrupt_table = 4;

struct PlannedFile {
  std::size_t table = 0;
  int index = 0; // Within its table.
  int version = 0;
  std::string key;      // In the bucket.
  std::string key_name; // "bucket/key", as announced.
  std::string object;   // The bytes in the object store.
  std::vector<ExpectedRow> rows;
  bool corrupt = false;
};

struct Announcement {
  std::string body;
  int delay_seconds = 0;
};

struct BadMessage {
  std::string body;
  std::string reason_contains;
};

struct Scenario {
  std::vector<TableDef> tables;
  std::vector<PlannedFile> files;
  std::vector<Announcement> before_migration; // Up to the migrating table's last version 0 file.
  std::vector<Announcement> after_migration;
  std::vector<BadMessage> bad_messages;
  std::string corrupt_key_name;
};

std::string pointer_body(const std::string& key_name, const std::string& table, int version) {
  return json{{"KeyName", key_name}, {"TableName", table}, {"TableVersion", version}}.dump();
}

// Messages no file pointer can be read from, and what the rejection's reason must say.
std::vector<BadMessage> bad_messages(const std::string& bucket) {
  const std::string key = bucket + "/never/there.gz";
  const auto with_table = [&](const std::string& table) { return pointer_body(key, table, 0); };
  return {
      {"this is not json {", "malformed JSON"},
      {json{{"KeyName", key}, {"TableName", "pipe_texts"}}.dump(),
       "field \"TableVersion\": missing"},
      {json{{"TableName", "pipe_texts"}, {"TableVersion", 0}}.dump(), "field \"KeyName\": missing"},
      {json{{"KeyName", key}, {"TableVersion", 0}}.dump(), "field \"TableName\": missing"},
      {json{{"KeyName", key}, {"TableName", "pipe_texts"}, {"TableVersion", "0"}}.dump(),
       "field \"TableVersion\""},
      {json{{"KeyName", key}, {"TableName", "pipe_texts"}, {"TableVersion", -1}}.dump(),
       "field \"TableVersion\""},
      {with_table("a\"b; drop table x"), "invalid table name"},
      {with_table(""), "invalid table name: empty"},
      {with_table(std::string(200, 'a')), "200 bytes long"},
      {with_table("pipe\x01texts"), "control character"},
      {with_table("pipe_texts\n"), "control character"},
      {with_table("../pipe_texts"), "invalid table name"},
      {json{{"Type", "Notification"}, {"Message", 42}}.dump(), "field \"Message\""},
      {with_table("pipe_unknown"), "is not in the event metadata"},
  };
}

Scenario make_scenario(const std::string& bucket) {
  Scenario scenario;
  scenario.tables = table_defs();
  test::spade::SpadeGenerator generator(k_seed);
  std::mt19937 rng(k_seed);
  for (std::size_t table_index = 0; table_index < scenario.tables.size(); ++table_index) {
    const TableDef& table = scenario.tables[table_index];
    std::vector<ColumnSpec> v1_columns = table.columns;
    if (table.v1_column) {
      v1_columns.push_back(*table.v1_column);
    }
    for (int file = 0; file < table.files; ++file) {
      PlannedFile planned;
      planned.table = table_index;
      planned.index = file;
      planned.version = file >= table.files - table.v1_files ? 1 : 0;
      planned.key = fmt::format("spade/{}/v{}/{:03}.gz", table.name, planned.version, file);
      planned.key_name = bucket + "/" + planned.key;
      const auto& columns = planned.version == 1 ? v1_columns : table.columns;
      const auto first_id = static_cast<std::int64_t>(table_index) * 1'000'000 + file * 100;
      // Mostly a few rows; now and then an empty file; one file of pipe_texts of about 1.5 MB
      // uncompressed, more than the reader's first buffer.
      int rows = static_cast<int>(rng() % 9);
      if (table.name == "pipe_texts" && file == 7) {
        rows = 50;
      }
      auto contents = generator.make_file(columns, first_id, rows);
      planned.object = std::move(contents.gzip);
      planned.rows = std::move(contents.rows);
      // Rows of version 0 get NULL in the column version 1 adds.
      for (auto& row : planned.rows) {
        row.resize(v1_columns.size());
      }
      scenario.files.push_back(std::move(planned));
    }
  }
  // The corrupt file: a gzip cut off two thirds in, announced early (so that nothing of it is
  // still in flight when its batch is skipped) and exactly once.
  PlannedFile& corrupt =
      *std::find_if(scenario.files.begin(), scenario.files.end(),
                    [](const PlannedFile& file) { return file.table == k_corrupt_table; });
  corrupt.corrupt = true;
  corrupt.object.resize(corrupt.object.size() * 2 / 3);
  corrupt.rows.clear();
  scenario.corrupt_key_name = corrupt.key_name;
  scenario.bad_messages = bad_messages(bucket);

  // Announcements: the migrating table's version 0 files and 60% of every other table's before
  // the migration, the rest after; some through SNS, some late, some twice (at once or late).
  for (const PlannedFile& file : scenario.files) {
    const TableDef& table = scenario.tables[file.table];
    if (file.corrupt) {
      continue;
    }
    const bool early =
        file.table == k_migrating_table ? file.version == 0 : file.index < table.files * 6 / 10;
    auto& list = early ? scenario.before_migration : scenario.after_migration;
    std::string body = pointer_body(file.key_name, table.name, file.version);
    if (rng() % 10 == 0) {
      body = json{
          {"Type", "Notification"},
          {"MessageId", fmt::format("sns-{}", rng())},
          {"Message",
           body}}.dump();
    }
    list.push_back({body, rng() % 12 == 0 ? 1 + static_cast<int>(rng() % 6) : 0});
    if (const auto roll = rng() % 100; roll < 10) {
      list.push_back({body, 0});
    } else if (roll < 16) {
      list.push_back({body, 2 + static_cast<int>(rng() % 7)});
    }
  }
  for (std::size_t index = 0; index < scenario.bad_messages.size(); ++index) {
    auto& list = index % 2 == 0 ? scenario.before_migration : scenario.after_migration;
    list.push_back({scenario.bad_messages[index].body, 0});
  }
  std::shuffle(scenario.before_migration.begin(), scenario.before_migration.end(), rng);
  std::shuffle(scenario.after_migration.begin(), scenario.after_migration.end(), rng);
  const auto corrupt_at = static_cast<long>(rng() % (scenario.before_migration.size() / 5));
  scenario.before_migration.insert(
      scenario.before_migration.begin() + corrupt_at,
      {pointer_body(corrupt.key_name, scenario.tables[k_corrupt_table].name, 0), 0});
  return scenario;
}

std::optional<std::string> env_value(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr || *value == '\0' ? std::nullopt : std::optional<std::string>(value);
}

// "host:port" of an http:// endpoint.
std::pair<std::string, int> host_and_port(const std::string& endpoint) {
  const std::string rest = endpoint.substr(endpoint.find("://") + 3);
  const auto colon = rest.rfind(':');
  return {rest.substr(0, colon), std::stoi(rest.substr(colon + 1))};
}

// A value for a failure message: quotes and backslashes escaped, other bytes outside
// printable ASCII as \xNN.
std::string shown(const std::optional<std::string>& value) {
  if (!value) {
    return "NULL";
  }
  std::string out = "\"";
  for (const char ch : *value) {
    const auto byte = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += {'\\', ch};
    } else {
      out += byte >= 0x20 && byte < 0x7F ? std::string(1, ch) : fmt::format("\\x{:02x}", byte);
    }
  }
  return out + "\"";
}

std::string tail(const std::string& text) {
  return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
}

// Sends messages to the queue (SendMessageBatch with per-message DelaySeconds, which the
// queue test tool lacks). Not thread-safe: one per thread.
class Producer {
public:
  Producer(const test::SqsTestQueue& queue, const std::string& endpoint) {
    auto api = queue::sqs::Api::create(queue::sqs::Target{.endpoint = endpoint + "/",
                                                          .region = "us-east-1",
                                                          .queue_name = queue.name(),
                                                          .queue_url = queue.url()},
                                       queue::SqsConfig{}, queue.credentials());
    if (!api) {
      throw std::runtime_error(api.error().message);
    }
    m_api.emplace(std::move(*api));
    m_url = queue.url();
  }

  // Up to 10 messages; retried a few times, since a lost announcement would fail the test for
  // the wrong reason.
  [[nodiscard]] Result<void> send(std::span<const Announcement> batch) {
    json entries = json::array();
    for (std::size_t index = 0; index < batch.size(); ++index) {
      entries.push_back({{"Id", std::to_string(index)},
                         {"MessageBody", batch[index].body},
                         {"DelaySeconds", batch[index].delay_seconds}});
    }
    Error last;
    for (int attempt = 0; attempt < 5; ++attempt) {
      auto answer =
          m_api->call("SendMessageBatch", {{"QueueUrl", m_url}, {"Entries", entries}}, 10s);
      if (answer && answer->value("Failed", json::array()).empty()) {
        return {};
      }
      last = answer ? Error{ErrorKind::transient, "SendMessageBatch failed: " + answer->dump()}
                    : answer.error();
    }
    return fail(last);
  }

  // Messages visible, in flight or delayed; nullopt when the queue cannot be asked.
  std::optional<long> messages_left() {
    auto answer =
        m_api->call("GetQueueAttributes",
                    {{"QueueUrl", m_url},
                     {"AttributeNames",
                      {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                       "ApproximateNumberOfMessagesDelayed"}}},
                    5s);
    if (!answer) {
      return std::nullopt;
    }
    const auto& attributes = (*answer)["Attributes"];
    long total = 0;
    for (const char* name : {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                             "ApproximateNumberOfMessagesDelayed"}) {
      total += std::stol(attributes.value(name, "0"));
    }
    return total;
  }

private:
  std::optional<queue::sqs::Api> m_api;
  std::string m_url;
};

class PipelineE2E : public ::testing::Test {
protected:
  void SetUp() override {
    m_s3 = env_value("RSI_TEST_S3_ENDPOINT");
    RSI_REQUIRE_SERVICE(m_s3 && test::sqs_endpoint() && test::PrivatePostgres::binaries(),
                        "s3rver, fauxqs and PostgreSQL server binaries");
    m_bucket = test::unique_name("pipe");
    std::replace(m_bucket.begin(), m_bucket.end(), '_', '-');
    m_scenario = make_scenario(m_bucket);
    m_ingester = std::make_unique<test::PrivatePostgres>();
    m_warehouse = std::make_unique<test::PrivatePostgres>();
    m_proxy = std::make_unique<test::FaultProxy>(host_and_port(*m_s3).second);

    // The bucket, the files and the event metadata, straight into s3rver (not through the proxy).
    const auto [host, port] = host_and_port(*m_s3);
    httplib::Client s3(host, port);
    const auto created = s3.Put("/" + m_bucket, "", "application/octet-stream");
    ASSERT_TRUE(created && created->status == 200) << "create bucket " << m_bucket;
    auto store =
        objectstore::make_s3_object_store({.bucket = m_bucket, .environment = aws_env(*m_s3)});
    ASSERT_TRUE(store) << store.error().message;
    for (const PlannedFile& file : m_scenario.files) {
      const auto put = (*store)->put(file.key, file.object);
      ASSERT_TRUE(put) << put.error().message;
    }
    json metadata = json::object();
    for (const TableDef& table : m_scenario.tables) {
      metadata[table.name]["datastores"] = {{"MetadataValue", "ace"},
                                            {"TS", "2016-07-29T00:00:00Z"},
                                            {"UserName", "e2e"},
                                            {"Version", 1}};
    }
    const auto put = (*store)->put(k_metadata_key, gzip(metadata.dump()).value());
    ASSERT_TRUE(put) << put.error().message;

    // The schema registry: version 0 of every table, and the migrating table's version 1.
    for (const TableDef& table : m_scenario.tables) {
      std::vector<core::Operation> create;
      for (std::size_t index = 0; index < table.columns.size(); ++index) {
        const ColumnSpec& column = table.columns[index];
        create.push_back(test::add_step(column.name, test::spade::blueprint_type(column),
                                        test::spade::blueprint_options(column), 0,
                                        static_cast<int>(index)));
      }
      m_blueprint.set_migration(table.name, 0, create);
      if (table.v1_column) {
        m_blueprint.set_migration(
            table.name, 1,
            {test::add_step(table.v1_column->name, test::spade::blueprint_type(*table.v1_column),
                            test::spade::blueprint_options(*table.v1_column), 1, 0)});
      }
    }

    auto queue = test::SqsTestQueue::create(*test::sqs_endpoint(), test::unique_name("pipe"),
                                            {{"VisibilityTimeout", "5"}});
    ASSERT_TRUE(queue) << queue.error().message;
    m_queue = std::move(*queue);
  }

  static http::Environment aws_env(const std::string& s3_endpoint) {
    return {{"AWS_ENDPOINT_URL_S3", s3_endpoint},
            {"AWS_ENDPOINT_URL_SQS", test::sqs_endpoint().value_or("")},
            {"AWS_ACCESS_KEY_ID", "S3RVER"},
            {"AWS_SECRET_ACCESS_KEY", "S3RVER"},
            {"AWS_REGION", "us-east-1"}};
  }

  // The daemons reach S3 through the fault proxy.
  std::map<std::string, std::string> daemon_env() {
    const auto env = aws_env(m_proxy->url());
    std::map<std::string, std::string> out(env.begin(), env.end());
    out["STATSD_HOSTPORT"] = fmt::format("127.0.0.1:{}", m_statsd.port());
    return out;
  }

  void start_storer() {
    m_storer_port = test::free_tcp_port();
    m_storer_log = m_dir.path(fmt::format("metadatastorer-{:02}.log", m_storer_starts++));
    m_storer = std::make_unique<test::Process>(
        RSI_METADATASTORER_BIN,
        std::vector<std::string>{
            "-databaseURL",          m_ingester->conninfo(),
            "-sqsQueueName",         m_queue->name(),
            "-bpConfigsBucket",      m_bucket,
            "-bpMetadataConfigsKey", k_metadata_key,
            "-bpMetadataRetryDelay", "100ms",
            "-listenerCount",        "2",
            "-sqsPollWait",          "2s",
            "--visibility-timeout",  "5s",
            "--health-addr",         fmt::format("127.0.0.1:{}", m_storer_port),
            "--log-level",           "warn"},
        m_storer_log, daemon_env());
  }

  void start_loader() {
    m_loader_port = test::free_tcp_port();
    m_loader_log = m_dir.path(fmt::format("rsloadmanager-{:02}.log", m_loader_starts++));
    m_loader = std::make_unique<test::Process>(
        RSI_RSLOADMANAGER_BIN,
        std::vector<std::string>{"-databaseURL",
                                 m_ingester->conninfo(),
                                 "--warehouse-url",
                                 m_warehouse->conninfo(),
                                 "-blueprint_host",
                                 fmt::format("127.0.0.1:{}", m_blueprint.port()),
                                 "-n_workers",
                                 "3",
                                 "-loadCountTrigger",
                                 "5",
                                 "-no_work_delay",
                                 "1s",
                                 "-migratorPollPeriod",
                                 "1s",
                                 "-waitProcessorPeriod",
                                 "1s",
                                 "-offpeakDurationHours",
                                 "24",
                                 "-failed_load_check_interval",
                                 "1s",
                                 "-error_retry_delay",
                                 "1s",
                                 "-max_load_retry",
                                 std::to_string(k_max_load_retry),
                                 "-reporterPollPeriod",
                                 "1s",
                                 "--batch-lease",
                                 "3s",
                                 "--control-addr",
                                 fmt::format("127.0.0.1:{}", m_loader_port),
                                 "--log-level",
                                 "warn"},
        m_loader_log, daemon_env());
  }

  std::string logs() {
    return fmt::format("--- {}\n{}\n--- {}\n{}", m_storer_log.filename().string(),
                       m_storer ? tail(m_storer->log_text()) : "", m_loader_log.filename().string(),
                       m_loader ? tail(m_loader->log_text()) : "");
  }

  using Table = std::vector<std::vector<std::optional<std::string>>>;

  // The first `columns` columns of the rows of `sql`, as text; nullopt when the query fails
  // (the database may be restarting).
  static std::optional<Table> query(const std::string& conninfo, const std::string& sql,
                                    int columns, const std::vector<pg::Param>& params = {}) {
    auto conn = pg::Connection::connect(conninfo);
    if (!conn) {
      return std::nullopt;
    }
    // The text forms the oracle computes (also PostgreSQL 15's defaults).
    for (const char* setting : {"SET extra_float_digits = 1", "SET DateStyle = 'ISO, MDY'"}) {
      if (!conn->exec(setting)) {
        return std::nullopt;
      }
    }
    auto rows = conn->exec(sql, params);
    if (!rows) {
      return std::nullopt;
    }
    Table out;
    for (int row = 0; row < rows->size(); ++row) {
      auto& values = out.emplace_back();
      for (int column = 0; column < columns; ++column) {
        values.push_back(rows->is_null(row, column) ? std::nullopt
                                                    : std::optional(rows->text(row, column)));
      }
    }
    return out;
  }

  static std::int64_t scalar(const std::string& conninfo, const std::string& sql) {
    auto conn = pg::Connection::connect(conninfo);
    if (!conn) {
      return -1;
    }
    auto rows = conn->exec(sql);
    return rows && rows->size() == 1 && !rows->is_null(0, 0) ? rows->integer(0, 0) : -1;
  }

  void note_error(std::string error) {
    const std::lock_guard lock(m_errors_mutex);
    m_errors.push_back(std::move(error));
  }

  // Producer ----------------------------------------------------------------------------------

  // Sends `announcements` in batches of 1 to 10, a few batches a second, as a producer does.
  void send_paced(Producer& producer, std::span<const Announcement> announcements,
                  std::mt19937& rng, std::stop_token stop) {
    std::size_t sent = 0;
    while (sent < announcements.size() && !stop.stop_requested()) {
      const std::size_t count = std::min<std::size_t>(1 + rng() % 10, announcements.size() - sent);
      if (auto done = producer.send(announcements.subspan(sent, count)); !done) {
        note_error("producer: " + done.error().message);
      }
      sent += count;
      std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 400)); // Traffic shape.
    }
  }

  void produce(std::stop_token stop) {
    Producer producer(*m_queue, *test::sqs_endpoint());
    std::mt19937 rng(k_seed + 1);
    send_paced(producer, m_scenario.before_migration, rng, stop);
    // The producer moves the table to version 1 once its version 0 files are announced; wait
    // until metadatastorer has them all (recorded, or loaded already), so that no file of the
    // old version arrives after the migration (it would wait for an operator, docs/runbook.md).
    const TableDef& migrating = m_scenario.tables[k_migrating_table];
    const std::string recorded_sql =
        fmt::format("SELECT count(*) FROM (SELECT keyname FROM tsv WHERE tablename = '{0}' AND "
                    "tableversion = 0 "
                    "UNION SELECT keyname FROM loaded_key WHERE tablename = '{0}') AS known",
                    migrating.name);
    const int v0_files = migrating.files - migrating.v1_files;
    if (!test::eventually(150s, [&] {
          return stop.stop_requested() || scalar(m_ingester->conninfo(), recorded_sql) == v0_files;
        })) {
      note_error(fmt::format(
          "producer: metadatastorer did not record the {} version 0 files of {} in time", v0_files,
          migrating.name));
    }
    send_paced(producer, m_scenario.after_migration, rng, stop);
    m_produced = true;
  }

  // Faults ------------------------------------------------------------------------------------

  // Half of the new connections to S3 fail while a burst lasts, in every way the proxy can.
  static test::FaultPolicy s3_burst(std::uint32_t seed) {
    return [rng = std::mt19937(seed)]() mutable {
      const auto roll = rng() % 100;
      return roll < 25   ? test::ConnectionFault::service_unavailable
             : roll < 40 ? test::ConnectionFault::drop
             : roll < 55 ? test::ConnectionFault::cut_response
                         : test::ConnectionFault::none;
    };
  }

  // Kills `daemon` (-9) and starts it again; a daemon found dead already crashed by itself.
  void kill_and_restart(std::unique_ptr<test::Process>& daemon, const char* name,
                        void (PipelineE2E::*start)()) {
    if (!daemon->running()) {
      ADD_FAILURE() << name << " exited by itself with status " << daemon->wait(0ms).value_or(-1)
                    << "\n"
                    << tail(daemon->log_text());
    }
    daemon->kill_hard();
    EXPECT_EQ(daemon->wait(10s), 128 + SIGKILL) << name << " survived kill -9";
    (this->*start)();
  }

  // Kills a daemon at random moments until the producer is done (and at least k_min_kills
  // times), with two S3 fault bursts and a restart of the ingester database in between.
  void run_faults() {
    std::mt19937 rng(k_seed + 2);
    while (m_kills < k_max_kills && (m_kills < k_min_kills || !m_produced)) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(300 + rng() % 1700)); // A random moment.
      if (m_kills == 4 || m_kills == 15) {
        m_proxy->set_policy(s3_burst(rng()));
      } else if (m_kills == 8 || m_kills == 19) {
        m_proxy->set_policy({});
      } else if (m_kills == 11) {
        m_ingester->stop();
        std::this_thread::sleep_for(2s); // The outage.
        m_ingester->start();
      }
      if (rng() % 2 == 0) {
        kill_and_restart(m_storer, "metadatastorer", &PipelineE2E::start_storer);
      } else {
        kill_and_restart(m_loader, "rsloadmanager", &PipelineE2E::start_loader);
      }
      ++m_kills;
    }
    m_proxy->set_policy({});
  }

  // Convergence: the test as the operator -----------------------------------------------------

  struct OperatorState {
    std::chrono::steady_clock::time_point last_look{};
    bool skipped = false;
    std::string skip_response;
    std::size_t reannounced = 0;
    std::string unexpected;  // Set when something happened that no operator step can fix.
    std::string last_status; // GET /control/status, for the log of a test that fails.
  };

  void force_load_waiting_tables() {
    const auto waiting = query(m_ingester->conninfo(),
                               "SELECT DISTINCT tablename FROM tsv WHERE manifest_uuid IS NULL", 1);
    if (!waiting) {
      return;
    }
    httplib::Client control("127.0.0.1", m_loader_port);
    control.set_connection_timeout(1);
    for (const auto& row : *waiting) {
      control.Post("/control/force_load",
                   json{{"Table", *row[0]}, {"Requester", "pipeline-e2e"}}.dump(),
                   "application/json");
    }
  }

  // docs/runbook.md, "A stale batch": skip it, then announce its good files again.
  void handle_stale_batches(OperatorState& state, Producer& producer) {
    httplib::Client control("127.0.0.1", m_loader_port);
    control.set_connection_timeout(1);
    const auto status = control.Get("/control/status");
    state.last_status = status ? fmt::format("{} {}", status->status, status->body.substr(0, 2000))
                               : "no answer: " + httplib::to_string(status.error());
    if (!status || status->status != 200) {
      return;
    }
    const json body = json::parse(status->body, nullptr, false);
    if (!body.is_object() || !body.contains("Tables")) {
      return;
    }
    for (const auto& table : body["Tables"]) {
      for (const auto& batch : table["Stale"]) {
        const std::string manifest = batch.value("Manifest", "");
        if (state.skipped) {
          state.unexpected = "a second batch went stale: " + batch.dump();
          return;
        }
        const auto skipped =
            control.Post("/control/skip/" + manifest, json{{"Requester", k_operator}}.dump(),
                         "application/json");
        if (!skipped || skipped->status != 200) {
          state.unexpected =
              "skip " + manifest + " failed: " + (skipped ? skipped->body : "no answer");
          return;
        }
        const auto keys = query(
            m_ingester->conninfo(),
            "SELECT k FROM skipped_batch, unnest(keynames) AS k WHERE manifest_uuid = $1::uuid", 1,
            {manifest});
        const auto has_corrupt =
            keys && std::any_of(keys->begin(), keys->end(), [&](const auto& row) {
              return row[0] == m_scenario.corrupt_key_name;
            });
        if (!has_corrupt) {
          state.unexpected = "a batch without the corrupt file went stale: " + batch.dump();
          return;
        }
        // The runbook's query for the messages.
        const auto lines =
            query(m_ingester->conninfo(),
                  "SELECT json_build_object('KeyName', k, 'TableName', tablename, 'TableVersion', "
                  "tableversion)::text FROM skipped_batch, unnest(keynames) AS k "
                  "WHERE manifest_uuid = $1::uuid AND k <> $2",
                  1, {manifest, m_scenario.corrupt_key_name});
        if (!lines) {
          state.unexpected = "cannot read skipped_batch";
          return;
        }
        std::vector<Announcement> announcements;
        for (const auto& row : *lines) {
          announcements.push_back({*row[0], 0});
        }
        for (std::size_t start = 0; start < announcements.size(); start += 10) {
          const auto chunk =
              std::span(announcements)
                  .subspan(start, std::min<std::size_t>(10, announcements.size() - start));
          if (auto sent = producer.send(chunk); !sent) {
            state.unexpected = "re-announce: " + sent.error().message;
            return;
          }
        }
        state.skipped = true;
        state.skip_response = skipped->body;
        state.reannounced = announcements.size();
      }
    }
  }

  std::map<std::string, std::int64_t> expected_row_counts() const {
    std::map<std::string, std::int64_t> counts;
    for (const PlannedFile& file : m_scenario.files) {
      counts[m_scenario.tables[file.table].name] += static_cast<std::int64_t>(file.rows.size());
    }
    return counts;
  }

  std::set<std::string> rejected_bodies() {
    std::set<std::string> bodies;
    if (const auto rows = query(m_ingester->conninfo(),
                                "SELECT convert_from(body, 'UTF8') FROM rejected_message", 1)) {
      for (const auto& row : *rows) {
        bodies.insert(row[0].value_or(""));
      }
    }
    return bodies;
  }

  // What is still missing, for the log of a test that did not converge.
  std::string progress(Producer& producer) {
    std::string text = fmt::format("tsv {}, manifest {}, queue {}, rejected {} of {} bodies;",
                                   scalar(m_ingester->conninfo(), "SELECT count(*) FROM tsv"),
                                   scalar(m_ingester->conninfo(), "SELECT count(*) FROM manifest"),
                                   producer.messages_left().value_or(-1), rejected_bodies().size(),
                                   m_scenario.bad_messages.size());
    for (const auto& [table, count] : expected_row_counts()) {
      text += fmt::format(
          " {} {}/{}", table,
          scalar(m_warehouse->conninfo(), fmt::format("SELECT count(*) FROM logs.\"{}\"", table)),
          count);
    }
    const auto batches =
        query(m_ingester->conninfo(),
              "SELECT uuid::text, tablename, retry_count::text, retry_ts::text, lease_until::text, "
              "released::text, last_error FROM manifest",
              7);
    for (const auto& batch : batches.value_or(Table{})) {
      text += "\nbatch";
      for (const auto& value : batch) {
        text += " " + shown(value);
      }
    }
    return text;
  }

  bool drained(Producer& producer) {
    if (scalar(m_ingester->conninfo(), "SELECT count(*) FROM tsv") != 0 ||
        scalar(m_ingester->conninfo(), "SELECT count(*) FROM manifest") != 0 ||
        producer.messages_left() != 0) {
      return false;
    }
    for (const auto& [table, count] : expected_row_counts()) {
      if (scalar(m_warehouse->conninfo(), fmt::format("SELECT count(*) FROM logs.\"{}\"", table)) !=
          count) {
        return false;
      }
    }
    const auto rejected = rejected_bodies();
    return std::all_of(m_scenario.bad_messages.begin(), m_scenario.bad_messages.end(),
                       [&](const BadMessage& bad) { return rejected.contains(bad.body); });
  }

  // One look, twice a second: force loads for waiting tables, the stale batch, the end state.
  bool operator_step(OperatorState& state, Producer& producer) {
    const auto now = std::chrono::steady_clock::now();
    if (now - state.last_look < 500ms) {
      return false;
    }
    state.last_look = now;
    if (!m_storer->running() || !m_loader->running()) {
      state.unexpected = "a daemon exited by itself";
      return true;
    }
    force_load_waiting_tables();
    handle_stale_batches(state, producer);
    return !state.unexpected.empty() || (state.skipped && drained(producer));
  }

  // Stops a daemon with SIGTERM once it is past start-up (`ready`); it must exit 0.
  template <class Ready>
  void stop_gracefully(test::Process& daemon, const char* name, Ready ready) {
    ASSERT_TRUE(test::eventually(60s, [&] { return ready() || !daemon.running(); }))
        << name << "\n"
        << tail(daemon.log_text());
    daemon.signal(SIGTERM);
    const auto status = daemon.wait(30s);
    ASSERT_TRUE(status.has_value()) << name << " did not stop\n" << tail(daemon.log_text());
    EXPECT_EQ(*status, 0) << name << "\n" << tail(daemon.log_text());
  }

  int http_status(int port, const std::string& path) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(1);
    client.set_read_timeout(5);
    const auto response = client.Get(path);
    return response ? response->status : 0;
  }

  bool sent_datagram(const std::string& prefix) {
    const auto all = m_statsd.datagrams();
    return std::any_of(all.begin(), all.end(),
                       [&](const std::string& datagram) { return datagram.starts_with(prefix); });
  }

  // End state ---------------------------------------------------------------------------------

  void expect_table_contents(const TableDef& table) {
    std::vector<std::string> names;
    for (const auto& column : table.columns) {
      names.push_back(column.name);
    }
    if (table.v1_column) {
      names.push_back(table.v1_column->name);
    }
    const auto actual_names =
        query(m_warehouse->conninfo(),
              "SELECT column_name FROM information_schema.columns WHERE table_schema = 'logs' "
              "AND table_name = $1 ORDER BY ordinal_position",
              1, {table.name});
    ASSERT_TRUE(actual_names) << table.name;
    std::vector<std::string> flat_names;
    for (const auto& row : *actual_names) {
      flat_names.push_back(row[0].value_or(""));
    }
    ASSERT_EQ(flat_names, names) << "columns of " << table.name;

    // Aliased, so that ORDER BY "id" sorts by the bigint, not by its text.
    std::vector<std::string> selected;
    for (std::size_t index = 0; index < names.size(); ++index) {
      selected.push_back(fmt::format("\"{}\"::text AS c{}", names[index], index));
    }
    const auto actual = query(m_warehouse->conninfo(),
                              fmt::format("SELECT {} FROM logs.\"{}\" ORDER BY \"id\"",
                                          fmt::join(selected, ", "), table.name),
                              static_cast<int>(names.size()));
    ASSERT_TRUE(actual) << table.name;
    Table expected;
    for (const PlannedFile& file : m_scenario.files) {
      if (m_scenario.tables[file.table].name == table.name) {
        expected.insert(expected.end(), file.rows.begin(), file.rows.end());
      }
    }
    std::sort(expected.begin(), expected.end(), [](const auto& left, const auto& right) {
      return std::stoll(*left[0]) < std::stoll(*right[0]);
    });
    EXPECT_EQ(actual->size(), expected.size()) << "rows of " << table.name;
    int differences = 0;
    for (std::size_t row = 0; row < std::min(actual->size(), expected.size()) && differences < 10;
         ++row) {
      for (std::size_t column = 0; column < names.size(); ++column) {
        if ((*actual)[row][column] != expected[row][column]) {
          ADD_FAILURE() << table.name << " row id " << shown(expected[row][0]) << " column \""
                        << names[column] << "\": expected " << shown(expected[row][column])
                        << ", the warehouse has " << shown((*actual)[row][column])
                        << " (row id there " << shown((*actual)[row][0]) << ")";
          ++differences;
        }
      }
    }
  }

  void expect_end_state(const OperatorState& state) {
    for (const TableDef& table : m_scenario.tables) {
      expect_table_contents(table);
    }

    // Every good file loaded exactly once: the ledger and the loaded-key history agree.
    std::set<std::string> good_keys;
    std::int64_t rows = 0;
    for (const PlannedFile& file : m_scenario.files) {
      if (!file.corrupt) {
        good_keys.insert(file.key_name);
        rows += static_cast<std::int64_t>(file.rows.size());
      }
    }
    EXPECT_EQ(scalar(m_warehouse->conninfo(), "SELECT sum(file_count) FROM infra.load_manifest"),
              static_cast<std::int64_t>(good_keys.size()));
    EXPECT_EQ(scalar(m_warehouse->conninfo(), "SELECT sum(row_count) FROM infra.load_manifest"),
              rows);
    std::set<std::string> loaded_keys;
    for (const auto& row :
         query(m_ingester->conninfo(), "SELECT keyname FROM loaded_key", 1).value_or(Table{})) {
      loaded_keys.insert(row[0].value_or(""));
    }
    EXPECT_EQ(loaded_keys, good_keys);

    // Drained, and the migration happened.
    EXPECT_EQ(scalar(m_ingester->conninfo(), "SELECT count(*) FROM tsv"), 0);
    EXPECT_EQ(scalar(m_ingester->conninfo(), "SELECT count(*) FROM manifest"), 0);
    for (std::size_t index = 0; index < m_scenario.tables.size(); ++index) {
      const TableDef& table = m_scenario.tables[index];
      EXPECT_EQ(scalar(m_warehouse->conninfo(),
                       fmt::format("SELECT max(version) FROM infra.table_version WHERE name = '{}'",
                                   table.name)),
                table.v1_column ? 1 : 0)
          << table.name;
    }

    // Every bad message on record with its reason, and nothing else rejected.
    const auto rejected =
        query(m_ingester->conninfo(),
              "SELECT convert_from(body, 'UTF8'), reason FROM rejected_message ORDER BY id", 2);
    ASSERT_TRUE(rejected);
    for (const BadMessage& bad : m_scenario.bad_messages) {
      int found = 0;
      for (const auto& row : *rejected) {
        if (row[0] == bad.body) {
          ++found;
          EXPECT_NE(row[1].value_or("").find(bad.reason_contains), std::string::npos)
              << "reason " << shown(row[1]) << " for " << shown(bad.body);
        }
      }
      EXPECT_GE(found, 1) << "not rejected: " << shown(bad.body);
    }
    for (const auto& row : *rejected) {
      EXPECT_TRUE(std::any_of(m_scenario.bad_messages.begin(), m_scenario.bad_messages.end(),
                              [&](const BadMessage& bad) { return row[0] == bad.body; }))
          << "rejected, but good: " << shown(row[0]) << " because " << shown(row[1]);
    }

    // The corrupt file's batch, skipped by the operator, on record.
    const auto skipped =
        query(m_ingester->conninfo(),
              "SELECT tablename, tableversion::text, retry_count::text, last_error, skipped_by, "
              "$1 = ANY(keynames) FROM skipped_batch",
              6, {m_scenario.corrupt_key_name});
    ASSERT_TRUE(skipped);
    ASSERT_EQ(skipped->size(), 1U);
    const auto& batch = skipped->front();
    EXPECT_EQ(batch[0], m_scenario.tables[k_corrupt_table].name);
    EXPECT_EQ(batch[1], "0");
    EXPECT_EQ(batch[2], std::to_string(k_max_load_retry));
    EXPECT_NE(batch[3].value_or("").find(m_scenario.corrupt_key_name), std::string::npos)
        << shown(batch[3]);
    EXPECT_NE(batch[3].value_or("").find("gzip"), std::string::npos) << shown(batch[3]);
    EXPECT_EQ(batch[4], k_operator);
    EXPECT_EQ(batch[5], "t");
    EXPECT_EQ(json::parse(state.skip_response).value("SkippedBy", ""), k_operator)
        << state.skip_response;

    // Counted where operators look.
    for (const char* prefix :
         {"ingester.manifest_load.failures", "metadatastorer.messages.rejected.malformed:",
          "metadatastorer.messages.rejected.unknown_table:"}) {
      EXPECT_TRUE(sent_datagram(prefix)) << prefix;
    }
  }

  // Members are destroyed in reverse: the producer thread stops first, then the daemons die
  // (SIGKILL) before the queue, the proxy and the databases go.
  std::string m_bucket;
  std::optional<std::string> m_s3;
  Scenario m_scenario;
  test::TempDir m_dir;
  test::UdpListener m_statsd;
  test::FakeBlueprint m_blueprint;
  std::unique_ptr<test::PrivatePostgres> m_ingester;
  std::unique_ptr<test::PrivatePostgres> m_warehouse;
  std::unique_ptr<test::FaultProxy> m_proxy;
  std::unique_ptr<test::SqsTestQueue> m_queue;
  std::unique_ptr<test::Process> m_storer;
  std::unique_ptr<test::Process> m_loader;
  std::filesystem::path m_storer_log;
  std::filesystem::path m_loader_log;
  int m_storer_port = 0;
  int m_loader_port = 0;
  int m_storer_starts = 0;
  int m_loader_starts = 0;
  int m_kills = 0;
  std::atomic<bool> m_produced{false};
  std::mutex m_errors_mutex;
  std::vector<std::string> m_errors;
  std::jthread m_producer_thread;
};

TEST_F(PipelineE2E, LoadsExactlyTheExpectedRowsThroughKillsOutagesAndBadInput) {
  const auto started = std::chrono::steady_clock::now();
  start_storer();
  start_loader();
  m_producer_thread = std::jthread([this](std::stop_token stop) { produce(stop); });

  run_faults();
  m_producer_thread.join();
  const auto faults_done = std::chrono::steady_clock::now();
  Producer producer(*m_queue, *test::sqs_endpoint());
  OperatorState state;
  const bool settled = test::eventually(150s, [&] { return operator_step(state, producer); });
  const auto settled_at = std::chrono::steady_clock::now();

  for (const auto& error : m_errors) { // The producer's.
    ADD_FAILURE() << error;
  }
  ASSERT_TRUE(settled && state.unexpected.empty())
      << (state.unexpected.empty() ? "did not converge" : state.unexpected) << " after "
      << std::chrono::duration_cast<std::chrono::seconds>(faults_done - started).count()
      << " s of faults\n"
      << progress(producer) << "\nlast status: " << state.last_status << "\n"
      << logs();
  stop_gracefully(*m_storer, "metadatastorer",
                  [&] { return http_status(m_storer_port, "/health") != 0; });
  stop_gracefully(*m_loader, "rsloadmanager",
                  [&] { return http_status(m_loader_port, "/health") == 200; });
  expect_end_state(state);
  // The faults happened: kills (counted by the loop), and each kind of S3 failure.
  for (const auto fault : {test::ConnectionFault::service_unavailable, test::ConnectionFault::drop,
                           test::ConnectionFault::cut_response}) {
    EXPECT_GT(m_proxy->connections(fault), 0U)
        << "S3 fault " << static_cast<int>(fault) << " never happened";
  }
  const auto seconds = [](auto from, auto to) {
    return std::chrono::duration_cast<std::chrono::duration<double>>(to - from).count();
  };
  RecordProperty("kills", m_kills);
  std::cout << fmt::format(
      "pipeline: {} kills ({} metadatastorer, {} rsloadmanager starts), {} S3 faults, {} files "
      "announced again after the skip; faults {:.1f} s, convergence {:.1f} s, total {:.1f} s\n",
      m_kills, m_storer_starts, m_loader_starts,
      m_proxy->connections(test::ConnectionFault::service_unavailable) +
          m_proxy->connections(test::ConnectionFault::drop) +
          m_proxy->connections(test::ConnectionFault::cut_response),
      state.reannounced, seconds(started, faults_done), seconds(faults_done, settled_at),
      seconds(started, std::chrono::steady_clock::now()));
}

} // namespace
} // namespace rsi
