// The local registry over a temporary schema directory, and the registry URL factory.

#include "registry/local_registry.hpp"

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "registry/blueprint_registry.hpp"
#include "registry/factory.hpp"
#include "support/temp_dir.hpp"

namespace rsi::registry {
namespace {

constexpr auto k_minute_watched_v0 =
    R"js({"Columns":[{"OutboundName":"time","Transformer":"f@timestamp@unix"},
                                     {"OutboundName":"channel","Transformer":"varchar","ColumnCreationOptions":"(25)"}]})js";
constexpr auto k_v1 = R"js({"Columns":[{"OutboundName":"time","Transformer":"f@timestamp@unix"},
                                     {"OutboundName":"channel_name","Transformer":"varchar","ColumnCreationOptions":"(25)"},
                                     {"OutboundName":"viewers","Transformer":"int"}],
                         "Renames":{"channel":"channel_name"}})js";

class LocalRegistryTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto registry = make_local_registry({.root = m_dir.path()});
    ASSERT_TRUE(registry) << registry.error().message;
    m_registry = std::move(*registry);
  }

  std::filesystem::path write(const std::string& table, const std::string& file,
                              const std::string& text) {
    std::filesystem::create_directories(m_dir.path(table));
    const auto path = m_dir.path(table + "/" + file);
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  test::TempDir m_dir;
  std::unique_ptr<SchemaRegistry> m_registry;
};

TEST_F(LocalRegistryTest, DerivesEachVersionFromItsPredecessor) {
  write("minute_watched", "v0.json", k_minute_watched_v0);
  write("minute_watched", "v1.json", k_v1);

  const auto create = m_registry->migration("minute_watched", 0);
  const auto alter = m_registry->migration("minute_watched", 1);

  ASSERT_TRUE(create) << create.error().message;
  ASSERT_TRUE(alter) << alter.error().message;
  EXPECT_EQ(create->size(), 2U);
  ASSERT_EQ(alter->size(), 2U);
  EXPECT_EQ((*alter)[0].action, core::Action::add);
  EXPECT_EQ((*alter)[0].name, "viewers");
  EXPECT_EQ((*alter)[1].action, core::Action::rename);
  EXPECT_EQ((*alter)[1].new_outbound, "channel_name");
}

TEST_F(LocalRegistryTest, AMissingVersionIsNoMigration) {
  write("minute_watched", "v0.json", k_minute_watched_v0);

  const auto missing = m_registry->migration("minute_watched", 1);
  const auto unknown = m_registry->migration("nosuch", 0);

  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::permanent);
  EXPECT_NE(missing.error().message.find("No migration for table 'minute_watched' to v1 (no file "),
            std::string::npos)
      << missing.error().message;
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("No migration for table 'nosuch' to v0"),
            std::string::npos);
}

TEST_F(LocalRegistryTest, AGapInTheVersionsNamesTheMissingFile) {
  write("minute_watched", "v0.json", k_minute_watched_v0);
  write("minute_watched", "v2.json", k_v1);

  const auto skipped = m_registry->migration("minute_watched", 2);

  ASSERT_FALSE(skipped);
  EXPECT_NE(skipped.error().message.find("v1.json: versions are numbered from v0 without gaps"),
            std::string::npos)
      << skipped.error().message;
}

TEST_F(LocalRegistryTest, AnInvalidFileIsNamedWithItsField) {
  write("minute_watched", "v0.json", k_minute_watched_v0);
  const auto path =
      write("minute_watched", "v1.json", R"js({"Columns":[{"OutboundName":"time"}]})js");

  const auto broken = m_registry->migration("minute_watched", 1);

  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().kind, ErrorKind::permanent);
  EXPECT_EQ(broken.error().message,
            "read schema " + path.string() + ": column 0: field \"Transformer\": missing");
}

TEST_F(LocalRegistryTest, ABadRenameNamesTheFileOfTheNewVersion) {
  write("t", "v0.json", k_minute_watched_v0);
  const auto path = write("t", "v1.json",
                          R"js({"Columns":[{"OutboundName":"time","Transformer":"f@timestamp@unix"},
      {"OutboundName":"channel","Transformer":"varchar","ColumnCreationOptions":"(25)"}],"Renames":{"x":"y"}})js");

  const auto broken = m_registry->migration("t", 1);

  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().message.rfind(
                "read schema " + path.string() + ": field \"Renames\": \"x\" to \"y\"", 0),
            0U)
      << broken.error().message;
}

TEST_F(LocalRegistryTest, SchemasOfDroppedOrMissingVersionsAreAbsent) {
  write("t", "v0.json", k_minute_watched_v0);
  write("t", "v1.json", R"js({"Dropped":true,"Reason":"gone"})js");

  const auto v0 = m_registry->schema("t", 0);
  const auto dropped = m_registry->schema("t", 1);
  const auto missing = m_registry->schema("t", 2);
  const auto unknown = m_registry->schema("nosuch", 0);

  ASSERT_TRUE(v0 && dropped && missing && unknown);
  ASSERT_TRUE(v0->has_value());
  EXPECT_EQ((*v0)->event_name, "t");
  EXPECT_EQ((*v0)->columns.size(), 2U);
  EXPECT_FALSE(dropped->has_value());
  EXPECT_FALSE(missing->has_value());
  EXPECT_FALSE(unknown->has_value());
}

TEST_F(LocalRegistryTest, TableNamesThatAreNoPathComponentAreRejected) {
  const auto escaped = m_registry->migration("../etc", 0);
  const auto negative = m_registry->schema("t", -1);

  ASSERT_FALSE(escaped);
  EXPECT_EQ(escaped.error().kind, ErrorKind::permanent);
  ASSERT_FALSE(negative);
}

TEST(LocalRegistryFactoryTest, TheRootMustBeADirectory) {
  test::TempDir dir;

  const auto missing = make_local_registry({.root = dir.path("nope")});

  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("not a directory"), std::string::npos);
}

TEST(RegistryFactoryTest, UrlsSelectTheBackend) {
  const auto local = config_from_url("file:///srv/schemas");
  const auto bare_host = config_from_url("blueprint.internal:8080");
  const auto http = config_from_url("https://blueprint.example.com/api/");

  ASSERT_TRUE(local && bare_host && http);
  EXPECT_EQ(std::get<LocalConfig>(local->backend).root, "/srv/schemas");
  EXPECT_EQ(std::get<BlueprintConfig>(bare_host->backend).host, "blueprint.internal:8080");
  EXPECT_EQ(std::get<BlueprintConfig>(http->backend).host, "https://blueprint.example.com/api/");
  EXPECT_FALSE(config_from_url("file://relative/dir"));
  EXPECT_FALSE(config_from_url("s3://bucket/schemas"));
  EXPECT_FALSE(config_from_url(""));
}

TEST(BlueprintBaseUrlTest, AcceptsTheOriginalsHostFlagAndUrls) {
  EXPECT_EQ(blueprint_base_url("localhost:8080").value(), "http://localhost:8080");
  EXPECT_EQ(blueprint_base_url("http://bp:80/").value(), "http://bp:80");
  EXPECT_EQ(blueprint_base_url("https://bp.example.com/prefix").value(),
            "https://bp.example.com/prefix");
  EXPECT_FALSE(blueprint_base_url(""));
  EXPECT_FALSE(blueprint_base_url("ftp://bp"));
  EXPECT_FALSE(blueprint_base_url("http://bp/?x=1"));
}

} // namespace
} // namespace rsi::registry
