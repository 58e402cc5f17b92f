#include "core/route.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace rsi::core {
namespace {

Route parsed_route(std::string_view spec) {
  auto route = Route::parse(spec);
  EXPECT_TRUE(route) << spec << ": " << route.error().message;
  return route ? *route : Route{};
}

std::optional<Route::Match> route_match(std::string_view spec, std::string_view key,
                                        std::string_view bucket = "events") {
  return parsed_route(spec).match(bucket, key);
}

TEST(RouteTest, TableAndVersionComeFromTheKey) {
  EXPECT_EQ(route_match("logs/{table}/v{version}/**", "logs/clicks/v3/2026/12/07/part-0001.tsv.gz"),
            (Route::Match{"clicks", 3}));
  EXPECT_EQ(route_match("logs/{table}/v{version}/**", "logs/page-views_2/v0/a.gz"),
            (Route::Match{"page-views_2", 0}));
}

TEST(RouteTest, WithoutAVersionTheRegistrysCurrentOneIsAsked) {
  const Route route = parsed_route("exports/{table}/**");

  EXPECT_TRUE(route.takes_current_version());
  EXPECT_EQ(route.match("events", "exports/orders/2026/file.gz"),
            (Route::Match{"orders", std::nullopt}));
  EXPECT_FALSE(parsed_route("exports/{table}/** version=current").match("b", "x").has_value());
  EXPECT_TRUE(parsed_route("exports/{table}/** version=current").takes_current_version());
}

TEST(RouteTest, AFixedTableOrVersionIsTakenAsGiven) {
  EXPECT_EQ(route_match("exports/{table}/** version=7", "exports/orders/f.gz"),
            (Route::Match{"orders", 7}));
  EXPECT_EQ(route_match("drop/*.tsv.gz table=clicks", "drop/batch 1.tsv.gz"),
            (Route::Match{"clicks", std::nullopt}));
  EXPECT_FALSE(parsed_route("exports/{table}/** version=7").takes_current_version());
}

TEST(RouteTest, StarsStayWithinASegmentAndGlobstarsCrossThem) {
  EXPECT_TRUE(route_match("a/*/{table}/**", "a/x/t/f"));
  EXPECT_FALSE(route_match("a/*/{table}/f", "a/x/y/t/f"));
  EXPECT_TRUE(route_match("a/**/{table}/f", "a/t/f"));
  EXPECT_TRUE(route_match("a/**/{table}/f", "a/x/y/z/t/f"));
  EXPECT_FALSE(route_match("a/**/{table}/f", "a/x/y/z/t/g"));
  // A trailing ** needs something below: the prefix itself is no file.
  EXPECT_FALSE(route_match("exports/{table}/**", "exports/orders"));
  EXPECT_TRUE(route_match("{table}.tsv.gz", "clicks.tsv.gz"));
  EXPECT_FALSE(route_match("{table}.tsv.gz", "dir/clicks.tsv.gz"));
}

TEST(RouteTest, ABucketSettingLimitsTheRuleToThatBucket) {
  const Route route = parsed_route("{table}/** bucket=partner-drop version=1");

  EXPECT_TRUE(route.match("partner-drop", "clicks/f.gz"));
  EXPECT_FALSE(route.match("other-bucket", "clicks/f.gz"));
}

TEST(RouteTest, TextThatIsNoTableOrVersionDoesNotMatch) {
  // A table name starts with a letter or '_'.
  EXPECT_FALSE(route_match("logs/{table}/**", "logs/9lives/f.gz"));
  EXPECT_FALSE(route_match("logs/{table}/**", "logs/sp ace/f.gz"));
  EXPECT_FALSE(route_match("logs/{table}/**", "logs/caf\xc3\xa9/f.gz"));
  // Above k_max_table_version, or more digits than it has.
  EXPECT_FALSE(route_match("{table}/v{version}/**", "t/v100001/f"));
  EXPECT_FALSE(route_match("{table}/v{version}/**", "t/v0000001/f"));
  EXPECT_TRUE(route_match("{table}/v{version}/**", "t/v100000/f"));
}

TEST(RouteTest, TheFirstMatchingRuleWins) {
  auto routes = parse_routes(
      std::vector<std::string>{"special/** table=vip version=2", "{table}/v{version}/**"});
  ASSERT_TRUE(routes) << routes.error().message;

  EXPECT_EQ(route_key(*routes, "b", "special/v9/f"), (Route::Match{"vip", 2}));
  EXPECT_EQ(route_key(*routes, "b", "clicks/v9/f"), (Route::Match{"clicks", 9}));
  EXPECT_FALSE(route_key(*routes, "b", "nothing-here"));
}

TEST(RouteTest, TheTextIsKeptForLogsAndStatus) {
  EXPECT_EQ(parsed_route("  logs/{table}/**   version=2 ").text(), "logs/{table}/** version=2");
}

struct BadRoute {
  std::string spec;
  std::string says;
};

class RouteRefusalTest : public ::testing::TestWithParam<BadRoute> {};

TEST_P(RouteRefusalTest, SaysWhatIsWrong) {
  const auto route = Route::parse(GetParam().spec);

  ASSERT_FALSE(route);
  EXPECT_EQ(route.error().kind, ErrorKind::permanent);
  EXPECT_NE(route.error().message.find(GetParam().says), std::string::npos)
      << route.error().message;
  EXPECT_NE(route.error().message.find("route "), std::string::npos) << route.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Specs, RouteRefusalTest,
    ::testing::Values(BadRoute{"", "empty route"}, BadRoute{"   ", "empty route"},
                      BadRoute{"logs/{tabel}/**", "unknown placeholder \"{tabel}\""},
                      BadRoute{"logs/{table", "unknown placeholder"},
                      BadRoute{"logs/**x/{table}", "\"**\" must be a whole segment"},
                      BadRoute{"logs//{table}/**", "empty segment at byte 5"},
                      BadRoute{"logs/{table}/", "ends with '/'"},
                      BadRoute{"/logs/{table}/**", "empty segment at byte 0"},
                      BadRoute{"logs/**", "no table"},
                      BadRoute{"{table}/{table}/**", "placeholder appears twice"},
                      BadRoute{"{table}/** table=x", "both {table} and table="},
                      BadRoute{"{table}/v{version}/** version=2", "both {version} and version="},
                      BadRoute{"{table}/** version=-1", "version=-1"},
                      BadRoute{"{table}/** version=100001", "from 0 to 100000"},
                      BadRoute{"** table=9x", "table="},
                      BadRoute{"{table}/** bucket=a/b", "bucket="},
                      BadRoute{"{table}/** colour=red", "unknown setting \"colour=red\""}));

TEST(RouteTest, AHostileKeyCostsBoundedTime) {
  // Every star and globstar could try every position: without the memory of failed states this
  // key would take longer than the universe has existed; with it, tokens × positions² at most.
  const Route route = parsed_route("*a*a*a*a*a*a*a*a/**/{table}/**/*b*b*b*b*b*b*b*b");
  const std::string key = std::string(400, 'a') + "/" + std::string(23, 'a');
  const auto started = std::chrono::steady_clock::now();

  EXPECT_FALSE(route.match("b", key));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

} // namespace
} // namespace rsi::core
