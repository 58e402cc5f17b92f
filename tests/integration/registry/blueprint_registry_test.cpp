// The Blueprint registry against a fake Blueprint replaying responses recorded from a real one
// (../shared/spec/blueprint), and against servers that fail in the ways a network does.

#include "registry/blueprint_registry.hpp"

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/gzip.hpp"
#include "core/operation.hpp"
#include "core/schema.hpp"
#include "support/fake_blueprint.hpp"
#include "support/testdata.hpp"

namespace rsi::registry {
namespace {

using namespace std::chrono_literals;

std::string recorded_body(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  const std::string raw = contents.str();
  return raw.substr(raw.find("\r\n\r\n") + 4);
}

BlueprintConfig fast_config(std::string host) {
  return {.host = std::move(host),
          .connect_timeout = 1s,
          .timeout = 2s,
          .retry = {.initial_delay = 1ms, .max_delay = 5ms, .multiplier = 2.0, .max_attempts = 3}};
}

class BlueprintRegistryTest : public ::testing::Test {
protected:
  void SetUp() override {
    RSI_REQUIRE_TESTDATA(recordings, test::spec_file("blueprint"));
    m_recordings = recordings;
    ASSERT_GE(m_blueprint.load_recordings(recordings), 10U);
    // The original's -blueprint_host form: host:port without a scheme.
    auto registry =
        make_blueprint_registry(fast_config(fmt::format("127.0.0.1:{}", m_blueprint.port())));
    ASSERT_TRUE(registry) << registry.error().message;
    m_registry = std::move(*registry);
  }

  std::filesystem::path m_recordings;
  test::FakeBlueprint m_blueprint;
  std::unique_ptr<SchemaRegistry> m_registry;
};

TEST_F(BlueprintRegistryTest, RecordedMigrationsArriveGzippedAndDecoded) {
  const auto v0 = m_registry->migration("minute_watched", 0);
  const auto v1 = m_registry->migration("minute_watched", 1);

  ASSERT_TRUE(v0) << v0.error().message;
  ASSERT_TRUE(v1) << v1.error().message;
  EXPECT_EQ(core::encode_migration(*v0),
            recorded_body(m_recordings / "migration_minute_watched_to_version_0.http"));
  EXPECT_EQ(core::encode_migration(*v1),
            recorded_body(m_recordings / "migration_minute_watched_to_version_1.http"));
  EXPECT_EQ(m_blueprint.gzip_requests(), 2);
  EXPECT_EQ(m_blueprint.requests(),
            (std::vector<std::string>{"/migration/minute_watched?to_version=0",
                                      "/migration/minute_watched?to_version=1"}));
}

TEST_F(BlueprintRegistryTest, BlueprintsErrorBodiesArePermanentWithTheirMessage) {
  const auto beyond = m_registry->migration("minute_watched", 2);
  const auto unknown = m_registry->migration("nosuch", 0);

  ASSERT_FALSE(beyond);
  EXPECT_EQ(beyond.error().kind, ErrorKind::permanent);
  EXPECT_EQ(beyond.error().message, "fetch migration minute_watched v2: blueprint: No migration "
                                    "for table 'minute_watched' to v2.");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message,
            "fetch migration nosuch v0: blueprint: No migration for table 'nosuch' to v0.");
}

TEST_F(BlueprintRegistryTest, DropEventComesThrough) {
  const auto dropped = m_registry->migration("video_play", 1);

  ASSERT_TRUE(dropped) << dropped.error().message;
  ASSERT_EQ(dropped->size(), 1U);
  EXPECT_EQ((*dropped)[0].action, core::Action::drop_event);
  EXPECT_EQ((*dropped)[0].reason, "testing drop");
}

TEST_F(BlueprintRegistryTest, SchemasAndThe404OfADroppedVersion) {
  const auto v0 = m_registry->schema("minute_watched", 0);
  const auto dropped = m_registry->schema("video_play", 1);
  const auto unknown = m_registry->schema("nosuch", 0);

  ASSERT_TRUE(v0) << v0.error().message;
  ASSERT_TRUE(v0->has_value());
  EXPECT_EQ(**v0,
            core::parse_schema(recorded_body(m_recordings / "schema_minute_watched_version_0.http"))
                .value());
  ASSERT_TRUE(dropped) << dropped.error().message;
  EXPECT_FALSE(dropped->has_value());
  ASSERT_TRUE(unknown) << unknown.error().message;
  EXPECT_FALSE(unknown->has_value());
}

TEST_F(BlueprintRegistryTest, ScriptedAnswersOverrideRecordings) {
  m_blueprint.set_migration("minute_watched", 2, {test::add_step("city", "ipCity", "", 2, 0)});

  const auto v2 = m_registry->migration("minute_watched", 2);

  ASSERT_TRUE(v2) << v2.error().message;
  ASSERT_EQ(v2->size(), 1U);
  EXPECT_EQ((*v2)[0].column_type, "ipCity");
}

TEST_F(BlueprintRegistryTest, AnUnavailableBlueprintIsTransientAfterRetries) {
  m_blueprint.set_down(true);

  const auto migration = m_registry->migration("minute_watched", 0);
  const auto schema = m_registry->schema("minute_watched", 0);

  ASSERT_FALSE(migration);
  EXPECT_EQ(migration.error().kind, ErrorKind::transient);
  EXPECT_NE(migration.error().message.find("HTTP 503: unavailable"), std::string::npos)
      << migration.error().message;
  ASSERT_FALSE(schema);
  EXPECT_EQ(schema.error().kind, ErrorKind::transient);
  EXPECT_EQ(m_blueprint.requests().size(), 6U); // Three attempts each.
}

TEST_F(BlueprintRegistryTest, AStepOfAnotherVersionIsRefused) {
  m_blueprint.set_migration("t", 3, {test::add_step("x", "int", "", 2, 0)});

  const auto wrong = m_registry->migration("t", 3);

  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().kind, ErrorKind::permanent);
  EXPECT_EQ(wrong.error().message,
            "fetch migration t v3: blueprint sent a step of version 2 (add x)");
}

TEST_F(BlueprintRegistryTest, AnUndecodableAnswerIsPermanent) {
  m_blueprint.set_response("/migration/t?to_version=0", {.body = R"([{"Action":"frobnicate"}])"});

  const auto broken = m_registry->migration("t", 0);

  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().kind, ErrorKind::permanent);
  EXPECT_EQ(broken.error().message.rfind("fetch migration t v0: parse migration: operation 0", 0),
            0U)
      << broken.error().message;
}

TEST_F(BlueprintRegistryTest, InvalidTableNamesNeverReachTheServer) {
  const auto escaped = m_registry->migration("../admin", 0);

  ASSERT_FALSE(escaped);
  EXPECT_EQ(escaped.error().kind, ErrorKind::permanent);
  EXPECT_TRUE(m_blueprint.requests().empty());
}

TEST(BlueprintRegistryNetworkTest, GzipBodiesAreInflated) {
  test::LocalServer server;
  server.server().Get(R"(/schema/([^/]+))", [](const httplib::Request& request,
                                               httplib::Response& response) {
    const core::TableSchema schema{
        .event_name = "t",
        .columns = {{.inbound_name = "a", .outbound_name = "a", .transformer = "int"}}};
    EXPECT_EQ(request.get_header_value("Accept-Encoding"), "gzip");
    // Compressed by hand, under a type cpp-httplib would not compress again.
    response.set_header("Content-Encoding", "gzip");
    response.set_content(gzip(core::encode_schema(schema)).value(), "application/x-gzipped-json");
  });
  server.start();
  auto registry = make_blueprint_registry(fast_config(server.url()));
  ASSERT_TRUE(registry) << registry.error().message;

  const auto schema = (*registry)->schema("t", 0);

  ASSERT_TRUE(schema) << schema.error().message;
  ASSERT_TRUE(schema->has_value());
  EXPECT_EQ((*schema)->columns.at(0).transformer, "int");
}

TEST(BlueprintRegistryNetworkTest, ARefusedConnectionIsTransient) {
  int port = 0;
  {
    test::FakeBlueprint closed; // Bind a free port, then let it go.
    port = closed.port();
  }
  auto registry = make_blueprint_registry(fast_config(fmt::format("http://127.0.0.1:{}", port)));
  ASSERT_TRUE(registry) << registry.error().message;

  const auto migration = (*registry)->migration("t", 0);

  ASSERT_FALSE(migration);
  EXPECT_EQ(migration.error().kind, ErrorKind::transient);
}

TEST(BlueprintRegistryNetworkTest, ASlowServerTimesOut) {
  test::LocalServer slow;
  slow.server().Get(
      R"(/migration/([^/]+))", [](const httplib::Request&, httplib::Response& response) {
        std::this_thread::sleep_for(800ms); // Longer than the client's whole-request timeout.
        response.set_content("[]", "application/json");
      });
  slow.start();
  BlueprintConfig config = fast_config(slow.url());
  config.timeout = 150ms;
  config.retry.max_attempts = 1;
  auto registry = make_blueprint_registry(config);
  ASSERT_TRUE(registry) << registry.error().message;
  const auto started = std::chrono::steady_clock::now();

  const auto migration = (*registry)->migration("t", 0);

  ASSERT_FALSE(migration);
  EXPECT_EQ(migration.error().kind, ErrorKind::transient);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 700ms);
}

} // namespace
} // namespace rsi::registry
