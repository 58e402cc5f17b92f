// GET /control/rejected and POST /control/rejected/replay over HTTP: a started http::Server on
// 127.0.0.1 (port 0) with the control API over a real SQLite ingester database and a real
// storer::Replayer whose event metadata the test scripts.
#include <mutex>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "control/control_api.hpp"
#include "core/file_pointer.hpp"
#include "http/server.hpp"
#include "ingestdb/sqlite_ingest_db.hpp"
#include "integration/control/http_expect.hpp"
#include "support/fake_clock.hpp"
#include "support/forwarding_ingest_db.hpp"
#include "support/scripted_tables.hpp"
#include "support/temp_dir.hpp"
#include "telemetry/metrics.hpp"

namespace rsi::control {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// A real store whose listing and recording can be made to fail.
class FaultyRejectedStore final : public test::ForwardingIngestDb {
public:
  using ForwardingIngestDb::ForwardingIngestDb;

  Result<std::vector<ingestdb::StoredRejection>>
  list_rejected(const ingestdb::RejectedSelection& selection) override {
    if (list_error) {
      return std::unexpected(*list_error);
    }
    return m_real.list_rejected(selection);
  }
  Result<std::vector<ingestdb::RecordOutcome>>
  record_files(std::span<const core::FilePointer> files, TimePoint at) override {
    if (record_error) {
      return std::unexpected(*record_error);
    }
    return m_real.record_files(files, at);
  }

  std::optional<Error> list_error;
  std::optional<Error> record_error;
};

std::string pointer(const std::string& table, const std::string& file) {
  return core::encode_file_pointer(
      {.key_name = "spade/" + table + "/v0/" + file, .table = table, .version = 0});
}

class RejectedApiTest : public ::testing::Test {
protected:
  void SetUp() override { start(std::nullopt, true); }

  void start(std::optional<std::string> token, bool can_replay) {
    auto real = ingestdb::make_sqlite_ingest_db({.path = m_dir.path("ingester.db")});
    ASSERT_TRUE(real) << real.error().message;
    m_real = std::move(*real);
    m_store = std::make_unique<FaultyRejectedStore>(*m_real);
    m_replayer = std::make_unique<storer::Replayer>(*m_store, m_tables, m_clock, m_metrics,
                                                    storer::ReplayConfig{});
    m_server = std::make_unique<http::Server>(http::ServerOptions{.bearer_token = token});
    storer::ReplayFunction replay;
    if (can_replay) {
      replay = [this](const ingestdb::RejectedSelection& selection, const std::string& requester) {
        return m_replayer->replay(selection, requester);
      };
    }
    install(*m_server, {.store = m_store.get(),
                        .metrics = &m_metrics,
                        .clock = &m_clock,
                        .versions = [] { return ingestdb::VersionMap{}; },
                        .warehouse_ping = []() -> Result<void> { return {}; },
                        .wake_loaders =
                            [this] {
                              const std::lock_guard lock(m_mutex);
                              ++m_wakes;
                            },
                        .replay_rejected = std::move(replay)});
    ASSERT_TRUE(m_server->start("127.0.0.1", 0));
    m_client = std::make_unique<httplib::Client>("127.0.0.1", m_server->port());
    m_client->set_connection_timeout(5s);
    m_client->set_read_timeout(10s);
  }

  httplib::Result get(const std::string& path, const httplib::Headers& headers = {}) {
    return m_client->Get(path.c_str(), headers);
  }
  httplib::Result post(const std::string& path, const std::string& body,
                       const httplib::Headers& headers = {}) {
    return m_client->Post(path.c_str(), headers, body, "application/json");
  }

  // Keep `body` as rejected, as the listeners would, and return its id.
  std::int64_t reject(const std::string& body, const std::string& kind, const std::string& table) {
    auto kept = m_real->reject_message({.message_id = fmt::format("m-{}", ++m_messages),
                                        .reason = "first reason",
                                        .body = body,
                                        .received_at = m_clock.now(),
                                        .kind = kind,
                                        .table = table});
    EXPECT_TRUE(kept) << kept.error().message;
    m_clock.advance(1s);
    return m_real->rejected_messages(1).value().at(0).id;
  }

  void publish(const std::string& table) { m_tables.publish(table); }

  int wakes() {
    const std::lock_guard lock(m_mutex);
    return m_wakes;
  }

  std::size_t rejected_count() { return m_real->rejected_messages(1000).value().size(); }

  test::TempDir m_dir;
  test::FakeClock m_clock;
  telemetry::Metrics m_metrics{"ingester"};
  test::ScriptedTables m_tables;
  std::unique_ptr<ingestdb::IngestDb> m_real;
  std::unique_ptr<FaultyRejectedStore> m_store;
  std::unique_ptr<storer::Replayer> m_replayer;
  std::unique_ptr<http::Server> m_server;
  std::unique_ptr<httplib::Client> m_client;
  std::mutex m_mutex;
  int m_wakes = 0;
  int m_messages = 0;
};

using testing::expect_error;
using testing::expect_json;

// GET /control/rejected

TEST_F(RejectedApiTest, ListShowsTheMessagesNewestFirstWithKindTableAndABoundedBody) {
  const auto first = reject(pointer("clicks", "a.gz"), "unknown_table", "clicks");
  const std::string long_body(5000, 'x');
  reject(long_body, "malformed", "");

  const json listed = expect_json(get("/control/rejected"));

  ASSERT_EQ(listed["Messages"].size(), 2U) << listed.dump();
  EXPECT_EQ(listed["More"], false);
  const json& newest = listed["Messages"][0];
  EXPECT_EQ(newest["MessageId"], "m-2");
  EXPECT_EQ(newest["Kind"], "malformed");
  EXPECT_TRUE(newest["Table"].is_null());
  EXPECT_EQ(newest["Body"].get<std::string>().size(), 4096U);
  EXPECT_EQ(newest["BodyBytes"], 5000);
  const json& oldest = listed["Messages"][1];
  EXPECT_EQ(oldest["Id"], first);
  EXPECT_EQ(oldest["Kind"], "unknown_table");
  EXPECT_EQ(oldest["Table"], "clicks");
  EXPECT_EQ(oldest["Reason"], "first reason");
  EXPECT_EQ(oldest["Body"], pointer("clicks", "a.gz"));
  EXPECT_EQ(oldest["ReceivedAt"], to_iso8601(m_clock.now() - 2s));
}

TEST_F(RejectedApiTest, ListFiltersByReasonAndTableAndSaysWhenMoreMatch) {
  reject(pointer("clicks", "a.gz"), "unknown_table", "clicks");
  reject(pointer("views", "b.gz"), "unknown_table", "views");
  reject(pointer("clicks", "c.gz"), "unrecordable", "clicks");

  const json unknown = expect_json(get("/control/rejected?reason=unknown_table"));
  const json clicks = expect_json(get("/control/rejected?table=clicks&reason=unrecordable"));
  const json one = expect_json(get("/control/rejected?limit=1"));

  ASSERT_EQ(unknown["Messages"].size(), 2U);
  EXPECT_EQ(unknown["Messages"][0]["Table"], "views");
  ASSERT_EQ(clicks["Messages"].size(), 1U);
  EXPECT_EQ(clicks["Messages"][0]["MessageId"], "m-3");
  ASSERT_EQ(one["Messages"].size(), 1U);
  EXPECT_EQ(one["More"], true);
  EXPECT_EQ(expect_json(get("/control/rejected?reason=unrouted"))["Messages"], json::array());
}

TEST_F(RejectedApiTest, ListRefusesParametersItCannotUse) {
  for (const std::string query :
       {"reason=bogus", "reason=Malformed", "table=a%20b", "table=%22;DROP", "limit=0",
        "limit=1001", "limit=ten", "limit=-1", "limit=99999999999999999999999999"}) {
    expect_error(get("/control/rejected?" + query), 400);
  }
}

TEST_F(RejectedApiTest, ListAnswers503WhenTheDatabaseFailsTransiently) {
  m_store->list_error = Error{ErrorKind::transient, "database is locked"};
  EXPECT_EQ(expect_error(get("/control/rejected"), 503), "database is locked");
}

// POST /control/rejected/replay

TEST_F(RejectedApiTest, AReplayedMessageOfAPublishedTableIsRecordedLeavesAndWakesTheLoaders) {
  const auto id = reject(pointer("clicks", "a.gz"), "unknown_table", "clicks");
  reject(pointer("views", "b.gz"), "unknown_table", "views");
  publish("clicks");

  const json replayed = expect_json(
      post("/control/rejected/replay", R"({"Requester":"alice","Reason":"unknown_table"})"));

  ASSERT_EQ(replayed["Messages"].size(), 2U) << replayed.dump();
  EXPECT_EQ(replayed["Requester"], "alice");
  EXPECT_EQ(replayed["More"], false);
  EXPECT_TRUE(replayed["NextAfterId"].is_null());
  const json& recorded = replayed["Messages"][0];
  EXPECT_EQ(recorded["Id"], id);
  EXPECT_EQ(recorded["MessageId"], "m-1");
  EXPECT_EQ(recorded["Outcome"], "recorded");
  EXPECT_EQ(recorded["Files"], 1);
  EXPECT_EQ(recorded["Table"], "clicks");
  EXPECT_TRUE(recorded["Kind"].is_null());
  EXPECT_TRUE(recorded["Reason"].is_null());
  const json& still = replayed["Messages"][1];
  EXPECT_EQ(still["Outcome"], "rejected");
  EXPECT_EQ(still["Kind"], "unknown_table");
  EXPECT_EQ(still["Table"], "views");
  EXPECT_EQ(still["Reason"], "table \"views\" is not in the event metadata");
  EXPECT_EQ(wakes(), 1);
  EXPECT_EQ(m_real->pending_versions().value(), (ingestdb::VersionMap{{"clicks", 0}}));
  const json left = expect_json(get("/control/rejected"));
  ASSERT_EQ(left["Messages"].size(), 1U);
  EXPECT_EQ(left["Messages"][0]["Reason"], "table \"views\" is not in the event metadata");

  // Again: the recorded one is gone; the other is tried again and stays.
  expect_error(post("/control/rejected/replay", fmt::format(R"({{"Ids":[{}]}})", id)), 404);
  const json again = expect_json(post("/control/rejected/replay", R"({"All":true})"));
  ASSERT_EQ(again["Messages"].size(), 1U);
  EXPECT_EQ(again["Messages"][0]["Outcome"], "rejected");
  EXPECT_EQ(wakes(), 1) << "nothing recorded, no wake";
}

TEST_F(RejectedApiTest, IdsTableAndReasonAreAndedAndAfterIdSkipsOlderMessages) {
  const auto first = reject(pointer("clicks", "a.gz"), "unknown_table", "clicks");
  const auto second = reject(pointer("clicks", "b.gz"), "unknown_table", "clicks");
  const auto third = reject(pointer("views", "c.gz"), "unknown_table", "views");
  publish("clicks");
  publish("views");

  expect_error(post("/control/rejected/replay",
                    fmt::format(R"({{"Ids":[{},{}],"Table":"views"}})", first, second)),
               404);
  const json after = expect_json(
      post("/control/rejected/replay", fmt::format(R"({{"Table":"clicks","AfterId":{}}})", first)));
  ASSERT_EQ(after["Messages"].size(), 1U);
  EXPECT_EQ(after["Messages"][0]["Id"], second);
  const json by_id =
      expect_json(post("/control/rejected/replay",
                       fmt::format(R"({{"Ids":[{}],"Reason":"unknown_table"}})", third)));
  ASSERT_EQ(by_id["Messages"].size(), 1U);
  EXPECT_EQ(by_id["Messages"][0]["Id"], third);
  EXPECT_EQ(rejected_count(), 1U) << "only the first is left";
}

TEST_F(RejectedApiTest, ReplayRequestsMustNameTheMessagesAndBeWellFormed) {
  reject(pointer("clicks", "a.gz"), "unknown_table", "clicks");
  publish("clicks");
  std::string too_many_ids = R"({"Ids":[)";
  for (int id = 0; id <= 10'000; ++id) {
    too_many_ids += id == 0 ? "1" : ",1";
  }
  too_many_ids += "]}";
  const std::string long_requester =
      fmt::format(R"({{"All":true,"Requester":"{}"}})", std::string(257, 'r'));
  for (const std::string& body : std::vector<std::string>{
           "", "{}", "[1]", "{", R"({"Ids":[]})", R"({"Ids":"1"})", R"({"Ids":[1.5]})",
           R"({"Table":7})", R"({"Table":"a b"})", R"({"Reason":"bogus"})", R"({"Reason":7})",
           R"({"All":"yes"})", R"({"All":true,"AfterId":-1})", R"({"All":true,"AfterId":"1"})",
           R"({"Requester":["x"],"All":true})", long_requester, too_many_ids}) {
    expect_error(post("/control/rejected/replay", body), 400);
  }
  expect_error(post("/control/rejected/replay", R"({"Ids":[987654]})"), 404);
  expect_error(post("/control/rejected/replay", R"({"Reason":"unrouted"})"), 404);
  expect_error(post("/control/rejected/replay", R"({"Table":"views"})"), 404);
  EXPECT_EQ(rejected_count(), 1U) << "nothing changed";
  EXPECT_EQ(expect_json(post("/control/rejected/replay",
                             R"({"table":"clicks"})"))["Messages"][0]["Outcome"],
            "recorded")
      << "string fields match case-insensitively, as Go's decoding did";
}

TEST_F(RejectedApiTest, AReplayAnswers503WhenTheDatabaseFailsAndChangesNothing) {
  reject(pointer("clicks", "a.gz"), "unknown_table", "clicks");
  publish("clicks");

  m_store->record_error = Error{ErrorKind::transient, "connection refused"};
  EXPECT_NE(expect_error(post("/control/rejected/replay", R"({"All":true})"), 503)
                .find("connection refused"),
            std::string::npos);
  m_store->record_error.reset();
  m_store->list_error = Error{ErrorKind::permanent, "no such column: kind"};
  expect_error(post("/control/rejected/replay", R"({"All":true})"), 500);

  EXPECT_EQ(rejected_count(), 1U);
  EXPECT_EQ(wakes(), 0);
}

class RejectedApiWithoutIntakeRulesTest : public RejectedApiTest {
protected:
  void SetUp() override { start(std::nullopt, false); }
};

TEST_F(RejectedApiWithoutIntakeRulesTest, AReplayAnswers501NamingWhatWouldDoItButListsWork) {
  reject(pointer("clicks", "a.gz"), "unknown_table", "clicks");

  const std::string message =
      expect_error(post("/control/rejected/replay", R"({"All":true})"), 501);

  EXPECT_NE(message.find("--event-metadata-url"), std::string::npos) << message;
  EXPECT_NE(message.find("rs_ingester rejected replay"), std::string::npos) << message;
  expect_error(post("/control/rejected/replay", R"({"Ids":"x"})"), 400);
  EXPECT_EQ(expect_json(get("/control/rejected"))["Messages"].size(), 1U);
  EXPECT_EQ(rejected_count(), 1U);
}

class RejectedApiTokenTest : public RejectedApiTest {
protected:
  void SetUp() override { start("s3cret", true); }
};

TEST_F(RejectedApiTokenTest, BothEndpointsNeedTheToken) {
  reject(pointer("clicks", "a.gz"), "unknown_table", "clicks");
  publish("clicks");

  expect_error(get("/control/rejected"), 401);
  expect_error(get("/control/rejected", {{"Authorization", "Bearer wrong"}}), 401);
  expect_error(post("/control/rejected/replay", R"({"All":true})"), 401);
  EXPECT_EQ(rejected_count(), 1U);

  const httplib::Headers bearer{{"Authorization", "Bearer s3cret"}};
  EXPECT_EQ(expect_json(get("/control/rejected", bearer))["Messages"].size(), 1U);
  EXPECT_EQ(expect_json(post("/control/rejected/replay", R"({"All":true})",
                             bearer))["Messages"][0]["Outcome"],
            "recorded");
}

} // namespace
} // namespace rsi::control
