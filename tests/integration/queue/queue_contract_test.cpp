// Behaviour every Queue backend must share. Runs against the local inbox always and against
// the SQS emulator when RSI_TEST_SQS_ENDPOINT is set (scripts/test starts fauxqs; CI requires it).
//
// Time: the local inbox takes a FakeClock, so expiry is a clock advance. SQS time cannot be
// injected: its tests use a 1 s visibility timeout and bounded long polls instead of sleeps.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "queue/local_queue.hpp"
#include "queue/queue.hpp"
#include "sqs_test_queue.hpp"
#include "support/fake_clock.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"

namespace rsi::queue {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// One backend's queue for one test: consumers, the producer side, and the passage of time.
class Harness {
public:
  virtual ~Harness() = default;

  // A new consumer of the test's queue that hides what it receives for `visibility`.
  virtual Result<std::unique_ptr<Queue>> consumer(std::chrono::seconds visibility) = 0;
  virtual Result<void> send(const std::vector<std::string>& bodies) = 0;
  // Let `elapsed` pass for visibility deadlines, then receive with `queue`: the messages that
  // became visible, or an empty list once a bound is reached.
  virtual Result<std::vector<Message>> receive_after(Queue& queue,
                                                     std::chrono::seconds elapsed) = 0;
  // The shortest visibility the backend's tests use: expiry must be quick to observe.
  [[nodiscard]] virtual std::chrono::seconds short_visibility() const = 0;
};

class LocalHarness final : public Harness {
public:
  Result<std::unique_ptr<Queue>> consumer(std::chrono::seconds visibility) override {
    return make_local_queue({.inbox = m_dir.path("inbox"), .visibility_timeout = visibility},
                            m_clock);
  }
  Result<void> send(const std::vector<std::string>& bodies) override {
    std::filesystem::create_directories(m_dir.path("inbox"));
    for (const auto& body : bodies) {
      RSI_TRY(publish_local_message(m_dir.path("inbox"), body));
    }
    return {};
  }
  Result<std::vector<Message>> receive_after(Queue& queue, std::chrono::seconds elapsed) override {
    m_clock.advance(elapsed);
    return queue.receive(k_max_batch, 0s);
  }
  [[nodiscard]] std::chrono::seconds short_visibility() const override { return 30s; }

private:
  test::TempDir m_dir;
  test::FakeClock m_clock;
};

class SqsHarness final : public Harness {
public:
  explicit SqsHarness(std::unique_ptr<rsi::test::SqsTestQueue> queue) : m_queue(std::move(queue)) {}

  Result<std::unique_ptr<Queue>> consumer(std::chrono::seconds visibility) override {
    return m_queue->open(visibility);
  }
  Result<void> send(const std::vector<std::string>& bodies) override {
    for (std::size_t first = 0; first < bodies.size(); first += k_max_batch) {
      const std::size_t count = std::min(k_max_batch, bodies.size() - first);
      RSI_TRY(m_queue->send(std::span<const std::string>(bodies).subspan(first, count)));
    }
    return {};
  }
  Result<std::vector<Message>> receive_after(Queue& queue, std::chrono::seconds elapsed) override {
    // Long polls until something shows, for `elapsed` plus a margin for the server's timers.
    const auto give_up = SteadyClock::now() + elapsed + 3s;
    while (true) {
      const auto left = std::chrono::ceil<std::chrono::seconds>(give_up - SteadyClock::now());
      if (left <= 0s) {
        return std::vector<Message>{};
      }
      auto messages = queue.receive(k_max_batch, std::min<std::chrono::seconds>(left, 2s));
      if (!messages || !messages->empty()) {
        return messages;
      }
    }
  }
  [[nodiscard]] std::chrono::seconds short_visibility() const override { return 1s; }

private:
  std::unique_ptr<rsi::test::SqsTestQueue> m_queue;
};

struct Backend {
  std::string name;
  // Builds the harness, or sets `skip_reason` when the backend's service is missing.
  std::function<Result<std::unique_ptr<Harness>>(std::string& skip_reason)> make;
};

// Names the parameter in test listings instead of its bytes.
void PrintTo(const Backend& backend, std::ostream* out) { *out << backend.name; }

class QueueContract : public ::testing::TestWithParam<Backend> {
protected:
  void SetUp() override {
    std::string skip_reason;
    auto harness = GetParam().make(skip_reason);
    RSI_REQUIRE_SERVICE(skip_reason.empty(), skip_reason);
    ASSERT_TRUE(harness) << harness.error().message;
    m_harness = std::move(*harness);
  }

  std::unique_ptr<Queue> consumer(std::chrono::seconds visibility = 60s) {
    auto queue = m_harness->consumer(visibility);
    EXPECT_TRUE(queue) << queue.error().message;
    return queue ? std::move(*queue) : nullptr;
  }

  void send(const std::vector<std::string>& bodies) {
    auto sent = m_harness->send(bodies);
    ASSERT_TRUE(sent) << sent.error().message;
  }

  // Receive until `count` messages arrived or 10 s passed.
  static std::vector<Message> receive_all(Queue& queue, std::size_t count) {
    std::vector<Message> all;
    const auto give_up = SteadyClock::now() + 10s;
    while (all.size() < count && SteadyClock::now() < give_up) {
      auto batch = queue.receive(std::min(k_max_batch, count - all.size()), 1s);
      EXPECT_TRUE(batch) << batch.error().message;
      if (!batch) {
        break;
      }
      std::move(batch->begin(), batch->end(), std::back_inserter(all));
    }
    return all;
  }

  std::unique_ptr<Harness> m_harness;
};

TEST_P(QueueContract, ReceivesSentMessagesAndRemovesThem) {
  auto queue = consumer();
  send({"one", "two", "three"});

  auto received = receive_all(*queue, 3);
  auto removed = queue->remove(received);
  auto after = queue->receive(k_max_batch, 1s);

  ASSERT_EQ(received.size(), 3U);
  std::multiset<std::string> bodies;
  for (const Message& message : received) {
    bodies.insert(message.body);
    EXPECT_FALSE(message.id.empty());
    EXPECT_FALSE(message.receipt.empty());
    EXPECT_EQ(message.receive_count, 1);
    EXPECT_TRUE(message.sent_at.has_value());
  }
  EXPECT_EQ(bodies, (std::multiset<std::string>{"one", "three", "two"}));
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_TRUE(removed->all_succeeded());
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_TRUE(after->empty());
}

TEST_P(QueueContract, DepthCountsWaitingAndHeldMessages) {
  auto queue = consumer();
  auto empty = queue->depth();
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_EQ(empty->total(), 0);
  send({"one", "two", "three"});

  auto held = receive_all(*queue, 1);
  ASSERT_EQ(held.size(), 1U);
  auto depth = queue->depth();

  ASSERT_TRUE(depth) << depth.error().message;
  EXPECT_EQ(depth->waiting, 2);
  EXPECT_EQ(depth->in_flight, 1);
  EXPECT_EQ(depth->delayed, 0);
  ASSERT_TRUE(queue->remove(held));
  EXPECT_EQ(queue->depth()->total(), 2);
}

TEST_P(QueueContract, EmptyReceiveReturnsAfterTheWait) {
  auto queue = consumer();

  const auto start = SteadyClock::now();
  auto received = queue->receive(k_max_batch, 1s);
  const auto waited = SteadyClock::now() - start;

  ASSERT_TRUE(received) << received.error().message;
  EXPECT_TRUE(received->empty());
  EXPECT_GE(waited, 900ms);
  EXPECT_LT(waited, 5s);
}

TEST_P(QueueContract, AStopRequestEndsALongPollEarly) {
  auto queue = consumer();
  std::stop_source stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(300ms);
    stop.request_stop();
  });

  const auto start = SteadyClock::now();
  auto received = queue->receive(k_max_batch, k_max_wait, stop.get_token());
  const auto waited = SteadyClock::now() - start;
  stopper.join();

  ASSERT_TRUE(received) << received.error().message;
  EXPECT_TRUE(received->empty());
  EXPECT_LT(waited, 5s) << "a 20 s long poll must not hold up a shutdown";
}

TEST_P(QueueContract, ReceiveReturnsAtMostMaxMessages) {
  auto queue = consumer();
  send({"a", "b", "c", "d", "e"});

  auto received = queue->receive(2, 2s);

  ASSERT_TRUE(received) << received.error().message;
  EXPECT_GE(received->size(), 1U);
  EXPECT_LE(received->size(), 2U);
}

TEST_P(QueueContract, RejectsOutOfRangeArgumentsAsPermanent) {
  auto queue = consumer();
  const std::vector<Message> eleven(11, Message{.id = "x", .receipt = "y"});

  auto none = queue->receive(0, 0s);
  auto too_many = queue->receive(11, 0s);
  auto too_long = queue->receive(1, 21s);
  auto big_batch = queue->remove(eleven);

  for (const auto* result : {&none, &too_many, &too_long}) {
    ASSERT_FALSE(*result);
    EXPECT_EQ(result->error().kind, ErrorKind::permanent);
  }
  ASSERT_FALSE(big_batch);
  EXPECT_EQ(big_batch.error().kind, ErrorKind::permanent);
}

TEST_P(QueueContract, EmptyBatchIsANoOp) {
  auto queue = consumer();

  auto removed = queue->remove({});
  auto changed = queue->change_visibility({}, 0s);

  ASSERT_TRUE(removed && changed);
  EXPECT_TRUE(removed->all_succeeded());
  EXPECT_TRUE(changed->all_succeeded());
}

TEST_P(QueueContract, HeldMessageIsNotHandedToAnotherConsumer) {
  auto holder = consumer(60s);
  auto other = consumer(60s);
  send({"held"});
  auto held = receive_all(*holder, 1);
  ASSERT_EQ(held.size(), 1U);

  auto received = other->receive(k_max_batch, 1s);

  ASSERT_TRUE(received) << received.error().message;
  EXPECT_TRUE(received->empty());
}

TEST_P(QueueContract, UnremovedMessageIsRedeliveredWithAHigherReceiveCount) {
  auto first = consumer(m_harness->short_visibility());
  auto second = consumer(60s);
  send({"redeliver me"});
  auto original = receive_all(*first, 1);
  ASSERT_EQ(original.size(), 1U);

  auto again = m_harness->receive_after(*second, m_harness->short_visibility() + 1s);

  ASSERT_TRUE(again) << again.error().message;
  ASSERT_EQ(again->size(), 1U);
  const Message& redelivered = (*again)[0];
  EXPECT_EQ(redelivered.id, original[0].id);
  EXPECT_EQ(redelivered.body, "redeliver me");
  EXPECT_EQ(redelivered.receive_count, 2);
  EXPECT_NE(redelivered.receipt, original[0].receipt);
  auto removed = second->remove(*again);
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_TRUE(removed->all_succeeded());
}

TEST_P(QueueContract, ChangeVisibilityToZeroReleasesAtOnce) {
  auto holder = consumer(60s);
  auto other = consumer(60s);
  send({"release me"});
  auto held = receive_all(*holder, 1);
  ASSERT_EQ(held.size(), 1U);

  auto released = holder->change_visibility(held, 0s);
  auto received = receive_all(*other, 1);

  ASSERT_TRUE(released) << released.error().message;
  EXPECT_TRUE(released->all_succeeded());
  ASSERT_EQ(received.size(), 1U);
  EXPECT_EQ(received[0].id, held[0].id);
  EXPECT_EQ(received[0].receive_count, 2);
}

TEST_P(QueueContract, ChangeVisibilityExtendsTheLease) {
  auto holder = consumer(m_harness->short_visibility());
  auto other = consumer(60s);
  send({"slow work"});
  auto held = receive_all(*holder, 1);
  ASSERT_EQ(held.size(), 1U);

  auto extended = holder->change_visibility(held, 600s);
  auto received = m_harness->receive_after(*other, m_harness->short_visibility() + 1s);

  ASSERT_TRUE(extended) << extended.error().message;
  EXPECT_TRUE(extended->all_succeeded());
  ASSERT_TRUE(received) << received.error().message;
  EXPECT_TRUE(received->empty());
}

TEST_P(QueueContract, BatchReportsOnlyTheStaleEntries) {
  auto queue = consumer(60s);
  send({"x", "y"});
  auto held = receive_all(*queue, 2);
  ASSERT_EQ(held.size(), 2U);
  auto removed = queue->remove(std::span<const Message>(held).first(1));
  ASSERT_TRUE(removed && removed->all_succeeded());

  auto changed = queue->change_visibility(held, 0s);

  ASSERT_TRUE(changed) << changed.error().message;
  ASSERT_EQ(changed->failed.size(), 1U);
  EXPECT_EQ(changed->failed[0].id, held[0].id);
  EXPECT_EQ(changed->failed[0].error.kind, ErrorKind::conflict);
}

// SQS (and fauxqs) may accept a delete with a stale receipt; the local inbox reports it. Either
// way it never fails the whole call, and a reported entry is a conflict.
TEST_P(QueueContract, RemovingAStaleReceiptIsANoOpOrAConflict) {
  auto queue = consumer(60s);
  send({"x"});
  auto held = receive_all(*queue, 1);
  ASSERT_EQ(held.size(), 1U);
  ASSERT_TRUE(queue->remove(held));

  auto again = queue->remove(held);

  ASSERT_TRUE(again) << again.error().message;
  for (const BatchFailure& failure : again->failed) {
    EXPECT_EQ(failure.id, held[0].id);
    EXPECT_EQ(failure.error.kind, ErrorKind::conflict);
  }
}

// Consumers on their own threads with their own Queue: each message is received and removed
// exactly once (nothing expires: the visibility outlasts the test).
TEST_P(QueueContract, ConcurrentConsumersNeverShareAMessage) {
  constexpr int k_threads = 4;
  constexpr int k_total = 200;
  std::vector<std::string> bodies;
  for (int index = 0; index < k_total; ++index) {
    bodies.push_back(fmt::format("message-{}", index));
  }
  std::vector<std::unique_ptr<Queue>> queues;
  for (int thread = 0; thread < k_threads; ++thread) {
    queues.push_back(consumer(300s));
    ASSERT_NE(queues.back(), nullptr);
  }
  send(bodies);
  std::mutex mutex;
  std::map<std::string, int> seen;
  std::atomic<int> removed{0};
  std::atomic<int> failures{0};

  std::vector<std::thread> threads;
  for (auto& queue : queues) {
    threads.emplace_back([&, &queue = *queue] {
      const auto give_up = SteadyClock::now() + 60s;
      while (removed.load() < k_total && SteadyClock::now() < give_up) {
        auto batch = queue.receive(k_max_batch, 1s);
        if (!batch) {
          failures.fetch_add(1);
          continue;
        }
        {
          const std::lock_guard lock(mutex);
          for (const Message& message : *batch) {
            seen[message.body] += 1;
          }
        }
        if (auto outcome = queue.remove(*batch); !outcome || !outcome->all_succeeded()) {
          failures.fetch_add(1);
          continue;
        }
        removed.fetch_add(static_cast<int>(batch->size()));
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }

  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(removed.load(), k_total);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(k_total));
  EXPECT_TRUE(
      std::all_of(seen.begin(), seen.end(), [](const auto& entry) { return entry.second == 1; }));
}

INSTANTIATE_TEST_SUITE_P(
    Backends, QueueContract,
    ::testing::Values(Backend{"local",
                              [](std::string&) -> Result<std::unique_ptr<Harness>> {
                                return std::make_unique<LocalHarness>();
                              }},
                      Backend{"sqs",
                              [](std::string& skip_reason) -> Result<std::unique_ptr<Harness>> {
                                const auto endpoint = rsi::test::sqs_endpoint();
                                if (!endpoint) {
                                  skip_reason = "SQS emulator (RSI_TEST_SQS_ENDPOINT)";
                                  return std::unique_ptr<Harness>();
                                }
                                RSI_TRY_ASSIGN(auto queue,
                                               rsi::test::SqsTestQueue::create(
                                                   *endpoint, rsi::test::unique_name("contract")));
                                return std::make_unique<SqsHarness>(std::move(queue));
                              }}),
    [](const auto& param_info) { return param_info.param.name; });

} // namespace
} // namespace rsi::queue
