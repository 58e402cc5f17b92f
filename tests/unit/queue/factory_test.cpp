#include "queue/factory.hpp"

#include <gtest/gtest.h>

#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"

namespace rsi::queue {
namespace {

TEST(ParseQueueUrl, DirUrlIsALocalInbox) {
  auto config = parse_queue_url("dir:///var/lib/rs_ingester/inbox");

  ASSERT_TRUE(config) << config.error().message;
  ASSERT_TRUE(std::holds_alternative<LocalConfig>(*config));
  EXPECT_EQ(std::get<LocalConfig>(*config).inbox, "/var/lib/rs_ingester/inbox");
}

TEST(ParseQueueUrl, SqsUrlNamesAQueue) {
  auto config = parse_queue_url("sqs://spade-events");

  ASSERT_TRUE(config) << config.error().message;
  ASSERT_TRUE(std::holds_alternative<SqsConfig>(*config));
  EXPECT_EQ(std::get<SqsConfig>(*config).queue, "spade-events");
}

TEST(ParseQueueUrl, HttpsUrlIsAnSqsQueueUrl) {
  const std::string url = "https://sqs.us-west-2.amazonaws.com/123456789012/spade-events";

  auto config = parse_queue_url(url);

  ASSERT_TRUE(config) << config.error().message;
  ASSERT_TRUE(std::holds_alternative<SqsConfig>(*config));
  EXPECT_EQ(std::get<SqsConfig>(*config).queue, url);
}

TEST(ParseQueueUrl, RejectsOtherForms) {
  for (const char* url :
       {"dir://relative/path", "sqs://", "sqs://a/b", "spade-events", "ftp://x"}) {
    auto config = parse_queue_url(url);

    ASSERT_FALSE(config) << url;
    EXPECT_EQ(config.error().kind, ErrorKind::permanent) << url;
  }
}

TEST(MakeQueue, BuildsALocalQueueFromItsUrl) {
  test::TempDir dir;
  test::FakeClock clock;
  auto config = parse_queue_url("dir://" + dir.path("inbox").string());
  ASSERT_TRUE(config);

  auto queue = make_queue(*config, clock, {});

  ASSERT_TRUE(queue) << queue.error().message;
  ASSERT_TRUE(publish_local_message(dir.path("inbox"), "hello"));
  auto received = (*queue)->receive(1, std::chrono::seconds(0));
  ASSERT_TRUE(received && received->size() == 1);
  EXPECT_EQ((*received)[0].body, "hello");
}

} // namespace
} // namespace rsi::queue
