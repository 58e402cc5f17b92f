#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/uuid.hpp"
#include "telemetry/rollbar.hpp"

namespace rsi::telemetry {
namespace {

using json = nlohmann::json;

json item(std::string_view msg, const json& fields) {
  const log::Record record{
      .level = log::Level::error,
      .msg = msg,
      .fields = fields,
      .caller = "loader.cpp:199",
      .time = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'123))};
  return json::parse(rollbar_item_data(record, "production", "ingest-7"));
}

TEST(RollbarItemTest, AnErrorLineIsAMessageItemWithItsFieldsBesideTheBody) {
  const json data = item("batch load failed", {{"table", "minute-watched"}, {"attempt", 3}});

  EXPECT_EQ(data["environment"], "production");
  EXPECT_EQ(data["level"], "error");
  EXPECT_EQ(data["timestamp"], 1'700'000'123);
  EXPECT_EQ(data["platform"], "linux");
  EXPECT_EQ(data["language"], "c++");
  EXPECT_EQ(data["server"]["host"], "ingest-7");
  EXPECT_EQ(data["notifier"]["name"], "rs_ingester");
  EXPECT_TRUE(is_uuid(data["uuid"].get<std::string>()));
  const json& message = data["body"]["message"];
  EXPECT_EQ(message["body"], "batch load failed");
  EXPECT_EQ(message["table"], "minute-watched");
  EXPECT_EQ(message["attempt"], 3);
  EXPECT_EQ(message["caller"], "loader.cpp:199");
  EXPECT_EQ(data["body"].size(), 1U) << "exactly one of trace, message, …";
  EXPECT_FALSE(data.contains("access_token")) << "the token is added only when sending";
}

TEST(RollbarItemTest, AFieldNamedBodyDoesNotReplaceTheMessage) {
  const json data = item("request failed", {{"body", "<html>"}});

  EXPECT_EQ(data["body"]["message"]["body"], "request failed");
  EXPECT_EQ(data["body"]["message"]["field_body"], "<html>");
}

TEST(RollbarItemTest, LongMessagesAndFieldsAreCutToTheItemLimit) {
  const std::string huge(200'000, 'x');
  const std::string accented = std::string(10'000, 'a') + "\xc3\xa9" + std::string(10'000, 'b');

  const std::string long_message = rollbar_item_data(
      {.msg = huge, .fields = json::object(), .caller = "x.cpp:1", .time = {}}, "e", "h");
  json fields = json::object();
  for (int index = 0; index < 200; ++index) {
    fields[std::to_string(index)] = std::string(400, 'f');
  }
  const std::string many_fields =
      rollbar_item_data({.msg = "m", .fields = fields, .caller = "x.cpp:1", .time = {}}, "e", "h");
  const json cut_field =
      item("m", {{"value", accented}, {"nested", {{"list", json::array({huge})}}}});

  EXPECT_LE(long_message.size(), k_rollbar_max_item_bytes);
  EXPECT_TRUE(
      json::parse(long_message)["body"]["message"]["body"].get<std::string>().starts_with("xxxx"));
  EXPECT_LE(many_fields.size(), k_rollbar_max_item_bytes);
  EXPECT_EQ(json::parse(many_fields)["body"]["message"]["body"], "m");
  EXPECT_TRUE(json::parse(many_fields)["body"]["message"]["fields_cut"].get<bool>());
  EXPECT_LE(cut_field.dump().size(), k_rollbar_max_item_bytes);
  EXPECT_TRUE(cut_field["body"]["message"]["value"].get<std::string>().starts_with("aaaa"));
  EXPECT_TRUE(cut_field["body"]["message"]["nested"].is_string())
      << "a large non-string field becomes its cut JSON text";
}

TEST(RollbarItemTest, InvalidUtf8IsReplacedNotThrown) {
  const std::string data = rollbar_item_data(
      {.msg = "bad \xff bytes", .fields = json{{"v", "\xfe"}}, .caller = "x.cpp:1", .time = {}},
      "e", "h");

  EXPECT_TRUE(json::accept(data));
}

} // namespace
} // namespace rsi::telemetry
