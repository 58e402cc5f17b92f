// metadatastorer end to end against fauxqs + PostgreSQL: N messages waiting in the queue, the
// daemon started with 1 or 4 listeners, messages per second from start to the last pointer
// committed (start-up included). Median of several runs per listener count; the 1-listener
// figure is the baseline of the 4-listener one.
//
//   storer_bench [--runs N] [--messages N]     (RSI_TEST_PG, RSI_TEST_SQS_ENDPOINT)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench_support.hpp"
#include "common/log.hpp"
#include "core/file_pointer.hpp"
#include "pg/connection.hpp"
#include "sqs_test_queue.hpp"
#include "support/process.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"

namespace {

using rsi::bench::median;

using namespace std::chrono_literals;

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "storer_bench: %s\n", message.c_str());
  std::exit(1);
}

std::int64_t recorded(const std::string& conninfo) {
  auto conn = rsi::pg::Connection::connect(conninfo);
  if (!conn) {
    return -1;
  }
  auto rows = conn->exec("SELECT count(*) FROM tsv");
  return rows ? rows->integer(0, 0) : -1;
}

double run(int listeners, int messages, const std::string& sqs, const std::string& base_pg,
           int index) {
  rsi::test::TempDir dir;
  rsi::test::PostgresSchema schema(base_pg);
  auto queue = rsi::test::SqsTestQueue::create(sqs, rsi::test::unique_name("bench"));
  if (!queue) {
    die(queue.error().message);
  }
  std::vector<std::string> batch;
  for (int message = 0; message < messages; ++message) {
    batch.push_back(rsi::core::encode_file_pointer(
        {.key_name = fmt::format("bucket/t{:02}/{}-{}.gz", message % 50, index, message),
         .table = fmt::format("t{:02}", message % 50)}));
    if (batch.size() == 10 || message + 1 == messages) {
      if (auto sent = (*queue)->send(batch); !sent) {
        die(sent.error().message);
      }
      batch.clear();
    }
  }
  std::string metadata = "{";
  for (int table = 0; table < 50; ++table) {
    metadata += fmt::format("{}\"t{:02}\":{{\"datastores\":{{\"MetadataValue\":\"ace\"}}}}",
                            table == 0 ? "" : ",", table);
  }
  metadata += "}";
  std::ofstream(dir.path("metadata.json")) << metadata;

  const auto start = std::chrono::steady_clock::now();
  rsi::test::Process daemon(RSI_METADATASTORER_BIN,
                            {"-databaseURL", schema.conninfo(), "-sqsQueueName", (*queue)->name(),
                             "-listenerCount", std::to_string(listeners), "-maxDBConnections",
                             std::to_string(listeners), "--event-metadata-url",
                             "file://" + dir.path("metadata.json").string(), "--health-addr", "",
                             "--log-level", "warn"},
                            dir.path("daemon.log"),
                            {{"AWS_ENDPOINT_URL_SQS", sqs},
                             {"AWS_ACCESS_KEY_ID", "x"},
                             {"AWS_SECRET_ACCESS_KEY", "x"},
                             {"AWS_REGION", "us-east-1"}});
  if (!rsi::test::eventually(300s, [&] { return recorded(schema.conninfo()) >= messages; })) {
    die("timed out; daemon log:\n" + daemon.log_text());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  daemon.signal(SIGTERM);
  daemon.wait(10s);
  return messages / seconds;
}

} // namespace

int main(int argc, char** argv) {
  int runs = 3;
  int messages = 10'000;
  for (int index = 1; index + 1 < argc; index += 2) {
    const std::string flag = argv[index];
    if (flag == "--runs") {
      runs = std::stoi(argv[index + 1]);
    } else if (flag == "--messages") {
      messages = std::stoi(argv[index + 1]);
    } else {
      die("unknown flag " + flag);
    }
  }
  const auto pg = rsi::test::postgres_conninfo();
  const auto sqs = rsi::test::sqs_endpoint();
  if (!pg || !sqs) {
    die("set RSI_TEST_PG and RSI_TEST_SQS_ENDPOINT (scripts/bench starts both)");
  }
  std::printf("metadatastorer, %d messages waiting in fauxqs, PostgreSQL ingester database (median "
              "of %d runs)\n",
              messages, runs);
  std::printf("%-10s %12s\n", "listeners", "messages/s");
  std::vector<double> one;
  std::vector<double> four;
  for (int index = 0; index < runs; ++index) {
    one.push_back(run(1, messages, *sqs, *pg, index * 2));
    four.push_back(run(4, messages, *sqs, *pg, index * 2 + 1));
  }
  std::printf("%-10d %12.0f\n%-10d %12.0f\n4 listeners / 1 listener: %.2fx\n", 1, median(one), 4,
              median(four), median(four) / median(one));
  return 0;
}
