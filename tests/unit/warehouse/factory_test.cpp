// The warehouse a URL names, and the settings the URL decides.
#include "warehouse/factory.hpp"

#include <gtest/gtest.h>

namespace rsi::warehouse {
namespace {

const RedshiftConfig& redshift(const Result<Config>& config) {
  EXPECT_TRUE(config) << config.error().message;
  const auto* found = std::get_if<RedshiftConfig>(&config->backend);
  EXPECT_NE(found, nullptr);
  static const RedshiftConfig k_none;
  return found == nullptr ? k_none : *found;
}

TEST(WarehouseFactoryTest, RedshiftUrlsSpeakThePostgresProtocol) {
  const auto config = config_from_url(
      "redshift://loader@cluster.abc.us-west-2.redshift.amazonaws.com:5439/dev", {}, {});

  EXPECT_EQ(redshift(config).conninfo,
            "postgresql://loader@cluster.abc.us-west-2.redshift.amazonaws.com:5439/dev");
  EXPECT_TRUE(redshift(config).system_table_fallback) << "a provisioned cluster has STL/STV tables";
  EXPECT_FALSE(redshift(config).serverless);
}

TEST(WarehouseFactoryTest, ServerlessHostsHaveNoSystemTablesToAsk) {
  const auto config = config_from_url(
      "redshift://loader@wg.123456789012.us-west-2.redshift-serverless.amazonaws.com:5439/dev", {},
      {});

  EXPECT_FALSE(redshift(config).system_table_fallback);
  EXPECT_TRUE(redshift(config).serverless) << "load errors come from SYS_LOAD_ERROR_DETAIL";
}

TEST(WarehouseFactoryTest, AnExplicitSettingWinsOverTheHost) {
  const auto on =
      config_from_url("redshift://l@wg.1.us-east-1.redshift-serverless.amazonaws.com/dev", {},
                      {.system_tables = true});
  const auto off =
      config_from_url("redshift://l@proxy.internal:5439/dev", {}, {.system_tables = false});

  EXPECT_TRUE(redshift(on).system_table_fallback);
  EXPECT_FALSE(redshift(off).system_table_fallback) << "Serverless behind a proxy or a custom name";
  EXPECT_TRUE(redshift(off).serverless);
  EXPECT_TRUE(redshift(on).serverless) << "the host still says Serverless";
}

TEST(WarehouseFactoryTest, OtherSchemesAreNamedWithoutTheUrl) {
  const auto config = config_from_url("mysql://user:secret@db/x", {}, {});

  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().message.find("secret"), std::string::npos);
}

} // namespace
} // namespace rsi::warehouse
