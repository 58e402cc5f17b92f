// The control API over HTTP: a started http::Server on 127.0.0.1 (port 0) with the handlers of
// control/control_api.hpp over a real SQLite ingester database and fake warehouse/migrator
// hooks. Batches are set up through the store as the loaders would (record, claim, fail, claim
// the retry) so /control/status, retry and skip see real rows.
#include "control/control_api.hpp"

#include <mutex>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "control/status_page.hpp"
#include "http/server.hpp"
#include "ingestdb/sqlite_ingest_db.hpp"
#include "integration/control/http_expect.hpp"
#include "sqlite/database.hpp"
#include "support/fake_clock.hpp"
#include "support/forwarding_ingest_db.hpp"
#include "support/raw_http.hpp"
#include "support/temp_dir.hpp"
#include "telemetry/metrics.hpp"

namespace rsi::control {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr int k_max_load_retry = 2;
constexpr auto k_retry_delay = 15min;
const ingestdb::ClaimPolicy k_claim_everything{
    .count_trigger = 0, .age_trigger = 1s, .lease = 2min};

// A real store whose calls can be made to fail (by the name of the call).
class FaultyStore final : public test::ForwardingIngestDb {
public:
  using ForwardingIngestDb::ForwardingIngestDb;

  void fail_call(const std::string& call, Error error) {
    const std::lock_guard lock(m_mutex);
    m_faults[call] = std::move(error);
  }

  // IngestDb
  Result<void> ping() override {
    RSI_TRY(fault("ping"));
    return m_real.ping();
  }
  Result<bool> request_force_load(const std::string& table, const std::string& requester,
                                  TimePoint now) override {
    RSI_TRY(fault("request_force_load"));
    return m_real.request_force_load(table, requester, now);
  }
  Result<std::map<std::string, TimePoint>> last_loads() override {
    RSI_TRY(fault("last_loads"));
    return m_real.last_loads();
  }
  Result<std::vector<ingestdb::PendingStat>> pending_stats(const ingestdb::VersionMap& versions,
                                                           int max_retries) override {
    RSI_TRY(fault("pending_stats"));
    return m_real.pending_stats(versions, max_retries);
  }
  Result<std::optional<ingestdb::Batch>> find_batch(const std::string& manifest) override {
    RSI_TRY(fault("find_batch"));
    return m_real.find_batch(manifest);
  }

private:
  Result<void> fault(const std::string& call) const {
    const std::lock_guard lock(m_mutex);
    if (const auto found = m_faults.find(call); found != m_faults.end()) {
      return std::unexpected(found->second);
    }
    return {};
  }

  mutable std::mutex m_mutex;
  std::map<std::string, Error> m_faults;
};

// What the warehouse and the migrator would answer, and what the API asked of them.
struct FakeHooks {
  std::mutex mutex;
  ingestdb::VersionMap versions;
  std::optional<Error> ping_error;
  std::optional<Error> increment_error;
  std::vector<std::string> incremented;
  int wakes = 0;
  std::optional<Result<queue::QueueDepth>> queue_depth; // nullopt: no queue visible.
  // The schema registry's tables; nullopt: it knows every table.
  std::optional<std::set<std::string, std::less<>>> registry_tables;
  std::optional<Error> registry_error; // What a registry ping answers.
};

class ControlApiTest : public ::testing::Test {
protected:
  void SetUp() override { start(std::nullopt); }

  void start(std::optional<std::string> token) {
    auto real = ingestdb::make_sqlite_ingest_db({.path = m_dir.path("ingester.db")});
    ASSERT_TRUE(real) << real.error().message;
    m_real = std::move(*real);
    m_store = std::make_unique<FaultyStore>(*m_real);
    m_server = std::make_unique<http::Server>(http::ServerOptions{.bearer_token = token});
    FakeHooks& hooks = m_hooks;
    install(*m_server, {.store = m_store.get(),
                        .metrics = &m_metrics,
                        .clock = &m_clock,
                        .increment_version = [&hooks](std::string_view table) -> Result<int> {
                          const std::lock_guard lock(hooks.mutex);
                          if (hooks.increment_error) {
                            return std::unexpected(*hooks.increment_error);
                          }
                          hooks.incremented.emplace_back(table);
                          return static_cast<int>(hooks.incremented.size());
                        },
                        .versions =
                            [&hooks] {
                              const std::lock_guard lock(hooks.mutex);
                              return hooks.versions;
                            },
                        .warehouse_ping = [&hooks]() -> Result<void> {
                          const std::lock_guard lock(hooks.mutex);
                          if (hooks.ping_error) {
                            return std::unexpected(*hooks.ping_error);
                          }
                          return {};
                        },
                        .wake_loaders =
                            [&hooks] {
                              const std::lock_guard lock(hooks.mutex);
                              ++hooks.wakes;
                            },
                        .registry_knows = [&hooks](std::string_view table) -> Result<bool> {
                          const std::lock_guard lock(hooks.mutex);
                          return !hooks.registry_tables || hooks.registry_tables->contains(table);
                        },
                        .registry_ping = [&hooks]() -> Result<void> {
                          const std::lock_guard lock(hooks.mutex);
                          if (hooks.registry_error) {
                            return std::unexpected(*hooks.registry_error);
                          }
                          return {};
                        },
                        .queue_depth = [&hooks]() -> Result<queue::QueueDepth> {
                          const std::lock_guard lock(hooks.mutex);
                          if (!hooks.queue_depth) {
                            return rsi::fail(ErrorKind::permanent, "the test gave no queue");
                          }
                          return *hooks.queue_depth;
                        },
                        .max_load_retry = k_max_load_retry});
    ASSERT_TRUE(m_server->start("127.0.0.1", 0));
    m_client = std::make_unique<httplib::Client>("127.0.0.1", m_server->port());
    m_client->set_connection_timeout(5s);
    m_client->set_read_timeout(10s);
  }

  httplib::Result get(const std::string& path, const httplib::Headers& headers = {}) {
    return m_client->Get(path.c_str(), headers);
  }
  httplib::Result post(const std::string& path, const std::string& body = "",
                       const httplib::Headers& headers = {}) {
    return m_client->Post(path.c_str(), headers, body, "application/json");
  }

  int wakes() {
    const std::lock_guard lock(m_hooks.mutex);
    return m_hooks.wakes;
  }
  void set_versions(ingestdb::VersionMap versions) {
    const std::lock_guard lock(m_hooks.mutex);
    m_hooks.versions = std::move(versions);
  }

  void record(const std::string& table, int version, int files) {
    for (int file = 0; file < files; ++file) {
      const std::string key = fmt::format("spade/{}/v{}/file{}.gz", table, version, m_next_file++);
      auto recorded =
          m_real->record_file({.key_name = key, .table = table, .version = version}, m_clock.now());
      ASSERT_TRUE(recorded) << recorded.error().message;
    }
  }

  // Claims the next eligible batch (the caller arranges that it is the intended table's).
  ingestdb::Batch claim(const std::string& table) {
    auto claimed = m_real->claim_batch(versions(), k_claim_everything, m_clock.now());
    EXPECT_TRUE(claimed) << claimed.error().message;
    EXPECT_TRUE(claimed && claimed->batch) << "nothing to claim for " << table;
    if (!claimed || !claimed->batch) {
      return {};
    }
    EXPECT_EQ(claimed->batch->table, table);
    return *claimed->batch;
  }

  void fail(const ingestdb::Batch& batch, const std::string& error) {
    auto failed = m_real->fail_batch(batch.manifest, error, m_clock.now() + k_retry_delay);
    ASSERT_TRUE(failed && *failed);
  }

  // Records `files` files of `table`, claims them and sets the first `bad` aside as the loader
  // does when their data cannot load; the others form the new in-flight batch.
  std::vector<std::string> quarantine(const std::string& table, int files, int bad) {
    record(table, 0, files);
    const ingestdb::Batch batch = claim(table);
    ingestdb::BatchSplit split;
    for (int index = 0; index < files; ++index) {
      const std::string& key = batch.keys.at(static_cast<std::size_t>(index));
      if (index < bad) {
        split.quarantine.push_back({.key = key,
                                    .kind = "bad_value",
                                    .error = fmt::format("{} line 7 column 2: invalid bigint", key),
                                    .line = 7,
                                    .column = 2});
      } else {
        split.load_now.push_back(key);
      }
    }
    auto next = m_real->split_batch(batch.manifest, split, m_clock.now(), m_clock.now() + 2min);
    EXPECT_TRUE(next) << next.error().message;
    std::vector<std::string> keys;
    for (const auto& file : split.quarantine) {
      keys.push_back(file.key);
    }
    return keys;
  }

  // Fails a fresh batch of `table` and every retry of it, until it is stale.
  ingestdb::Batch stale_batch(const std::string& table, int files, const std::string& error) {
    record(table, 0, files);
    const ingestdb::Batch batch = claim(table);
    fail(batch, error);
    for (int retry = 1; retry <= k_max_load_retry; ++retry) {
      m_clock.advance(k_retry_delay + 1s);
      auto retried = m_real->claim_retryable_batch(k_max_load_retry, 2min, m_clock.now());
      EXPECT_TRUE(retried && *retried && (*retried)->manifest == batch.manifest);
      EXPECT_EQ((*retried)->retry_count, retry);
      fail(batch, error);
    }
    return batch;
  }

  ingestdb::VersionMap versions() {
    const std::lock_guard lock(m_hooks.mutex);
    return m_hooks.versions;
  }

  test::TempDir m_dir;
  test::FakeClock m_clock;
  telemetry::Metrics m_metrics{"ingester"};
  FakeHooks m_hooks;
  std::unique_ptr<ingestdb::IngestDb> m_real;
  std::unique_ptr<FaultyStore> m_store;
  std::unique_ptr<http::Server> m_server;
  std::unique_ptr<httplib::Client> m_client;
  int m_next_file = 0;
};

using testing::expect_error;
using testing::expect_json;

void expect_no_content(const httplib::Result& response) {
  ASSERT_TRUE(response) << "no response";
  EXPECT_EQ(response->status, 204) << response->body;
  EXPECT_EQ(response->body, "");
}

// GET /health

TEST_F(ControlApiTest, HealthAnswers200WithNullErrorsWhenBothSidesAnswer) {
  auto response = get("/health");

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"IngesterDBConnError":null,"WarehouseConnError":null})");
}

TEST_F(ControlApiTest, HealthAnswers503NamingTheIngesterDatabaseWhenItFails) {
  m_store->fail_call("ping", {ErrorKind::transient, "ping ingester database: connection refused"});

  const json body = expect_json(get("/health"), 503);

  EXPECT_EQ(body,
            json::parse(R"({"IngesterDBConnError":"ping ingester database: connection refused",
                                  "WarehouseConnError":null})"));
}

TEST_F(ControlApiTest, HealthAnswers503NamingTheWarehouseWhenItFails) {
  m_hooks.ping_error = Error{ErrorKind::transient, "ping warehouse: timeout"};

  const json body = expect_json(get("/health"), 503);

  EXPECT_EQ(body,
            json::parse(
                R"({"IngesterDBConnError":null,"WarehouseConnError":"ping warehouse: timeout"})"));
}

TEST_F(ControlApiTest, HealthNamesBothSidesWhenBothFail) {
  m_store->fail_call("ping", {ErrorKind::transient, "db down"});
  m_hooks.ping_error = Error{ErrorKind::permanent, "warehouse down"};

  const json body = expect_json(get("/health"), 503);

  EXPECT_EQ(
      body,
      json::parse(R"({"IngesterDBConnError":"db down","WarehouseConnError":"warehouse down"})"));
}

// POST /control/force_load

TEST_F(ControlApiTest, ForceLoadRecordsTheRequestWakesTheLoadersAndAnswers204) {
  record("minute_watched", 0, 1);
  set_versions({{"minute_watched", 0}});

  expect_no_content(
      post("/control/force_load", R"({"Table":"minute_watched","Requester":"blueprint"})"));

  auto requested = m_real->force_load_requested("minute_watched");
  ASSERT_TRUE(requested);
  EXPECT_TRUE(*requested);
  EXPECT_EQ(wakes(), 1);
  EXPECT_NE(m_metrics.prometheus_text().find("rsi_force_loads_total{table=\"minute_watched\"} 1\n"),
            std::string::npos);
  // One file is far below the count and age triggers: only the force load makes it a batch.
  auto claimed =
      m_real->claim_batch(versions(), {.count_trigger = 5, .age_trigger = 1800s}, m_clock.now());
  ASSERT_TRUE(claimed && claimed->batch);
  EXPECT_TRUE(claimed->batch->forced);
}

TEST_F(ControlApiTest, ForceLoadOnlyForATableSomeoneKnowsWithABoundedRequester) {
  {
    const std::lock_guard lock(m_hooks.mutex);
    m_hooks.registry_tables = std::set<std::string, std::less<>>{"in_registry"};
  }
  set_versions({{"in_warehouse", 0}});
  record("with_files", 0, 1);
  for (const char* table : {"in_registry", "in_warehouse", "with_files"}) {
    auto answer =
        post("/control/force_load", fmt::format(R"({{"Table":"{}","Requester":"ops"}})", table));
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 204) << table << ": " << answer->body;
  }

  EXPECT_NE(expect_error(
                post("/control/force_load", R"({"Table":"nobody_knows","Requester":"ops"})"), 404)
                .find("no table nobody_knows"),
            std::string::npos);
  EXPECT_FALSE(m_store->force_load_requested("nobody_knows").value()) << "nothing stored for it";
  const std::string long_requester(257, 'r');
  EXPECT_NE(expect_error(
                post("/control/force_load",
                     fmt::format(R"({{"Table":"in_registry","Requester":"{}"}})", long_requester)),
                400)
                .find("Requester is 257 bytes long; the limit is 256 bytes"),
            std::string::npos);
  EXPECT_EQ(m_metrics.prometheus_text().find("nobody_knows"), std::string::npos)
      << "no metrics series for it";
}

TEST_F(ControlApiTest, ForceLoadIsIdempotentWhileARequestWaits) {
  expect_no_content(post("/control/force_load", R"({"Table":"video_play","Requester":"a"})"));
  expect_no_content(post("/control/force_load", R"({"Table":"video_play"})"));

  EXPECT_EQ(wakes(), 2);
  auto requested = m_real->force_load_requested("video_play");
  ASSERT_TRUE(requested);
  EXPECT_TRUE(*requested);
}

TEST_F(ControlApiTest, ForceLoadRefusesMalformedJson) {
  for (const std::string body : {"", "{", "not json", R"({"Table":"t")", "[]", R"(["Table","t"])",
                                 R"("t")", "42", "null", R"({"Table":"t"} {"Table":"u"})"}) {
    EXPECT_EQ(expect_error(post("/control/force_load", body), 400),
              "Problem decoding JSON POST data.")
        << body;
  }
  EXPECT_EQ(wakes(), 0);
}

TEST_F(ControlApiTest, ForceLoadRefusesATableOfTheWrongType) {
  for (const std::string body :
       {R"({"Table":5})", R"({"Table":["t"]})", R"({"Table":{"name":"t"}})", R"({"Table":true})",
        R"({"Table":"t","Requester":7})"}) {
    EXPECT_EQ(expect_error(post("/control/force_load", body), 400),
              "Problem decoding JSON POST data.")
        << body;
  }
  EXPECT_EQ(wakes(), 0);
}

TEST_F(ControlApiTest, ForceLoadRefusesAMissingOrEmptyTable) {
  for (const std::string body :
       {"{}", R"({"Table":""})", R"({"Requester":"ops"})", R"({"Table":null})"}) {
    EXPECT_EQ(expect_error(post("/control/force_load", body), 400), "Table name empty.") << body;
  }
  EXPECT_EQ(wakes(), 0);
}

TEST_F(ControlApiTest, ForceLoadMatchesFieldNamesAsGoDidIgnoringCase) {
  // The original decoded into a Go struct: field names match case-insensitively, unknown
  // fields are ignored.
  expect_no_content(
      post("/control/force_load", R"({"table":"minute_watched","requester":"ops","Extra":1})"));

  auto requested = m_real->force_load_requested("minute_watched");
  ASSERT_TRUE(requested);
  EXPECT_TRUE(*requested);
}

TEST_F(ControlApiTest, ForceLoadRefusesHostileTableNames) {
  const std::string long_name(128, 'a');
  for (const std::string table : {"a;DROP TABLE tsv", "../etc/passwd", "a b", " minute_watched",
                                  "x\"y", "t.u", "1abc", "caf\xc3\xa9", long_name.c_str()}) {
    const std::string message = expect_error(
        post("/control/force_load", json{{"Table", table}, {"Requester", "x"}}.dump()), 400);
    EXPECT_NE(message.find("invalid table name"), std::string::npos) << message;
    auto requested = m_real->force_load_requested(table);
    ASSERT_TRUE(requested);
    EXPECT_FALSE(*requested) << table;
  }
  const std::string nul_body = "{\"Table\":\"a\\u0000b\"}";
  EXPECT_NE(expect_error(post("/control/force_load", nul_body), 400).find("invalid table name"),
            std::string::npos);
  EXPECT_EQ(wakes(), 0);
}

TEST_F(ControlApiTest, ForceLoadAnswers503WhenTheStoreFailsTransiently) {
  m_store->fail_call("request_force_load",
                     {ErrorKind::transient, "request force load: database is locked"});

  const std::string message = expect_error(post("/control/force_load", R"({"Table":"t"})"), 503);

  EXPECT_EQ(message, "request force load: database is locked");
  EXPECT_EQ(wakes(), 0);
}

TEST_F(ControlApiTest, ForceLoadAnswers500WhenTheStoreFailsPermanently) {
  m_store->fail_call("request_force_load",
                     {ErrorKind::permanent, "request force load: no such table"});

  EXPECT_EQ(expect_error(post("/control/force_load", R"({"Table":"t"})"), 500),
            "request force load: no such table");
}

// POST /control/increment_version/<table>

TEST_F(ControlApiTest, IncrementVersionCallsTheMigratorAndAnswers204) {
  expect_no_content(post("/control/increment_version/dropped_event"));

  const std::lock_guard lock(m_hooks.mutex);
  EXPECT_EQ(m_hooks.incremented, std::vector<std::string>{"dropped_event"});
}

TEST_F(ControlApiTest, IncrementVersionAnswers409WhenTheTableExists) {
  m_hooks.increment_error =
      Error{ErrorKind::conflict, "increment version of video_play: the table exists"};

  EXPECT_EQ(expect_error(post("/control/increment_version/video_play"), 409),
            "increment version of video_play: the table exists");
}

TEST_F(ControlApiTest, IncrementVersionAnswers503WhenTheWarehouseIsUnreachable) {
  m_hooks.increment_error = Error{ErrorKind::transient, "increment version: connection lost"};

  EXPECT_EQ(expect_error(post("/control/increment_version/t"), 503),
            "increment version: connection lost");
}

TEST_F(ControlApiTest, IncrementVersionRefusesInvalidNames) {
  for (const std::string path :
       {"/control/increment_version/a%20b", "/control/increment_version/a.b",
        "/control/increment_version/%22x%22", "/control/increment_version/1x",
        "/control/increment_version/a%3Bb"}) {
    const std::string message = expect_error(post(path), 400);
    EXPECT_NE(message.find("invalid table name"), std::string::npos) << path << ": " << message;
  }
  const std::lock_guard lock(m_hooks.mutex);
  EXPECT_TRUE(m_hooks.incremented.empty());
}

// GET /control/table_exists/<table>

TEST_F(ControlApiTest, TableExistsAnswersWhetherTheTableHasAVersionAsTheOriginal) {
  // The original answered from its migrator's version cache: a retired event (versions, no
  // warehouse table) exists for Blueprint, so it asks for a drop request rather than a plain drop.
  set_versions({{"minute_watched", 0}, {"retired", 3}});

  EXPECT_EQ(expect_json(get("/control/table_exists/minute_watched")),
            json::parse(R"({"Exists":true})"));
  EXPECT_EQ(expect_json(get("/control/table_exists/retired")), json::parse(R"({"Exists":true})"));
  EXPECT_EQ(expect_json(get("/control/table_exists/never_created")),
            json::parse(R"({"Exists":false})"));
}

TEST_F(ControlApiTest, TableExistsRefusesInvalidNames) {
  EXPECT_NE(expect_error(get("/control/table_exists/a%20b"), 400).find("invalid table name"),
            std::string::npos);
}

// GET /control/last_load

TEST_F(ControlApiTest, LastLoadIsEmptyBeforeAnyLoad) {
  EXPECT_EQ(expect_json(get("/control/last_load")), json::object());
}

TEST_F(ControlApiTest, LastLoadAnswersEpochSecondsPerTableAfterABatchCompleted) {
  set_versions({{"minute_watched", 0}});
  record("minute_watched", 0, 2);
  const ingestdb::Batch batch = claim("minute_watched");
  m_clock.advance(90s + 500ms);
  auto completed = m_real->complete_batch(batch.manifest, m_clock.now());
  ASSERT_TRUE(completed && *completed);

  const json body = expect_json(get("/control/last_load"));

  EXPECT_EQ(body, json::parse(R"({"minute_watched":1700000090})"));
  EXPECT_TRUE(body["minute_watched"].is_number_integer());
}

TEST_F(ControlApiTest, LastLoadAnswers503WhenTheStoreFailsTransiently) {
  m_store->fail_call("last_loads", {ErrorKind::transient, "last loads: connection lost"});

  EXPECT_EQ(expect_error(get("/control/last_load"), 503), "last loads: connection lost");
}

// GET /control/status

TEST_F(ControlApiTest, StatusShowsPendingFilesVersionsAndBatchesPerTable) {
  set_versions({{"broken", 0}, {"evolving", 0}, {"flaky", 0}, {"ready", 0}});
  const ingestdb::Batch stale =
      stale_batch("broken", 2, "load s3://spade/broken/v0/file0.gz line 3: bad int");
  record("flaky", 0, 1);
  const ingestdb::Batch failed = claim("flaky");
  fail(failed, "COPY: disk full");
  record("ready", 0, 3);
  const ingestdb::Batch in_flight = claim("ready");
  record("evolving", 1, 4);  // Newer than the warehouse's version 0: waits for the migrator.
  record("brand_new", 0, 1); // No warehouse table yet.
  m_clock.advance(30s);

  const json body = expect_json(get("/control/status"));

  EXPECT_EQ(body["MaxLoadRetry"], k_max_load_retry);
  std::map<std::string, json> tables;
  for (const auto& table : body["Tables"]) {
    tables[table["Table"].get<std::string>()] = table;
  }
  ASSERT_EQ(tables.size(), 5U) << body.dump(2);

  const json& broken = tables["broken"];
  EXPECT_EQ(broken["CurrentVersion"], 0);
  EXPECT_EQ(broken["PendingVersion"], 0);
  EXPECT_EQ(broken["PendingFiles"], 2);
  EXPECT_EQ(broken["StaleFiles"], 2);
  EXPECT_EQ(broken["InQueueFiles"], 0);
  ASSERT_EQ(broken["Stale"].size(), 1U);
  EXPECT_EQ(broken["Stale"][0]["Manifest"], stale.manifest);
  EXPECT_EQ(broken["Stale"][0]["Version"], 0);
  EXPECT_EQ(broken["Stale"][0]["Files"], 2);
  EXPECT_EQ(broken["Stale"][0]["RetryCount"], k_max_load_retry);
  EXPECT_EQ(broken["Stale"][0]["LastError"], "load s3://spade/broken/v0/file0.gz line 3: bad int");
  EXPECT_TRUE(broken["Stale"][0]["RetryAt"].is_string());
  EXPECT_TRUE(broken["InFlight"].empty());
  // Recorded before the retries (2 × 15m01s) and the 30 s that followed.
  EXPECT_DOUBLE_EQ(broken["OldestAgeSeconds"].get<double>(), 2 * 901 + 30);

  const json& flaky = tables["flaky"];
  EXPECT_EQ(flaky["InQueueFiles"], 1);
  EXPECT_TRUE(flaky["Stale"].empty());
  ASSERT_EQ(flaky["Retrying"].size(), 1U) << flaky.dump(2);
  EXPECT_EQ(flaky["Retrying"][0]["Manifest"], failed.manifest);
  EXPECT_EQ(flaky["Retrying"][0]["LastError"], "COPY: disk full");
  EXPECT_EQ(flaky["Retrying"][0]["RetryCount"], 0);
  EXPECT_TRUE(flaky["Retrying"][0]["RetryAt"].is_string());

  const json& ready = tables["ready"];
  EXPECT_EQ(ready["PendingFiles"], 3);
  EXPECT_EQ(ready["InQueueFiles"], 3);
  ASSERT_EQ(ready["InFlight"].size(), 1U);
  EXPECT_EQ(ready["InFlight"][0]["Manifest"], in_flight.manifest);
  EXPECT_EQ(ready["InFlight"][0]["Files"], 3);
  EXPECT_EQ(ready["InFlight"][0]["LastError"], nullptr);
  EXPECT_FALSE(ready["InFlight"][0].contains("RetryAt"));
  EXPECT_DOUBLE_EQ(ready["OldestAgeSeconds"].get<double>(), 30);

  const json& evolving = tables["evolving"];
  EXPECT_EQ(evolving["CurrentVersion"], 0);
  EXPECT_EQ(evolving["PendingVersion"], 1);
  EXPECT_EQ(evolving["PendingMigrationFiles"], 4);
  EXPECT_EQ(evolving["InQueueFiles"], 0);

  EXPECT_EQ(evolving["MigrationTarget"], 1);

  const json& brand_new = tables["brand_new"];
  EXPECT_EQ(brand_new["CurrentVersion"], nullptr);
  EXPECT_EQ(brand_new["PendingVersion"], 0);
  EXPECT_EQ(brand_new["MigrationTarget"], 0) << "the migrator creates it";
  EXPECT_EQ(brand_new["InQueueFiles"], 1);
  EXPECT_EQ(ready["MigrationTarget"], nullptr);
  EXPECT_EQ(ready["LastLoad"], nullptr);
  EXPECT_TRUE(body["Busy"].get<bool>());
}

TEST_F(ControlApiTest, StatusShowsTheQueueDepthWhereTheProcessSeesTheQueue) {
  {
    const std::lock_guard lock(m_hooks.mutex);
    m_hooks.queue_depth =
        queue::QueueDepth{.waiting = 7, .in_flight = 2, .delayed = 1, .approximate = true};
  }
  const json body = expect_json(get("/control/status"));
  EXPECT_EQ(body["Queue"], (json{{"Waiting", 7},
                                 {"InFlight", 2},
                                 {"Delayed", 1},
                                 {"Approximate", true},
                                 {"SetAside", 0}}));
  EXPECT_TRUE(body["Busy"].get<bool>()) << "messages wait to be recorded";

  {
    const std::lock_guard lock(m_hooks.mutex);
    m_hooks.queue_depth = queue::QueueDepth{};
  }
  const json idle = expect_json(get("/control/status"));
  EXPECT_FALSE(idle["Busy"].get<bool>()) << idle.dump(2);

  {
    const std::lock_guard lock(m_hooks.mutex);
    m_hooks.queue_depth = rsi::fail(ErrorKind::transient, "SQS GetQueueAttributes: timed out");
  }
  const json unknown = expect_json(get("/control/status"));
  EXPECT_EQ(unknown["Queue"], (json{{"Error", "SQS GetQueueAttributes: timed out"}}));
}

TEST_F(ControlApiTest, StatusShowsABatchWhoseLeaseRanOutAsOrphaned) {
  set_versions({{"ready", 0}});
  record("ready", 0, 1);
  const ingestdb::Batch batch = claim("ready");
  m_clock.advance(k_claim_everything.lease + 1s); // Its loader died: nobody renews the lease.

  const json body = expect_json(get("/control/status"));

  ASSERT_EQ(body["Tables"].size(), 1U);
  const json& ready = body["Tables"][0];
  EXPECT_TRUE(ready["InFlight"].empty());
  ASSERT_EQ(ready["Orphaned"].size(), 1U) << ready.dump(2);
  EXPECT_EQ(ready["Orphaned"][0]["Manifest"], batch.manifest);
}

TEST_F(ControlApiTest, StatusOfAnEmptyDatabaseHasNoTables) {
  const json body = expect_json(get("/control/status"));

  EXPECT_EQ(body["Tables"], json::array());
  EXPECT_EQ(body["MaxLoadRetry"], k_max_load_retry);
}

TEST_F(ControlApiTest, StatusAnswers503WhenTheStoreFailsTransiently) {
  m_store->fail_call("pending_stats", {ErrorKind::transient, "pending stats: connection lost"});

  EXPECT_EQ(expect_error(get("/control/status"), 503), "pending stats: connection lost");
}

TEST_F(ControlApiTest, StatusShowsWhatTheLoadsCommittedPerMinuteOverTheLastHour) {
  set_versions({{"clicks", 0}, {"idle", 0}});
  // 2023-11-14T22:13:20Z: a batch 70 minutes ago (outside the hour), then two in one minute
  // and one two minutes later.
  const auto load = [&](int files, std::int64_t rows) {
    record("clicks", 0, files);
    const ingestdb::Batch batch = claim("clicks");
    auto done = m_real->complete_batch(batch.manifest, m_clock.now(), rows);
    ASSERT_TRUE(done && *done);
  };
  const TimePoint start = m_clock.now();
  load(5, 500);
  m_clock.advance(70min);
  load(2, 120);
  m_clock.advance(10s);
  load(1, 30);
  m_clock.advance(2min);
  load(3, 0); // Rows not known (a batch the ledger said had committed) count 0.
  m_clock.advance(20s);

  const json body = expect_json(get("/control/status"));

  // The minute of now (23:25) and the 59 before it.
  const TimePoint now = start + 70min + 2min + 30s;
  EXPECT_EQ(body["TakenAt"], to_iso8601(now));
  EXPECT_EQ(body["HistorySince"],
            to_iso8601(std::chrono::floor<std::chrono::minutes>(now) - 59min));
  ASSERT_EQ(body["Tables"].size(), 2U) << body.dump(2);
  const json& clicks = body["Tables"][0];
  EXPECT_EQ(
      clicks["LoadHistory"],
      (json::array(
          {{{"Minute", to_iso8601(std::chrono::floor<std::chrono::minutes>(start + 70min))},
            {"Batches", 2},
            {"Files", 3},
            {"Rows", 150}},
           {{"Minute", to_iso8601(std::chrono::floor<std::chrono::minutes>(start + 72min + 10s))},
            {"Batches", 1},
            {"Files", 3},
            {"Rows", 0}}})))
      << clicks.dump(2);
  EXPECT_EQ(clicks["LoadedLastHour"], (json{{"Batches", 3}, {"Files", 6}, {"Rows", 150}}));
  const json& idle = body["Tables"][1];
  EXPECT_EQ(idle["LoadHistory"], json::array());
  EXPECT_EQ(idle["LoadedLastHour"], (json{{"Batches", 0}, {"Files", 0}, {"Rows", 0}}));
}

TEST_F(ControlApiTest, StatusShowsEachDependencysHealth) {
  {
    const std::lock_guard lock(m_hooks.mutex);
    m_hooks.queue_depth = queue::QueueDepth{};
  }
  const json healthy = expect_json(get("/control/status"));
  EXPECT_EQ(healthy["Dependencies"], (json{{"IngesterDb", {{"Ok", true}, {"Error", nullptr}}},
                                           {"Warehouse", {{"Ok", true}, {"Error", nullptr}}},
                                           {"Queue", {{"Ok", true}, {"Error", nullptr}}},
                                           {"Registry", {{"Ok", true}, {"Error", nullptr}}}}))
      << healthy.dump(2);

  {
    const std::lock_guard lock(m_hooks.mutex);
    m_hooks.ping_error = Error{ErrorKind::transient, "ping: connection refused"};
    m_hooks.registry_error = Error{ErrorKind::transient, "GET /schema/x: timed out"};
    m_hooks.queue_depth = rsi::fail(ErrorKind::transient, "SQS: throttled");
  }
  const json failing = expect_json(get("/control/status"));
  EXPECT_EQ(failing["Dependencies"],
            (json{{"IngesterDb", {{"Ok", true}, {"Error", nullptr}}},
                  {"Warehouse", {{"Ok", false}, {"Error", "ping: connection refused"}}},
                  {"Queue", {{"Ok", false}, {"Error", "SQS: throttled"}}},
                  {"Registry", {{"Ok", false}, {"Error", "GET /schema/x: timed out"}}}}))
      << failing.dump(2);
}

TEST_F(ControlApiTest, StatusCountsRejectedMessagesByKindAndByListedTable) {
  set_versions({{"clicks", 0}});
  const auto reject = [&](const std::string& kind, const std::string& table) {
    ASSERT_TRUE(m_real->reject_message({.message_id = fmt::format("m{}", m_next_file++),
                                        .reason = "why",
                                        .body = "{}",
                                        .received_at = m_clock.now(),
                                        .kind = kind,
                                        .table = table}));
  };
  reject("unknown_table", "clicks");
  reject("unknown_table", "clicks");
  reject("unknown_table", "<b>stranger</b>"); // Names no listed table: counted, not listed.
  reject("malformed", "");
  reject("", ""); // Written by an older version: no kind.

  const json body = expect_json(get("/control/status"));

  EXPECT_EQ(body["RejectedMessages"],
            (json{{"malformed", 1}, {"unknown", 1}, {"unknown_table", 3}}));
  EXPECT_EQ(body["RejectedTotal"], 5);
  EXPECT_EQ(body["RejectedPartial"], false);
  ASSERT_EQ(body["Tables"].size(), 1U) << body.dump(2);
  EXPECT_EQ(body["Tables"][0]["RejectedMessages"], (json{{"unknown_table", 2}}));
}

TEST_F(ControlApiTest, StatusGivesEachBatchItsCreationAndAge) {
  set_versions({{"ready", 0}});
  record("ready", 0, 2);
  const TimePoint claimed = m_clock.now();
  const ingestdb::Batch batch = claim("ready");
  m_clock.advance(42s);

  const json body = expect_json(get("/control/status"));

  const json& in_flight = body["Tables"][0]["InFlight"];
  ASSERT_EQ(in_flight.size(), 1U) << body.dump(2);
  EXPECT_EQ(in_flight[0]["Manifest"], batch.manifest);
  EXPECT_EQ(in_flight[0]["CreatedAt"], to_iso8601(claimed));
  EXPECT_DOUBLE_EQ(in_flight[0]["AgeSeconds"].get<double>(), 42);
}

// GET /: the status page

TEST_F(ControlApiTest, TheStatusPageIsServedWithoutATokenWithHeadersThatConfineIt) {
  start("s3cret"); // The API's other endpoints need the token; the page does not.
  EXPECT_EQ(get("/control/status")->status, 401);

  const auto page = get("/");

  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(page->body, detail::k_status_page_html);
  EXPECT_NE(page->body.find("<title>rs_ingester status</title>"), std::string::npos);
  const std::string policy = page->get_header_value("Content-Security-Policy");
  EXPECT_EQ(policy, detail::content_security_policy(detail::k_status_page_html));
  EXPECT_TRUE(policy.starts_with("default-src 'none'; script-src 'sha256-")) << policy;
  EXPECT_NE(policy.find("; style-src 'sha256-"), std::string::npos) << policy;
  EXPECT_NE(policy.find("connect-src 'self'"), std::string::npos) << policy;
  EXPECT_NE(policy.find("frame-ancestors 'none'"), std::string::npos) << policy;
  EXPECT_EQ(policy.find("unsafe"), std::string::npos) << policy;
  EXPECT_EQ(page->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(page->get_header_value("Cache-Control"), "no-store");
  EXPECT_EQ(page->get_header_value("X-Frame-Options"), "DENY");
  EXPECT_EQ(page->get_header_value("Referrer-Policy"), "no-referrer");

  const auto head = m_client->Head("/");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
  EXPECT_EQ(head->get_header_value("Content-Security-Policy"), policy);
  EXPECT_EQ(post("/")->status, 405);
}

TEST_F(ControlApiTest, ThePagesPolicyAllowsExactlyItsInlineStyleAndScriptByTheirHashes) {
  // sha256("a") and sha256("b"), base64: what a browser computes over the elements' text.
  EXPECT_EQ(detail::content_security_policy("<p><style>a</style>x<script>b</script>"),
            "default-src 'none'; script-src 'sha256-PiPoFgA5WUoziU9lZOGxNIu9egCI1CxKy3PurtWcAJ0='; "
            "style-src 'sha256-ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs='; connect-src 'self'; "
            "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  EXPECT_THROW((void)detail::content_security_policy("<style>a</style>"), std::logic_error);
  EXPECT_THROW(
      (void)detail::content_security_policy("<style>a</style><script>b</script><script>c</script>"),
      std::logic_error)
      << "a second script would run unhashed: refused";
}

// POST /control/retry/<manifest> and /control/skip/<manifest>

TEST_F(ControlApiTest, RetryAndSkipOfAnUnknownManifestAre404) {
  const std::string manifest = "0b7c6d4e-0000-4000-8000-000000000000";

  EXPECT_NE(expect_error(post("/control/retry/" + manifest), 404).find(manifest),
            std::string::npos);
  EXPECT_NE(expect_error(post("/control/skip/" + manifest), 404).find(manifest), std::string::npos);
}

TEST_F(ControlApiTest, RetryAndSkipOfABatchInFlightAre409) {
  set_versions({{"ready", 0}});
  record("ready", 0, 2);
  const ingestdb::Batch batch = claim("ready");

  EXPECT_NE(expect_error(post("/control/retry/" + batch.manifest), 409).find("in flight"),
            std::string::npos);
  EXPECT_NE(expect_error(post("/control/skip/" + batch.manifest), 409).find("in flight"),
            std::string::npos);

  auto found = m_real->find_batch(batch.manifest);
  ASSERT_TRUE(found && *found);
  EXPECT_FALSE((*found)->retry_at);
  EXPECT_EQ(wakes(), 0);
}

TEST_F(ControlApiTest, RetryAndSkipOfABatchNotYetStaleAre409) {
  set_versions({{"flaky", 0}});
  record("flaky", 0, 2);
  const ingestdb::Batch batch = claim("flaky");
  fail(batch, "COPY: disk full");

  EXPECT_NE(expect_error(post("/control/retry/" + batch.manifest), 409).find("not stale"),
            std::string::npos);
  EXPECT_NE(expect_error(post("/control/skip/" + batch.manifest), 409).find("not stale"),
            std::string::npos);

  auto found = m_real->find_batch(batch.manifest);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->retry_count, 0);
  EXPECT_EQ((*found)->retry_at, m_clock.now() + k_retry_delay);
}

TEST_F(ControlApiTest, RetryOfAStaleBatchMakesItDueNowWithItsRetriesBack) {
  set_versions({{"broken", 0}});
  const ingestdb::Batch batch = stale_batch("broken", 3, "bad value");
  auto none = m_real->claim_retryable_batch(k_max_load_retry, 2min, m_clock.now() + 24h);
  ASSERT_TRUE(none);
  ASSERT_FALSE(*none) << "a stale batch is not retried by itself";

  expect_no_content(post("/control/retry/" + batch.manifest));

  EXPECT_EQ(wakes(), 1);
  auto found = m_real->find_batch(batch.manifest);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->retry_count, 0);
  EXPECT_EQ((*found)->retry_at, m_clock.now());
  const json status = expect_json(get("/control/status"));
  EXPECT_TRUE(status["Tables"][0]["Stale"].empty()) << status.dump(2);
  m_clock.advance(1ms);
  auto due = m_real->claim_retryable_batch(k_max_load_retry, 2min, m_clock.now());
  ASSERT_TRUE(due && *due);
  EXPECT_EQ((*due)->manifest, batch.manifest);
  EXPECT_EQ((*due)->keys.size(), 3U);
  EXPECT_LT((*due)->retry_count, k_max_load_retry);
  // Being retried, it is in flight: a second operator retry is refused.
  EXPECT_NE(expect_error(post("/control/retry/" + batch.manifest), 409).find("in flight"),
            std::string::npos);
}

TEST_F(ControlApiTest, SkipOfAStaleBatchDropsItsFilesAndKeepsAnAuditRow) {
  set_versions({{"broken", 0}});
  const ingestdb::Batch batch = stale_batch("broken", 2, "load line 3: bad int");
  m_clock.advance(1min);

  const json body =
      expect_json(post("/control/skip/" + batch.manifest, R"({"Requester":"alice"})"));

  EXPECT_EQ(body["Manifest"], batch.manifest);
  EXPECT_EQ(body["Table"], "broken");
  EXPECT_EQ(body["Version"], 0);
  EXPECT_EQ(body["Files"], 2);
  EXPECT_EQ(body["RetryCount"], k_max_load_retry);
  EXPECT_EQ(body["LastError"], "load line 3: bad int");
  EXPECT_EQ(body["SkippedBy"], "alice");
  auto found = m_real->find_batch(batch.manifest);
  ASSERT_TRUE(found);
  EXPECT_FALSE(*found);
  auto stats = m_real->pending_stats(versions(), k_max_load_retry);
  ASSERT_TRUE(stats);
  EXPECT_TRUE(stats->empty());
  auto db = sqlite::Database::open(m_dir.path("ingester.db"));
  ASSERT_TRUE(db) << db.error().message;
  auto audit =
      db->prepare("SELECT tablename, tableversion, keynames, retry_count, last_error, skipped_by, "
                  "skipped_at FROM skipped_batch WHERE manifest_uuid = ?");
  ASSERT_TRUE(audit);
  audit->bind(1, batch.manifest);
  auto row = audit->step();
  ASSERT_TRUE(row && *row);
  EXPECT_EQ(audit->text(0), "broken");
  EXPECT_EQ(audit->integer(1), 0);
  EXPECT_EQ(json::parse(audit->text(2)), json(batch.keys));
  EXPECT_EQ(audit->integer(3), k_max_load_retry);
  EXPECT_EQ(audit->text(4), "load line 3: bad int");
  EXPECT_EQ(audit->text(5), "alice");
  EXPECT_EQ(audit->integer(6), to_epoch_micros(m_clock.now()));
  // Gone: skipping or retrying it again finds nothing.
  expect_error(post("/control/skip/" + batch.manifest), 404);
  expect_error(post("/control/retry/" + batch.manifest), 404);
}

TEST_F(ControlApiTest, SkipWithoutABodyIsRecordedAsTheControlApi) {
  set_versions({{"broken", 0}});
  const ingestdb::Batch batch = stale_batch("broken", 1, "bad");

  const json body = expect_json(post("/control/skip/" + batch.manifest));

  EXPECT_EQ(body["SkippedBy"], "control-api");
}

TEST_F(ControlApiTest, SkipRefusesAMalformedBodyAndKeepsTheBatch) {
  set_versions({{"broken", 0}});
  const ingestdb::Batch batch = stale_batch("broken", 1, "bad");

  for (const std::string body : {"{", "[]", R"({"Requester":5})"}) {
    EXPECT_EQ(expect_error(post("/control/skip/" + batch.manifest, body), 400),
              "Problem decoding JSON POST data.")
        << body;
  }

  auto found = m_real->find_batch(batch.manifest);
  ASSERT_TRUE(found && *found);
}

TEST_F(ControlApiTest, RetryAnswers503WhenTheStoreFailsTransiently) {
  m_store->fail_call("find_batch", {ErrorKind::transient, "find batch: connection lost"});

  EXPECT_EQ(expect_error(post("/control/retry/x"), 503), "find batch: connection lost");
  EXPECT_EQ(expect_error(post("/control/skip/x"), 503), "find batch: connection lost");
}

// GET /metrics

// Quarantined files: GET /control/status, POST /control/quarantine/retry and /drop

TEST_F(ControlApiTest, StatusListsQuarantinedFilesWithKindLineAndAttempts) {
  set_versions({{"events", 0}});
  const auto bad = quarantine("events", 3, 2);
  m_clock.advance(30s);

  const json status = expect_json(get("/control/status"));
  EXPECT_EQ(status["QuarantinedFiles"], 2) << status.dump(2);
  ASSERT_EQ(status["Tables"].size(), 1U) << status.dump(2);
  const json& table = status["Tables"][0];
  EXPECT_EQ(table["QuarantinedFiles"], 2);
  EXPECT_EQ(table["QuarantinedSince"], to_iso8601(m_clock.now() - 30s));
  EXPECT_EQ(table["InFlight"].size(), 1U) << "the good file loads as a new batch";
  ASSERT_EQ(table["Quarantined"].size(), 2U);
  const json& file = table["Quarantined"][0];
  EXPECT_EQ(file["Key"], bad[0]);
  EXPECT_EQ(file["Table"], "events");
  EXPECT_EQ(file["Version"], 0);
  EXPECT_EQ(file["Kind"], "bad_value");
  EXPECT_EQ(file["Line"], 7);
  EXPECT_EQ(file["Column"], 2);
  EXPECT_EQ(file["Attempts"], 1);
  EXPECT_NE(file["Error"].get<std::string>().find("invalid bigint"), std::string::npos);
  EXPECT_TRUE(file["Id"].is_number_integer());

  // Once the good file loaded, nothing goes on by itself.
  const std::string manifest = table["InFlight"][0]["Manifest"];
  ASSERT_TRUE(m_real->complete_batch(manifest, m_clock.now()).value());
  const json after = expect_json(get("/control/status"));
  EXPECT_FALSE(after["Busy"]) << "quarantined files wait for an operator, not for the loader:\n"
                              << after.dump(2);
  EXPECT_EQ(after["QuarantinedFiles"], 2);
}

TEST_F(ControlApiTest, QuarantineRetryRequeuesTheChosenFilesOnceAndWakesTheLoaders) {
  set_versions({{"events", 0}});
  const auto bad = quarantine("events", 3, 2);
  const json listed = expect_json(get("/control/status"));
  const auto first_id = listed["Tables"][0]["Quarantined"][0]["Id"].get<std::int64_t>();

  const json retried = expect_json(post(
      "/control/quarantine/retry", fmt::format(R"({{"Requester":"alice","Ids":[{}]}})", first_id)));
  ASSERT_EQ(retried["Files"].size(), 1U) << retried.dump(2);
  EXPECT_EQ(retried["Files"][0]["Key"], bad[0]);
  EXPECT_EQ(retried["Files"][0]["Action"], "requeued");
  EXPECT_EQ(retried["Requester"], "alice");
  EXPECT_EQ(wakes(), 1);

  // Pending again: a redelivered pointer of it is not recorded twice.
  auto again = m_real->record_file({.key_name = bad[0], .table = "events"}, m_clock.now());
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, ingestdb::RecordOutcome::already_pending);
  const json status = expect_json(get("/control/status"));
  EXPECT_EQ(status["QuarantinedFiles"], 1);
  // Retrying it again finds nothing to retry.
  expect_error(post("/control/quarantine/retry", fmt::format(R"({{"Ids":[{}]}})", first_id)), 404);
}

TEST_F(ControlApiTest, AQuarantinedKeyAnnouncedAgainWaitsForTheOperatorsRetry) {
  set_versions({{"events", 0}});
  const auto bad = quarantine("events", 2, 1);

  EXPECT_EQ(m_real->record_file({.key_name = bad[0], .table = "events"}, m_clock.now()).value(),
            ingestdb::RecordOutcome::quarantined);

  EXPECT_EQ(expect_json(get("/control/status"))["QuarantinedFiles"], 1);
  const json retried = expect_json(post("/control/quarantine/retry", R"({"Table":"events"})"));
  ASSERT_EQ(retried["Files"].size(), 1U) << retried.dump(2);
  EXPECT_EQ(retried["Files"][0]["Action"], "requeued");
  EXPECT_EQ(m_real->record_file({.key_name = bad[0], .table = "events"}, m_clock.now()).value(),
            ingestdb::RecordOutcome::already_pending);
}

TEST_F(ControlApiTest, QuarantineRetryOfAKeyLoadedMeanwhileDoesNotQueueItAgain) {
  set_versions({{"events", 0}});
  const auto bad = quarantine("events", 2, 1);
  // Loaded by another way (an instance of another release, say): remembered as loaded only.
  {
    auto db = sqlite::Database::open(m_dir.path("ingester.db"));
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec_script(fmt::format(
        "INSERT INTO loaded_key (keyname, tablename, manifest_uuid, loaded_at) VALUES ('{}', "
        "'events', '00000000-0000-4000-8000-000000000001', {})",
        bad[0], to_epoch_micros(m_clock.now()))));
  }

  const json retried = expect_json(post("/control/quarantine/retry", R"({"Table":"events"})"));
  ASSERT_EQ(retried["Files"].size(), 1U) << retried.dump(2);
  EXPECT_EQ(retried["Files"][0]["Action"], "already_loaded");
  EXPECT_EQ(retried["Requester"], "control-api");
  EXPECT_EQ(expect_json(get("/control/status"))["QuarantinedFiles"], 0);
  EXPECT_EQ(m_real->record_file({.key_name = bad[0], .table = "events"}, m_clock.now()).value(),
            ingestdb::RecordOutcome::recently_loaded)
      << "not queued again";
}

TEST_F(ControlApiTest, QuarantineDropGivesTheFilesUpAndKeepsWhoDecided) {
  set_versions({{"events", 0}, {"other", 0}});
  const auto bad = quarantine("events", 3, 2);
  quarantine("other", 2, 1);

  const json dropped =
      expect_json(post("/control/quarantine/drop", R"({"Requester":"bob","Table":"events"})"));
  ASSERT_EQ(dropped["Files"].size(), 2U) << dropped.dump(2);
  EXPECT_EQ(dropped["Files"][0]["Action"], "dropped");
  EXPECT_EQ(wakes(), 0);
  const json status = expect_json(get("/control/status"));
  EXPECT_EQ(status["QuarantinedFiles"], 1) << "the other table's file stays";

  auto db = sqlite::Database::open(m_dir.path("ingester.db"));
  ASSERT_TRUE(db);
  auto rows = db->prepare("SELECT state, changed_by FROM quarantined_file WHERE keyname = ?");
  ASSERT_TRUE(rows);
  rows->bind(1, bad[0]);
  ASSERT_TRUE(rows->step().value_or(false));
  EXPECT_EQ(rows->text(0), "dropped");
  EXPECT_EQ(rows->text(1), "bob");
  rows->reset();
  expect_error(post("/control/quarantine/retry", R"({"Table":"events"})"), 404);
  auto again = m_real->record_file({.key_name = bad[0], .table = "events"}, m_clock.now());
  ASSERT_TRUE(again) << "a dropped key may be announced again (a new object)";
}

TEST_F(ControlApiTest, QuarantineRequestsMustNameTheFilesAndBeWellFormed) {
  set_versions({{"events", 0}});
  quarantine("events", 2, 1);
  for (const std::string path : {"/control/quarantine/retry", "/control/quarantine/drop"}) {
    for (const char* body :
         {"", "{}", R"({"Ids":[]})", "[1]", "{", R"({"Ids":"1"})", R"({"Ids":[1.5]})",
          R"({"Table":7})", R"({"Requester":["x"],"All":true})", R"({"All":"yes"})"}) {
      expect_error(post(path, body), 400);
    }
    expect_error(post(path, R"({"Ids":[987654]})"), 404);
    expect_error(post(path, R"({"Table":"nope"})"), 404);
  }
  EXPECT_EQ(expect_json(get("/control/status"))["QuarantinedFiles"], 1) << "nothing changed";
  const json all = expect_json(post("/control/quarantine/drop", R"({"All":true})"));
  EXPECT_EQ(all["Files"].size(), 1U);
}

TEST_F(ControlApiTest, MetricsAnswersPrometheusText) {
  expect_no_content(post("/control/force_load", R"({"Table":"minute_watched"})"));

  auto response = get("/metrics");

  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->get_header_value("Content-Type"), "text/plain; version=0.0.4");
  EXPECT_NE(response->body.find("# TYPE rsi_force_loads_total counter\n"), std::string::npos)
      << response->body;
  EXPECT_NE(response->body.find("rsi_force_loads_total{table=\"minute_watched\"} 1\n"),
            std::string::npos);
}

// Routing

TEST_F(ControlApiTest, WrongMethodsAre405WithAllow) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases{
      {"POST", "/health", "GET"},
      {"GET", "/control/force_load", "POST"},
      {"GET", "/control/increment_version/t", "POST"},
      {"POST", "/control/table_exists/t", "GET"},
      {"DELETE", "/control/last_load", "GET"},
      {"PUT", "/control/status", "GET"},
      {"GET", "/control/retry/m", "POST"},
      {"GET", "/control/skip/m", "POST"},
      {"GET", "/control/quarantine/retry", "POST"},
      {"GET", "/control/quarantine/drop", "POST"},
      {"POST", "/control/rejected", "GET"},
      {"GET", "/control/rejected/replay", "POST"},
      {"POST", "/metrics", "GET"},
  };
  for (const auto& [method, path, allowed] : cases) {
    httplib::Result response = method == "POST"  ? post(path)
                               : method == "GET" ? get(path)
                               : method == "DELETE"
                                   ? m_client->Delete(path.c_str())
                                   : m_client->Put(path.c_str(), "", "application/json");
    EXPECT_NE(expect_error(response, 405).find("not allowed"), std::string::npos)
        << method << " " << path;
    EXPECT_EQ(response->get_header_value("Allow"), allowed) << method << " " << path;
  }
}

TEST_F(ControlApiTest, UnknownPathsAre404) {
  for (const std::string path :
       {"/nope", "/index.html", "/control", "/control/retry/", "/control/table_exists/a/b",
        "/control/status/extra", "/health/"}) {
    EXPECT_NE(expect_error(get(path), 404).find("no such endpoint"), std::string::npos) << path;
  }
}

// Requests a browser page could send

TEST_F(ControlApiTest, ForceLoadsFromAPageOnAnotherSiteChangeNothing) {
  const std::string body = R"({"Table":"minute_watched","Requester":"attacker"})";

  // A cross-site form or fetch without preflight: text/plain, foreign Origin.
  auto foreign_origin = m_client->Post("/control/force_load", {{"Origin", "http://evil.example"}},
                                       body, "text/plain");
  // The same after DNS rebinding: the page's own name in Host.
  auto rebound = m_client->Post("/control/force_load", {{"Host", "evil.example:8080"}}, body,
                                "application/json");
  auto text_plain = m_client->Post("/control/force_load", body, "text/plain");

  EXPECT_NE(expect_error(foreign_origin, 403).find("Origin"), std::string::npos);
  EXPECT_NE(expect_error(rebound, 403).find("Host"), std::string::npos);
  EXPECT_NE(expect_error(text_plain, 415).find("application/json"), std::string::npos);
  auto requested = m_real->force_load_requested("minute_watched");
  ASSERT_TRUE(requested);
  EXPECT_FALSE(*requested);
  EXPECT_EQ(wakes(), 0);
}

TEST_F(ControlApiTest, OperatorsWithoutOriginOrBodyAreServed) {
  set_versions({{"broken", 0}});
  const ingestdb::Batch batch = stale_batch("broken", 1, "bad");
  test::RawConnection connection(m_server->port());

  // What `curl -X POST` without -d sends: no Content-Length, no Content-Type, no Origin.
  connection.send(
      fmt::format("POST /control/retry/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAccept: */*\r\n\r\n",
                  batch.manifest, m_server->port()));
  const auto retried = connection.read_response(5s);

  ASSERT_TRUE(retried) << "the server waited for a body";
  EXPECT_EQ(retried->status, 204);
  EXPECT_EQ(wakes(), 1);
}

// The bearer token

class ControlApiTokenTest : public ControlApiTest {
protected:
  void SetUp() override { start("s3cret-token"); }
};

TEST_F(ControlApiTokenTest, EveryEndpointButHealthNeedsIt) {
  set_versions({{"broken", 0}});
  const std::vector<std::pair<std::string, std::string>> endpoints{
      {"POST", "/control/force_load"},
      {"POST", "/control/increment_version/t"},
      {"GET", "/control/table_exists/t"},
      {"GET", "/control/last_load"},
      {"GET", "/control/status"},
      {"POST", "/control/retry/m"},
      {"POST", "/control/skip/m"},
      {"GET", "/metrics"},
      {"POST", "/control/quarantine/retry"},
      {"POST", "/control/quarantine/drop"},
      {"GET", "/control/rejected"},
      {"POST", "/control/rejected/replay"},
  };
  const std::vector<httplib::Headers> refused{
      {},
      {{"Authorization", "Bearer wrong-token"}},
      {{"Authorization", "Bearer s3cret-toke"}},
      {{"Authorization", "Bearer s3cret-token-and-more"}},
      {{"Authorization", "Bearer "}},
      {{"Authorization", "s3cret-token"}},
      {{"Authorization", "Basic czNjcmV0LXRva2Vu"}},
      {{"X-Token", "s3cret-token"}},
  };
  for (const auto& [method, path] : endpoints) {
    for (const auto& headers : refused) {
      auto response =
          method == "GET" ? get(path, headers) : post(path, R"({"Table":"t"})", headers);
      const std::string message = expect_error(response, 401);
      EXPECT_NE(message.find("bearer token"), std::string::npos) << method << " " << path;
      EXPECT_EQ(response->get_header_value("WWW-Authenticate"), "Bearer") << method << " " << path;
    }
  }
  EXPECT_EQ(wakes(), 0);
  {
    const std::lock_guard lock(m_hooks.mutex);
    EXPECT_TRUE(m_hooks.incremented.empty());
  }

  auto health = get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(ControlApiTokenTest, WithTheRightTokenEveryEndpointAnswers) {
  const httplib::Headers bearer{{"Authorization", "Bearer s3cret-token"}};

  expect_no_content(post("/control/force_load", R"({"Table":"t"})", bearer));
  expect_no_content(post("/control/increment_version/t", "", bearer));
  EXPECT_EQ(expect_json(get("/control/table_exists/t", bearer)),
            json::parse(R"({"Exists":false})"));
  EXPECT_EQ(expect_json(get("/control/last_load", bearer)), json::object());
  EXPECT_TRUE(expect_json(get("/control/status", bearer)).contains("Tables"));
  expect_error(post("/control/retry/m", "", bearer), 404);
  expect_error(post("/control/skip/m", "", bearer), 404);
  auto metrics = get("/metrics", bearer);
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  // The scheme is case-insensitive (RFC 7235), the token is not.
  expect_no_content(
      post("/control/force_load", R"({"Table":"t"})", {{"Authorization", "bearer s3cret-token"}}));
  expect_error(
      post("/control/force_load", R"({"Table":"t"})", {{"Authorization", "Bearer S3CRET-TOKEN"}}),
      401);
}

class ControlApiEmptyTokenTest : public ControlApiTest {
protected:
  void SetUp() override { start(""); }
};

TEST_F(ControlApiEmptyTokenTest, AnEmptyTokenMatchesNothing) {
  expect_error(post("/control/force_load", R"({"Table":"t"})"), 401);
  expect_error(post("/control/force_load", R"({"Table":"t"})", {{"Authorization", "Bearer "}}),
               401);
  expect_error(post("/control/force_load", R"({"Table":"t"})", {{"Authorization", "Bearer x"}}),
               401);
  EXPECT_EQ(wakes(), 0);
}

} // namespace
} // namespace rsi::control
