// pg::Listener and the listening loop against the test server: a NOTIFY from another session
// arrives within moments, on commit only, its payload cut; a terminated backend is reported,
// reconnected, and answered with a call after listening again; a stop ends the loop promptly.
// Each test listens on a channel of its own: a channel belongs to the whole database, which
// other tests share.
#include "pg/listener.hpp"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "pg/connection.hpp"
#include "support/net.hpp"
#include "support/process.hpp"
#include "support/services.hpp"

namespace rsi::pg {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

class ListenerTest : public ::testing::Test {
protected:
  void SetUp() override {
    const auto base = test::postgres_conninfo();
    RSI_REQUIRE_SERVICE(base.has_value(), "PostgreSQL (RSI_TEST_PG)");
    m_conninfo = *base;
    auto sender = Connection::connect(m_conninfo);
    ASSERT_TRUE(sender) << sender.error().message;
    m_sender.emplace(std::move(*sender));
  }

  void notify(const std::string& payload) {
    ASSERT_TRUE(m_sender->exec("SELECT pg_notify($1, $2)", {m_channel, payload}));
  }

  // Terminates every session listening on this test's channel (the loop's, whose pid the test
  // does not know): its last statement is the LISTEN.
  int terminate_listeners() {
    auto rows = m_sender->exec(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = $1",
        {"LISTEN \"" + m_channel + "\""});
    return rows ? static_cast<int>(rows->integer(0, 0)) : -1;
  }

  std::string m_conninfo;
  std::string m_channel = test::unique_name("rsi_listen");
  std::optional<Connection> m_sender;
};

TEST_F(ListenerTest, DeliversANotifyFromAnotherSessionAtOnce) {
  auto listener = Listener::listen(m_conninfo, m_channel);
  ASSERT_TRUE(listener) << listener.error().message;

  const auto sent = Steady::now();
  notify("pipe_00");
  auto arrived = listener->wait(5s);
  const auto took = Steady::now() - sent;

  ASSERT_TRUE(arrived) << arrived.error().message;
  ASSERT_EQ(arrived->size(), 1U);
  EXPECT_EQ(arrived->front().channel, m_channel);
  EXPECT_EQ(arrived->front().payload, "pipe_00");
  EXPECT_EQ(arrived->front().sender_pid, PQbackendPID(m_sender->raw()));
  EXPECT_LT(took, 1s);
}

TEST_F(ListenerTest, WaitsOutItsTimeoutWhenNothingIsSent) {
  auto listener = Listener::listen(m_conninfo, m_channel);
  ASSERT_TRUE(listener) << listener.error().message;

  const auto started = Steady::now();
  auto arrived = listener->wait(150ms);

  ASSERT_TRUE(arrived) << arrived.error().message;
  EXPECT_TRUE(arrived->empty());
  EXPECT_GE(Steady::now() - started, 140ms);
}

TEST_F(ListenerTest, ANotifyInATransactionArrivesOnItsCommitOnly) {
  auto listener = Listener::listen(m_conninfo, m_channel);
  ASSERT_TRUE(listener) << listener.error().message;

  ASSERT_TRUE(m_sender->exec("BEGIN"));
  notify("in a transaction");
  auto before_commit = listener->wait(300ms);
  ASSERT_TRUE(m_sender->exec("COMMIT"));
  auto after_commit = listener->wait(5s);

  ASSERT_TRUE(before_commit) << before_commit.error().message;
  EXPECT_TRUE(before_commit->empty());
  ASSERT_TRUE(after_commit) << after_commit.error().message;
  ASSERT_EQ(after_commit->size(), 1U);
  EXPECT_EQ(after_commit->front().payload, "in a transaction");
}

TEST_F(ListenerTest, ARolledBackNotifyNeverArrives) {
  auto listener = Listener::listen(m_conninfo, m_channel);
  ASSERT_TRUE(listener) << listener.error().message;

  ASSERT_TRUE(m_sender->exec("BEGIN"));
  notify("rolled back");
  ASSERT_TRUE(m_sender->exec("ROLLBACK"));
  notify("committed");
  auto arrived = listener->wait(5s);

  ASSERT_TRUE(arrived) << arrived.error().message;
  ASSERT_EQ(arrived->size(), 1U);
  EXPECT_EQ(arrived->front().payload, "committed");
}

TEST_F(ListenerTest, CutsALongPayload) {
  auto listener = Listener::listen(m_conninfo, m_channel);
  ASSERT_TRUE(listener) << listener.error().message;

  notify(std::string(7999, 'x')); // NOTIFY's limit is 8000 bytes.
  auto arrived = listener->wait(5s);

  ASSERT_TRUE(arrived) << arrived.error().message;
  ASSERT_EQ(arrived->size(), 1U);
  EXPECT_EQ(arrived->front().payload, std::string(Listener::k_max_payload_bytes, 'x'));
}

TEST_F(ListenerTest, HandsBackABurstAcrossWaitsWithoutLosingAny) {
  auto listener = Listener::listen(m_conninfo, m_channel);
  ASSERT_TRUE(listener) << listener.error().message;
  constexpr std::size_t k_sent = Listener::k_max_per_wait + 100;

  // Distinct payloads: PostgreSQL folds identical notifications of one transaction.
  ASSERT_TRUE(m_sender->exec("SELECT pg_notify($1, n::text) FROM generate_series(1, $2) AS n",
                             {m_channel, std::to_string(k_sent)}));
  std::size_t received = 0;
  std::size_t largest = 0;
  for (int wait = 0; wait < 100 && received < k_sent; ++wait) {
    auto arrived = listener->wait(1s);
    ASSERT_TRUE(arrived) << arrived.error().message;
    received += arrived->size();
    largest = std::max(largest, arrived->size());
  }

  EXPECT_EQ(received, k_sent);
  EXPECT_LE(largest, Listener::k_max_per_wait);
}

TEST_F(ListenerTest, ATerminatedBackendIsATransientFailure) {
  auto listener = Listener::listen(m_conninfo, m_channel);
  ASSERT_TRUE(listener) << listener.error().message;

  ASSERT_TRUE(
      m_sender->exec("SELECT pg_terminate_backend($1)", {std::to_string(listener->backend_pid())}));
  std::optional<Error> failure;
  for (int wait = 0; wait < 50 && !failure; ++wait) {
    if (auto arrived = listener->wait(100ms); !arrived) {
      failure = arrived.error();
    }
  }

  ASSERT_TRUE(failure.has_value()) << "the broken connection was not noticed";
  EXPECT_EQ(failure->kind, ErrorKind::transient);
  EXPECT_NE(failure->message.find(m_channel), std::string::npos) << failure->message;
}

// The loop in a thread of its own, counting its calls.
class ListenLoop {
public:
  ListenLoop(const std::string& conninfo, const std::string& channel, ListenOptions options)
      : m_thread([this, conninfo, channel, options](std::stop_token stop) {
          listen_until_stopped(
              conninfo, channel, [this] { m_calls.fetch_add(1); }, stop, options);
          m_returned_at.store(Steady::now());
        }) {}

  [[nodiscard]] int calls() const { return m_calls.load(); }
  // Requests the stop and joins; how long the loop took to return.
  Steady::duration stop() {
    const auto requested = Steady::now();
    m_thread.request_stop();
    m_thread.join();
    return m_returned_at.load() - requested;
  }

private:
  std::atomic<int> m_calls{0};
  std::atomic<Steady::time_point> m_returned_at{};
  std::jthread m_thread;
};

ListenOptions fast_options() {
  return {.stop_check = 100ms,
          .reconnect = {.initial_delay = 50ms, .max_delay = 200ms, .max_attempts = 0}};
}

TEST_F(ListenerTest, TheLoopCallsOnceListeningAndForEachNotification) {
  ListenLoop loop(m_conninfo, m_channel, fast_options());
  ASSERT_TRUE(test::eventually(10s, [&] { return loop.calls() >= 1; }))
      << "listening started: the caller looks for work sent before";

  notify("one");
  const bool first = test::eventually(5s, [&] { return loop.calls() >= 2; });
  notify("two");
  const bool second = test::eventually(5s, [&] { return loop.calls() >= 3; });
  const auto stopped_in = loop.stop();

  EXPECT_TRUE(first);
  EXPECT_TRUE(second);
  EXPECT_EQ(loop.calls(), 3);
  EXPECT_LT(stopped_in, 1s);
}

TEST_F(ListenerTest, TheLoopReconnectsAfterItsBackendIsTerminatedAndCallsAgain) {
  ListenLoop loop(m_conninfo, m_channel, fast_options());
  ASSERT_TRUE(test::eventually(10s, [&] { return loop.calls() >= 1; }));

  ASSERT_EQ(terminate_listeners(), 1);
  const bool called_after_reconnect = test::eventually(10s, [&] { return loop.calls() >= 2; });
  // Listening again: a notification sent now arrives.
  ASSERT_TRUE(test::eventually(10s, [&] {
    auto rows = m_sender->exec("SELECT 1 FROM pg_stat_activity WHERE query = $1",
                               {"LISTEN \"" + m_channel + "\""});
    return rows && rows->size() == 1;
  }));
  notify("after the reconnect");
  const bool notified = test::eventually(5s, [&] { return loop.calls() >= 3; });
  loop.stop();

  EXPECT_TRUE(called_after_reconnect) << "a notification may have been lost while down";
  EXPECT_TRUE(notified);
}

TEST_F(ListenerTest, TheLoopAnswersABurstWithFewCalls) {
  ListenOptions options = fast_options();
  options.min_interval = 300ms;
  ListenLoop loop(m_conninfo, m_channel, options);
  ASSERT_TRUE(test::eventually(10s, [&] { return loop.calls() >= 1; }));
  std::this_thread::sleep_for(400ms); // Past the interval after the first call.

  const auto started = Steady::now();
  for (int index = 0; index < 50; ++index) {
    notify(std::to_string(index)); // 50 transactions, 50 notifications.
  }
  const auto sending = Steady::now() - started;
  std::this_thread::sleep_for(700ms); // Past the interval after the last notification.
  const int calls = loop.calls() - 1;
  loop.stop();

  // One call at once, then at most one per interval while they kept arriving, and one after.
  EXPECT_GE(calls, 1);
  EXPECT_LE(calls, 2 + static_cast<int>(sending / options.min_interval))
      << "sent for " << std::chrono::duration_cast<std::chrono::milliseconds>(sending).count()
      << " ms";
}

// No server needed: nothing listens on the port.
TEST(ListenLoopTest, StopsPromptlyWhileTheServerCannotBeReached) {
  ListenLoop loop(fmt::format("host=127.0.0.1 port={} connect_timeout=2", test::free_tcp_port()),
                  "rsi_unreachable", fast_options());
  std::this_thread::sleep_for(500ms);

  const auto stopped_in = loop.stop();

  EXPECT_EQ(loop.calls(), 0);
  EXPECT_LT(stopped_in, 1s);
}

} // namespace
} // namespace rsi::pg
