#include "telemetry/metrics.hpp"

#include <mutex>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/recording_sink.hpp"
#include "telemetry/names.hpp"

namespace rsi::telemetry {
namespace {

using namespace std::chrono_literals;

TEST(MetricsTest, SendsTheOriginalStatsdNamesOneDatagramEach) {
  std::mutex mutex;
  std::vector<std::string> sent;
  Metrics metrics("metadatastorer", std::make_unique<test::RecordingSink>(mutex, sent));
  metrics.count(names::files_received("minute-watched"));
  metrics.count(names::files_skipped_ace("oauth_authorize"), 2);
  metrics.gauge(names::pending_count("in_queue", "video_play"), 7);
  metrics.timing(names::load_duration("video_play"), 1500ms);
  EXPECT_EQ(sent,
            (std::vector<std::string>{"metadatastorer.tsv_files.minute-watched.received:1|c",
                                      "metadatastorer.tsv_files.oauth_authorize.skipped.ace:2|c",
                                      "metadatastorer.tsv_files.video_play.in_queue_count:7|g",
                                      "metadatastorer.video_play:1500|ms"}));
}

TEST(MetricsTest, HostileTableNamesCannotBreakADatagram) {
  std::mutex mutex;
  std::vector<std::string> sent;
  Metrics metrics("ingester", std::make_unique<test::RecordingSink>(mutex, sent));
  metrics.count(names::files_loaded("a:1|g\nb"));
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0], "ingester.tsv_files.a_1_g_b.loaded:1|c");
  EXPECT_EQ(statsd_safe("x y/z"), "x_y_z");
}

TEST(MetricsTest, RendersPrometheusTextWithEscapedLabels) {
  Metrics metrics("ingester");
  metrics.count(names::files_loaded("t\"1"), 3);
  metrics.count(names::files_loaded("t\"1"), 2);
  metrics.gauge(names::pending_age_seconds("stale", "t2"), 12.5);
  metrics.timing(names::load_duration("t2"), 2s);
  metrics.count(names::files_received_total()); // statsd only
  const std::string text = metrics.prometheus_text();
  EXPECT_NE(text.find("# TYPE rsi_tsv_files_loaded_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("rsi_tsv_files_loaded_total{table=\"t\\\"1\"} 5\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("rsi_pending_oldest_age_seconds{table=\"t2\",kind=\"stale\"} 12.5\n"),
            std::string::npos);
  EXPECT_NE(text.find("rsi_load_duration_seconds_bucket{table=\"t2\",le=\"1\"} 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("rsi_load_duration_seconds_bucket{table=\"t2\",le=\"5\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("rsi_load_duration_seconds_count{table=\"t2\"} 1\n"), std::string::npos);
  EXPECT_EQ(text.find("total.received"), std::string::npos);

  metrics.clear_gauges("pending_oldest_age_seconds");
  EXPECT_EQ(metrics.prometheus_text().find("pending_oldest_age_seconds"), std::string::npos);
}

TEST(MetricsTest, UdpSinkDeliversToAListener) {
  const int listener = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  timeval timeout{.tv_sec = 5, .tv_usec = 0};
  setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));

  auto sink = make_udp_statsd_sink(fmt::format("127.0.0.1:{}", ntohs(address.sin_port)));
  ASSERT_TRUE(sink) << sink.error().message;
  Metrics metrics("ingester", std::move(*sink));
  metrics.count(names::manifest_loads());
  char buffer[256] = {};
  const auto received = recv(listener, buffer, sizeof(buffer) - 1, 0);
  close(listener);
  ASSERT_GT(received, 0);
  EXPECT_EQ(std::string(buffer, static_cast<std::size_t>(received)),
            "ingester.manifest_load.count:1|c");
}

TEST(MetricsTest, BadStatsdAddressesAreClearErrors) {
  EXPECT_FALSE(make_udp_statsd_sink("no-port"));
  const auto unresolvable = make_udp_statsd_sink("host.invalid:8125");
  ASSERT_FALSE(unresolvable);
  EXPECT_NE(unresolvable.error().message.find("host.invalid:8125"), std::string::npos);
}

} // namespace
} // namespace rsi::telemetry
