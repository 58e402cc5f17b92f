// SQS consume throughput: receive + delete messages/s, batched (10 per ReceiveMessage, one
// DeleteMessageBatch per receive) against the baseline of one message per receive and per
// delete, in the same process against the same server, alternating which goes first.
//
//   sqs_throughput [--endpoint URL] [--messages N] [--runs R]
//
// The endpoint defaults to RSI_TEST_SQS_ENDPOINT (bench/queue/README.md shows how to start
// fauxqs). Each run sends N messages (not timed), then times draining them.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "bench_support.hpp"
#include "http/curl_global.hpp"
#include "queue/queue.hpp"
#include "sqs_test_queue.hpp"

namespace rsi::queue {
namespace {

using rsi::bench::median;

using namespace std::chrono_literals;

struct Options {
  std::string endpoint;
  int messages = 2000;
  int runs = 5;
};

struct Mode {
  std::string_view name;
  std::size_t per_receive = 1;
};

constexpr Mode k_batched{"batched (10 per receive, batch delete)", k_max_batch};
constexpr Mode k_single{"single (1 per receive, 1 per delete)", 1};

Result<void> fill(rsi::test::SqsTestQueue& queue, int messages) {
  std::vector<std::string> bodies;
  for (int index = 0; index < messages; ++index) {
    bodies.push_back(fmt::format(R"({{"KeyName":"bucket/prefix/20160729/t/v0/file-{}.log.gz",)"
                                 R"("TableName":"t","TableVersion":0}})",
                                 index));
    if (bodies.size() == k_max_batch || index + 1 == messages) {
      RSI_TRY(queue.send(bodies));
      bodies.clear();
    }
  }
  return {};
}

// Drain `messages` with `mode` and return messages per second.
Result<double> drain(rsi::test::SqsTestQueue& queue, const Mode& mode, int messages) {
  RSI_TRY_ASSIGN(auto consumer, queue.open(std::chrono::seconds(120)));
  int done = 0;
  const auto start = std::chrono::steady_clock::now();
  while (done < messages) {
    RSI_TRY_ASSIGN(auto batch, consumer->receive(mode.per_receive, 1s));
    if (batch.empty()) {
      return fail(ErrorKind::permanent, fmt::format("queue ran dry at {} of {}", done, messages));
    }
    for (std::size_t first = 0; first < batch.size(); first += mode.per_receive) {
      const auto count = std::min(mode.per_receive, batch.size() - first);
      RSI_TRY_ASSIGN(auto outcome,
                     consumer->remove(std::span<const Message>(batch).subspan(first, count)));
      if (!outcome.all_succeeded()) {
        return fail(outcome.failed.front().error);
      }
    }
    done += static_cast<int>(batch.size());
  }
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  return messages / elapsed.count();
}

int run(const Options& options) {
  auto queue = rsi::test::SqsTestQueue::create(
      options.endpoint, fmt::format("bench_throughput_{}_{}", ::getpid(), std::time(nullptr)));
  if (!queue) {
    std::fprintf(stderr, "create queue: %s\n", queue.error().message.c_str());
    return 1;
  }
  std::vector<double> batched;
  std::vector<double> single;
  std::printf("%d messages per run, %d runs, endpoint %s\n", options.messages, options.runs,
              options.endpoint.c_str());
  for (int run_index = 0; run_index < options.runs; ++run_index) {
    // Alternate the order so that warm-up and drift do not favour one mode.
    const bool batched_first = run_index % 2 == 0;
    for (const Mode* mode :
         batched_first ? std::vector{&k_batched, &k_single} : std::vector{&k_single, &k_batched}) {
      Result<double> rate = fail(ErrorKind::permanent, "not run");
      if (auto filled = fill(**queue, options.messages); !filled) {
        rate = fail(filled.error());
      } else {
        rate = drain(**queue, *mode, options.messages);
      }
      if (!rate) {
        std::fprintf(stderr, "%s: %s\n", std::string(mode->name).c_str(),
                     rate.error().message.c_str());
        return 1;
      }
      (mode == &k_batched ? batched : single).push_back(*rate);
      std::printf("run %d  %-40s %9.0f msg/s\n", run_index + 1, std::string(mode->name).c_str(),
                  *rate);
    }
  }
  const double batched_median = median(batched);
  const double single_median = median(single);
  std::printf("median %-40s %9.0f msg/s\n", std::string(k_batched.name).c_str(), batched_median);
  std::printf("median %-40s %9.0f msg/s\n", std::string(k_single.name).c_str(), single_median);
  std::printf("ratio batched/single: %.1fx\n", batched_median / single_median);
  return 0;
}

} // namespace
} // namespace rsi::queue

int main(int argc, char** argv) {
  rsi::http::CurlGlobal curl;
  rsi::queue::Options options;
  if (const char* endpoint = std::getenv("RSI_TEST_SQS_ENDPOINT")) {
    options.endpoint = endpoint;
  }
  for (int index = 1; index + 1 < argc; index += 2) {
    const std::string_view flag = argv[index];
    if (flag == "--endpoint") {
      options.endpoint = argv[index + 1];
    } else if (flag == "--messages") {
      options.messages = std::max(1, std::atoi(argv[index + 1]));
    } else if (flag == "--runs") {
      options.runs = std::max(1, std::atoi(argv[index + 1]));
    } else {
      std::fprintf(stderr, "unknown flag %s\n", argv[index]);
      return 2;
    }
  }
  if (options.endpoint.empty()) {
    std::fprintf(stderr, "no SQS endpoint: set RSI_TEST_SQS_ENDPOINT or pass --endpoint\n");
    return 2;
  }
  return rsi::queue::run(options);
}
