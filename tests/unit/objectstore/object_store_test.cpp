#include "objectstore/object_store.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "objectstore/factory.hpp"

namespace rsi::objectstore {
namespace {

TEST(ValidateKeyTest, AcceptsOrdinaryKeys) {
  for (const auto* key :
       {"a", "2016/07/29/t/v0/file.log.gz", "dir/a b+c%d", ".hidden", "a/..b", "a/.b/c"}) {
    EXPECT_TRUE(validate_key(key)) << key;
  }
}

TEST(ValidateKeyTest, RejectsPathTricksWithAPermanentErrorNamingTheKey) {
  const std::vector<std::string> keys = {"",     "/a",     "a//b", "a/",  "..",
                                         "../a", "a/../b", "./a",  "a/.", std::string("a\0b", 3)};
  for (const auto& key : keys) {
    auto valid = validate_key(key);

    ASSERT_FALSE(valid) << key;
    EXPECT_EQ(valid.error().kind, ErrorKind::permanent);
    EXPECT_NE(valid.error().message.find("object key"), std::string::npos);
  }
  EXPECT_FALSE(validate_key(std::string(1025, 'k')));
}

TEST(FactoryTest, S3UrlGivesBucketPrefixAndEnvironment) {
  auto config = config_from_url("s3://my-bucket/logs/2016/", {{"AWS_REGION", "eu-west-1"}});

  ASSERT_TRUE(config) << config.error().message;
  const auto* s3 = std::get_if<S3Config>(&config->backend);
  ASSERT_NE(s3, nullptr);
  EXPECT_EQ(s3->bucket, "my-bucket");
  EXPECT_EQ(s3->prefix, "logs/2016/");
  EXPECT_EQ(s3->environment.at("AWS_REGION"), "eu-west-1");
}

TEST(FactoryTest, BareBucketHasNoPrefix) {
  auto config = config_from_url("s3://bucket");

  ASSERT_TRUE(config);
  EXPECT_EQ(std::get<S3Config>(config->backend).prefix, "");
}

TEST(FactoryTest, FileUrlGivesTheDirectory) {
  auto config = config_from_url("file:///var/lib/rs%20ingester/objects");

  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(std::get<LocalConfig>(config->backend).root, "/var/lib/rs ingester/objects");
}

TEST(FactoryTest, OtherUrlsArePermanentErrors) {
  for (const auto* url :
       {"s3://", "s3:///prefix", "file://relative/dir", "http://host/", "/plain/path"}) {
    auto config = config_from_url(url);

    ASSERT_FALSE(config) << url;
    EXPECT_EQ(config.error().kind, ErrorKind::permanent);
  }
}

TEST(FactoryTest, S3StoreWithoutRegionFailsAtCreation) {
  auto config = config_from_url("s3://bucket", {{"HOME", "/nonexistent"}});
  ASSERT_TRUE(config);

  auto store = make_object_store(*config);

  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().kind, ErrorKind::permanent);
}

TEST(FactoryTest, S3StoreWithAMissingCaBundleFailsAtCreationNamingIt) {
  auto config = config_from_url(
      "s3://bucket", {{"AWS_REGION", "us-east-1"}, {"AWS_CA_BUNDLE", "/nonexistent/ca.pem"}});
  ASSERT_TRUE(config);

  auto store = make_object_store(*config);

  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().kind, ErrorKind::permanent);
  EXPECT_NE(store.error().message.find("AWS_CA_BUNDLE"), std::string::npos);
}

TEST(FactoryTest, DescribesTheStore) {
  auto store =
      make_object_store(config_from_url("s3://bucket/pre/", {{"AWS_REGION", "us-east-1"}}).value());

  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->describe(), "s3://bucket/pre/");
}

} // namespace
} // namespace rsi::objectstore
