// Behaviour of the local inbox queue beyond the contract suite: files on disk, restarts,
// many consumers (threads and processes) on one inbox.

#include "queue/local_queue.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"

namespace rsi::queue {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::unique_ptr<Queue> open_queue(const fs::path& inbox, const Clock& clock,
                                  std::chrono::seconds visibility = 30s) {
  auto queue = make_local_queue({.inbox = inbox, .visibility_timeout = visibility}, clock);
  EXPECT_TRUE(queue) << queue.error().message;
  return queue ? std::move(*queue) : nullptr;
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_text(const fs::path& path) {
  std::string content(fs::file_size(path), '\0');
  std::ifstream(path, std::ios::binary)
      .read(content.data(), static_cast<std::streamsize>(content.size()));
  return content;
}

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream(path) << content;
}

class LocalQueueTest : public ::testing::Test {
protected:
  test::TempDir m_dir;
  fs::path m_inbox = m_dir.path("inbox");
  test::FakeClock m_clock;
};

TEST_F(LocalQueueTest, PublishRenamesACompleteFileIntoTheInbox) {
  ASSERT_TRUE(fs::create_directories(m_inbox));

  auto id = publish_local_message(m_inbox, R"({"KeyName":"b/k"})");

  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(names_in(m_inbox), std::vector<std::string>{*id});
  EXPECT_EQ(read_text(m_inbox / *id), R"({"KeyName":"b/k"})");
}

TEST_F(LocalQueueTest, DepthCountsNewAndExpiredMessagesAsWaitingAndHeldOnesInFlight) {
  auto queue = open_queue(m_inbox, m_clock, 30s);
  ASSERT_TRUE(queue);
  for (int index = 0; index < 4; ++index) {
    ASSERT_TRUE(publish_local_message(m_inbox, fmt::format("m{}", index)));
  }
  write_file(m_inbox / ".unfinished.tmp", "a producer's unfinished write");
  auto held = queue->receive(1, 0s);
  ASSERT_TRUE(held && held->size() == 1);
  auto expiring = queue->receive(1, 0s);
  ASSERT_TRUE(expiring && expiring->size() == 1);
  ASSERT_TRUE(queue->change_visibility(*expiring, 0s));

  auto depth = queue->depth();

  ASSERT_TRUE(depth) << depth.error().message;
  EXPECT_EQ(depth->waiting, 3) << "two new, one whose visibility ran out";
  EXPECT_EQ(depth->in_flight, 1);
  EXPECT_FALSE(depth->approximate);
  ASSERT_TRUE(queue->remove(*held));
  EXPECT_EQ(queue->depth()->total(), 3);
}

TEST_F(LocalQueueTest, DepthOfAMissingInboxIsZero) {
  auto depth = local_inbox_depth(m_dir.path("missing"), m_clock.now());

  ASSERT_TRUE(depth) << depth.error().message;
  EXPECT_EQ(depth->total(), 0);
}

TEST_F(LocalQueueTest, AnOversizeMessageIsSetAsideOnceWithItsReasonAndNeverDelivered) {
  auto queue = make_local_queue(
      {.inbox = m_inbox, .visibility_timeout = 30s, .max_message_bytes = 1024}, m_clock);
  ASSERT_TRUE(queue) << queue.error().message;
  write_file(m_inbox / "huge", std::string(4096, 'x'));
  ASSERT_TRUE(publish_local_message(m_inbox, "small"));

  auto received = (*queue)->receive(10, 0s);

  ASSERT_TRUE(received) << received.error().message;
  ASSERT_EQ(received->size(), 1U);
  EXPECT_EQ((*received)[0].body, "small");
  EXPECT_TRUE(fs::exists(m_inbox / "rejected" / "huge"));
  EXPECT_NE(read_text(m_inbox / "rejected" / "huge.reason")
                .find("4096 bytes; a message is at most 1024 bytes"),
            std::string::npos);
  m_clock.advance(1h); // Long past any visibility timeout: it never comes back.
  auto again = (*queue)->receive(10, 0s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->size(), 1U) << "only the small message, redelivered";
  EXPECT_EQ((*queue)->depth()->total(), 1);
}

TEST_F(LocalQueueTest, ALinkInTheInboxIsNeverFollowed) {
  auto queue = open_queue(m_inbox, m_clock);
  ASSERT_TRUE(queue);
  write_file(m_dir.path("secret"), "the contents of a file the queue must not copy");
  fs::permissions(m_dir.path("secret"), fs::perms::owner_read | fs::perms::owner_write);
  fs::create_symlink(m_dir.path("secret"), m_inbox / "link");
  ASSERT_EQ(::mkfifo((m_inbox / "fifo").c_str(), 0600), 0);

  auto received = queue->receive(10, 0s);

  ASSERT_TRUE(received) << received.error().message;
  EXPECT_TRUE(received->empty());
  EXPECT_TRUE(fs::is_symlink(m_inbox / "rejected" / "link"));
  EXPECT_NE(read_text(m_inbox / "rejected" / "link.reason").find("a symbolic link"),
            std::string::npos);
  EXPECT_NE(read_text(m_inbox / "rejected" / "fifo.reason").find("not a regular file"),
            std::string::npos);
  EXPECT_EQ(queue->depth()->total(), 0);
}

TEST_F(LocalQueueTest, ALinkSwappedInWhileInFlightIsSetAsideNotRead) {
  auto queue = open_queue(m_inbox, m_clock, 5s);
  ASSERT_TRUE(queue);
  ASSERT_TRUE(publish_local_message(m_inbox, "honest"));
  auto first = queue->receive(1, 0s);
  ASSERT_TRUE(first && first->size() == 1);
  // Someone replaces the in-flight file by a link to another file, then the lease runs out.
  const fs::path held = m_inbox / "inflight" / (*first)[0].receipt;
  write_file(m_dir.path("secret"), "not for the queue");
  fs::remove(held);
  fs::create_symlink(m_dir.path("secret"), held);
  m_clock.advance(10s);

  auto again = queue->receive(1, 0s);

  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->empty());
}

TEST_F(LocalQueueTest, PublishIntoAMissingInboxFailsPermanently) {
  auto id = publish_local_message(m_dir.path("missing"), "x");

  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().kind, ErrorKind::permanent);
}

TEST_F(LocalQueueTest, MessageIdIsTheFileNameAndTheBodyItsContent) {
  auto queue = open_queue(m_inbox, m_clock);
  write_file(m_inbox / "pointer-1.json", "body-1");

  auto received = queue->receive(10, 0s);

  ASSERT_TRUE(received) << received.error().message;
  ASSERT_EQ(received->size(), 1U);
  EXPECT_EQ((*received)[0].id, "pointer-1.json");
  EXPECT_EQ((*received)[0].body, "body-1");
  EXPECT_EQ((*received)[0].receive_count, 1);
  EXPECT_TRUE(names_in(m_inbox) == (std::vector<std::string>{"inflight", "rejected"}));
}

TEST_F(LocalQueueTest, IgnoresHiddenFilesAndDirectories) {
  auto queue = open_queue(m_inbox, m_clock);
  write_file(m_inbox / ".half-written.tmp", "partial");
  fs::create_directory(m_inbox / "subdir");

  auto received = queue->receive(10, 0s);

  ASSERT_TRUE(received) << received.error().message;
  EXPECT_TRUE(received->empty());
}

TEST_F(LocalQueueTest, HandsOutOldestNamesFirst) {
  auto queue = open_queue(m_inbox, m_clock);
  for (const char* name : {"c", "a", "b"}) {
    write_file(m_inbox / name, name);
  }

  auto received = queue->receive(2, 0s);

  ASSERT_TRUE(received) << received.error().message;
  ASSERT_EQ(received->size(), 2U);
  EXPECT_EQ((*received)[0].id, "a");
  EXPECT_EQ((*received)[1].id, "b");
}

TEST_F(LocalQueueTest, SentAtIsTheProducersWriteTime) {
  SystemClock clock;
  auto queue = open_queue(m_inbox, clock);
  auto id = publish_local_message(m_inbox, "x");
  ASSERT_TRUE(id);
  fs::last_write_time(m_inbox / *id, fs::file_time_type::clock::now() - std::chrono::minutes(5));

  auto received = queue->receive(1, 0s);

  ASSERT_TRUE(received && received->size() == 1);
  ASSERT_TRUE((*received)[0].sent_at.has_value());
  const auto age = clock.now() - *(*received)[0].sent_at;
  EXPECT_GT(age, std::chrono::minutes(4));
  EXPECT_LT(age, std::chrono::minutes(6));
}

TEST_F(LocalQueueTest, UnremovedMessageComesBackAfterARestart) {
  std::string id;
  {
    auto first = open_queue(m_inbox, m_clock);
    ASSERT_TRUE(publish_local_message(m_inbox, "survives"));
    auto received = first->receive(1, 0s);
    ASSERT_TRUE(received && received->size() == 1);
    id = (*received)[0].id;
  } // The consumer dies holding the message.
  auto second = open_queue(m_inbox, m_clock);

  auto while_hidden = second->receive(10, 0s);
  m_clock.advance(31s);
  auto after_expiry = second->receive(10, 0s);

  ASSERT_TRUE(while_hidden && after_expiry);
  EXPECT_TRUE(while_hidden->empty());
  ASSERT_EQ(after_expiry->size(), 1U);
  EXPECT_EQ((*after_expiry)[0].id, id);
  EXPECT_EQ((*after_expiry)[0].body, "survives");
  EXPECT_EQ((*after_expiry)[0].receive_count, 2);
}

TEST_F(LocalQueueTest, ExtendedDeadlineSurvivesARestart) {
  {
    auto first = open_queue(m_inbox, m_clock);
    ASSERT_TRUE(publish_local_message(m_inbox, "slow work"));
    auto received = first->receive(1, 0s);
    ASSERT_TRUE(received && received->size() == 1);
    auto extended = first->change_visibility(*received, 600s);
    ASSERT_TRUE(extended && extended->all_succeeded());
  }
  auto second = open_queue(m_inbox, m_clock);

  m_clock.advance(599s);
  auto before_deadline = second->receive(10, 0s);
  m_clock.advance(2s);
  auto after_deadline = second->receive(10, 0s);

  ASSERT_TRUE(before_deadline && after_deadline);
  EXPECT_TRUE(before_deadline->empty());
  EXPECT_EQ(after_deadline->size(), 1U);
}

TEST_F(LocalQueueTest, ReceiveCountGrowsWithEveryDelivery) {
  auto queue = open_queue(m_inbox, m_clock);
  ASSERT_TRUE(publish_local_message(m_inbox, "poison"));

  std::vector<int> counts;
  for (int delivery = 0; delivery < 4; ++delivery) {
    auto received = queue->receive(1, 0s);
    ASSERT_TRUE(received && received->size() == 1);
    counts.push_back((*received)[0].receive_count);
    m_clock.advance(31s);
  }

  EXPECT_EQ(counts, (std::vector<int>{1, 2, 3, 4}));
}

TEST_F(LocalQueueTest, OldReceiptNoLongerRemovesARedeliveredMessage) {
  auto first = open_queue(m_inbox, m_clock);
  auto second = open_queue(m_inbox, m_clock);
  ASSERT_TRUE(publish_local_message(m_inbox, "x"));
  auto stale = first->receive(1, 0s);
  ASSERT_TRUE(stale && stale->size() == 1);
  m_clock.advance(31s);
  auto fresh = second->receive(1, 0s);
  ASSERT_TRUE(fresh && fresh->size() == 1);

  auto removed = first->remove(*stale);

  ASSERT_TRUE(removed) << removed.error().message;
  ASSERT_EQ(removed->failed.size(), 1U);
  EXPECT_EQ(removed->failed[0].error.kind, ErrorKind::conflict);
  auto removed_fresh = second->remove(*fresh);
  ASSERT_TRUE(removed_fresh);
  EXPECT_TRUE(removed_fresh->all_succeeded());
}

TEST_F(LocalQueueTest, MalformedReceiptIsAPermanentEntryFailure) {
  auto queue = open_queue(m_inbox, m_clock);
  const std::vector<Message> forged{{.id = "x", .receipt = "../../etc/passwd"}};

  auto removed = queue->remove(forged);

  ASSERT_TRUE(removed) << removed.error().message;
  ASSERT_EQ(removed->failed.size(), 1U);
  EXPECT_EQ(removed->failed[0].id, "x");
  EXPECT_EQ(removed->failed[0].error.kind, ErrorKind::permanent);
}

TEST_F(LocalQueueTest, OverlongFileNameIsSkippedNotFatal) {
  auto queue = open_queue(m_inbox, m_clock);
  write_file(m_inbox / std::string(240, 'n'), "too long to track");
  ASSERT_TRUE(publish_local_message(m_inbox, "fine"));

  auto received = queue->receive(10, 0s);

  ASSERT_TRUE(received) << received.error().message;
  ASSERT_EQ(received->size(), 1U);
  EXPECT_EQ((*received)[0].body, "fine");
}

TEST_F(LocalQueueTest, LongPollWakesWhenAMessageArrives) {
  SystemClock clock;
  auto queue = open_queue(m_inbox, clock);
  std::thread producer([this] {
    std::this_thread::sleep_for(200ms); // The producer, not the code under test, waits.
    (void)publish_local_message(m_inbox, "late");
  });

  const auto start = std::chrono::steady_clock::now();
  auto received = queue->receive(10, 10s);
  const auto waited = std::chrono::steady_clock::now() - start;
  producer.join();

  ASSERT_TRUE(received) << received.error().message;
  ASSERT_EQ(received->size(), 1U);
  EXPECT_LT(waited, 5s);
}

// 4 consumer threads, each with its own Queue, drain 4 x 1000 messages: every message is
// received and removed exactly once (the clock stands still, so nothing expires).
TEST_F(LocalQueueTest, ConcurrentConsumersRemoveEveryMessageExactlyOnce) {
  constexpr int k_threads = 4;
  constexpr int k_per_thread = 1000;
  constexpr int k_total = k_threads * k_per_thread;
  ASSERT_TRUE(fs::create_directories(m_inbox));
  for (int index = 0; index < k_total; ++index) {
    ASSERT_TRUE(publish_local_message(m_inbox, std::to_string(index)));
  }
  std::mutex mutex;
  std::map<std::string, int> received_count;
  std::atomic<int> removed{0};
  std::atomic<int> failures{0};

  std::vector<std::thread> consumers;
  for (int thread = 0; thread < k_threads; ++thread) {
    consumers.emplace_back([&] {
      auto queue = open_queue(m_inbox, m_clock);
      const auto give_up = std::chrono::steady_clock::now() + 60s;
      while (removed.load() < k_total && std::chrono::steady_clock::now() < give_up) {
        auto batch = queue->receive(10, 1s);
        if (!batch) {
          failures.fetch_add(1);
          continue;
        }
        {
          const std::lock_guard lock(mutex);
          for (const Message& message : *batch) {
            received_count[message.body] += 1;
          }
        }
        auto outcome = queue->remove(*batch);
        if (!outcome || !outcome->all_succeeded()) {
          failures.fetch_add(1);
          continue;
        }
        removed.fetch_add(static_cast<int>(batch->size()));
      }
    });
  }
  for (auto& consumer : consumers) {
    consumer.join();
  }

  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(removed.load(), k_total);
  ASSERT_EQ(received_count.size(), static_cast<std::size_t>(k_total));
  EXPECT_TRUE(std::all_of(received_count.begin(), received_count.end(),
                          [](const auto& entry) { return entry.second == 1; }));
  EXPECT_EQ(names_in(m_inbox / "inflight").size(), 0U);
}

// Consumer processes on one inbox: each writes the bodies it received to its own file.
TEST_F(LocalQueueTest, ConsumerProcessesNeverShareAMessage) {
  constexpr int k_processes = 3;
  constexpr int k_total = 600;
  ASSERT_TRUE(fs::create_directories(m_inbox));
  for (int index = 0; index < k_total; ++index) {
    ASSERT_TRUE(publish_local_message(m_inbox, std::to_string(index)));
  }

  std::vector<pid_t> children;
  for (int process = 0; process < k_processes; ++process) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto queue = make_local_queue({.inbox = m_inbox}, m_clock);
      std::ofstream log(m_dir.path(fmt::format("consumer-{}.log", process)));
      int exit_code = queue ? 0 : 2;
      while (queue) {
        auto batch = (*queue)->receive(10, 1s);
        if (!batch || batch->empty()) {
          exit_code = batch ? 0 : 3;
          break;
        }
        for (const Message& message : *batch) {
          log << message.body << '\n';
        }
        if (auto outcome = (*queue)->remove(*batch); !outcome || !outcome->all_succeeded()) {
          exit_code = 4;
          break;
        }
      }
      log.flush();
      ::_exit(exit_code);
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  }

  std::multiset<std::string> bodies;
  for (int process = 0; process < k_processes; ++process) {
    std::ifstream log(m_dir.path(fmt::format("consumer-{}.log", process)));
    for (std::string line; std::getline(log, line);) {
      bodies.insert(line);
    }
  }
  EXPECT_EQ(bodies.size(), static_cast<std::size_t>(k_total));
  EXPECT_EQ(std::set<std::string>(bodies.begin(), bodies.end()).size(),
            static_cast<std::size_t>(k_total));
}

} // namespace
} // namespace rsi::queue
