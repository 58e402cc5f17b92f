// Compatibility with the original rs_ingester: its control API as Blueprint and operators' scripts
// call it, rebuilt from its handlers (control/control_handlers.go, control/control_backend.go):
// the request bodies it decoded (Go's encoding/json: keys matched without case, unknown keys
// ignored), its answers and status codes. Where this project answers differently on purpose, the
// test says so and docs/migrating.md lists it.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "control/control_api.hpp"
#include "ingestdb/sqlite_ingest_db.hpp"
#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"

namespace rsi {
namespace {

using nlohmann::json;

class ControlCompat : public ::testing::Test {
protected:
  void SetUp() override {
    m_store = ingestdb::make_sqlite_ingest_db({.path = m_dir.path("ingester.db")}).value();
    control::install(m_server, {.store = m_store.get(),
                                .metrics = &m_metrics,
                                .clock = &m_clock,
                                .increment_version = [this](std::string_view table) -> Result<int> {
                                  m_versions[std::string(table)] += 1;
                                  return m_versions[std::string(table)];
                                },
                                .versions = [this] { return m_versions; },
                                .warehouse_ping = []() -> Result<void> { return {}; },
                                .wake_loaders = [] {}});
    ASSERT_TRUE(m_server.start("127.0.0.1", 0));
    m_client.emplace("127.0.0.1", m_server.port());
  }

  httplib::Result post(const std::string& path, const std::string& body) {
    return m_client->Post(path, body, "application/json");
  }

  test::TempDir m_dir;
  test::FakeClock m_clock;
  telemetry::Metrics m_metrics{"ingester"};
  ingestdb::VersionMap m_versions{{"minute_watched", 3}};
  std::unique_ptr<ingestdb::IngestDb> m_store;
  http::Server m_server;
  std::optional<httplib::Client> m_client;
};

TEST_F(ControlCompat, ForceLoadDecodesTheBodyAsGoDidAndAnswers204) {
  for (const std::string body :
       {R"({"Table":"minute_watched","Requester":"blueprint"})",
        R"({"table":"minute_watched","requester":"blueprint","extra":[1]})",
        R"({"TABLE":"minute_watched","Requester":null})"}) {
    auto answer = post("/control/force_load", body);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 204) << body << ": " << answer->body;
    EXPECT_TRUE(answer->body.empty());
  }
  EXPECT_TRUE(m_store->force_load_requested("minute_watched").value());
}

TEST_F(ControlCompat, ForceLoadErrorsAreTheOriginalsMessages) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"", "Problem decoding JSON POST data."},
      {"[]", "Problem decoding JSON POST data."},
      {R"({"Table":5})", "Problem decoding JSON POST data."},
      {R"({"Table":""})", "Table name empty."},
      {R"({"Requester":"someone"})", "Table name empty."}};
  for (const auto& [body, message] : cases) {
    auto answer = post("/control/force_load", body);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 400) << body;
    EXPECT_EQ(json::parse(answer->body, nullptr, false), (json{{"Error", message}})) << body;
  }
}

TEST_F(ControlCompat, TableExistsAndLastLoadAnswerTheOriginalsShapes) {
  auto exists = m_client->Get("/control/table_exists/minute_watched");
  auto missing = m_client->Get("/control/table_exists/never_seen");
  ASSERT_TRUE(exists && missing);
  EXPECT_EQ(json::parse(exists->body), (json{{"Exists", true}}));
  EXPECT_EQ(json::parse(missing->body), (json{{"Exists", false}}));

  const auto claimed_at = m_clock.now();
  ASSERT_TRUE(m_store->record_file({.key_name = "b/k.gz", .table = "minute_watched", .version = 3},
                                   claimed_at));
  auto batch = m_store->claim_batch({{"minute_watched", 3}},
                                    {.count_trigger = 0, .age_trigger = std::chrono::seconds(0)},
                                    claimed_at + std::chrono::seconds(1));
  ASSERT_TRUE(batch && batch->batch);
  ASSERT_TRUE(
      m_store->complete_batch(batch->batch->manifest, claimed_at + std::chrono::seconds(2)));
  auto last_load = m_client->Get("/control/last_load");
  ASSERT_TRUE(last_load);
  EXPECT_EQ(last_load->status, 200);
  const json loads = json::parse(last_load->body);
  ASSERT_TRUE(loads["minute_watched"].is_number_integer())
      << last_load->body << ": whole Unix seconds";
  EXPECT_EQ(loads["minute_watched"].get<std::int64_t>(),
            to_epoch_micros(claimed_at) / 1'000'000 + 2);
}

TEST_F(ControlCompat, IncrementVersionAnswers204) {
  auto answer = post("/control/increment_version/retired_event", "");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 204) << answer->body;
  EXPECT_EQ(m_versions.at("retired_event"), 1);
}

TEST_F(ControlCompat, HealthAnswers200WhileTheDatabasesAnswer) {
  // The original always answered 200 with an empty body; this project answers 200 with the
  // dependencies' state, and 503 when one is down (docs/migrating.md).
  auto health = m_client->Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

} // namespace
} // namespace rsi
