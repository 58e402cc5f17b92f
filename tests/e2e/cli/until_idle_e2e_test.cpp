// `rs_ingester run --until-idle`, `wait` and `status` as processes on a data directory: they
// share one rule for "nothing is left that goes on by itself" (status/status.hpp), and their
// exit statuses say whether everything was loaded (0), something was left behind (3), or
// `wait` gave up (4).
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "queue/local_queue.hpp"
#include "sqlite/database.hpp"
#include "support/process.hpp"
#include "support/s3_notifications.hpp"
#include "support/temp_dir.hpp"

namespace rsi {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
namespace n = test::notifications;

constexpr int k_left_behind = 3;
constexpr int k_timeout = 4;

class UntilIdleE2E : public ::testing::Test {
protected:
  void SetUp() override {
    fs::create_directories(m_data / "schemas" / "events");
    std::ofstream(m_data / "schemas" / "events" / "v0.json")
        << R"({"Columns":[{"OutboundName":"id","Transformer":"bigint","ColumnCreationOptions":""}]})";
  }

  // `rs_ingester ARGS...` to its end; its exit status and output.
  std::pair<int, std::string> run_cli(std::vector<std::string> args,
                                      std::chrono::seconds timeout = 120s) {
    return test::run_to_end(RSI_RS_INGESTER_BIN, std::move(args),
                            m_dir.path(fmt::format("cli-{}.log", ++m_runs)), timeout);
  }

  // Store a gzip file of `rows` ids and announce it, as `rs_ingester load` does.
  void announce(const std::string& name, int rows) {
    const fs::path plain = m_dir.path(name);
    {
      std::ofstream out(plain);
      for (int row = 0; row < rows; ++row) {
        out << row << "\n";
      }
    }
    ASSERT_EQ(std::system(fmt::format("gzip -f '{}'", plain.string()).c_str()), 0);
    auto [status, output] = run_cli(
        {"load", plain.string() + ".gz", "--table", "events", "--data-dir", m_data.string()});
    ASSERT_EQ(status, 0) << output;
  }

  std::vector<std::string> run_until_idle() {
    return {"run", "--data-dir", m_data.string(), "--until-idle", "--control-addr", ""};
  }

  test::TempDir m_dir;
  fs::path m_data = m_dir.path("data");
  int m_runs = 0;
};

TEST_F(UntilIdleE2E, LoadsEverythingAnnouncedAndExitsZero) {
  announce("a.tsv", 10);
  announce("b.tsv", 20);

  auto [status, output] = run_cli(run_until_idle());

  EXPECT_EQ(status, 0) << output;
  auto warehouse = sqlite::Database::open(m_data / "warehouse.db");
  ASSERT_TRUE(warehouse) << warehouse.error().message;
  auto count = warehouse->prepare("SELECT count(*) FROM events");
  ASSERT_TRUE(count && count->step().value_or(false));
  EXPECT_EQ(count->integer(0), 30);
}

TEST_F(UntilIdleE2E, MaxBatchFilesLoadsATablesFilesInBatchesOfAtMostThatMany) {
  for (int file = 0; file < 5; ++file) {
    announce(fmt::format("f{}.tsv", file), file + 1);
  }
  auto until_idle = run_until_idle();
  until_idle.insert(until_idle.end(), {"--max-batch-files", "2"});

  auto [status, output] = run_cli(until_idle);

  EXPECT_EQ(status, 0) << output;
  auto warehouse = sqlite::Database::open(m_data / "warehouse.db");
  ASSERT_TRUE(warehouse) << warehouse.error().message;
  auto batches = warehouse->prepare(
      R"(SELECT count(*), sum(file_count), max(file_count) FROM "infra.load_manifest")");
  ASSERT_TRUE(batches && batches->step().value_or(false));
  EXPECT_EQ(batches->integer(0), 3) << "5 files in batches of at most 2";
  EXPECT_EQ(batches->integer(1), 5);
  EXPECT_EQ(batches->integer(2), 2);
  auto count = warehouse->prepare("SELECT count(*) FROM events");
  ASSERT_TRUE(count && count->step().value_or(false));
  EXPECT_EQ(count->integer(0), 1 + 2 + 3 + 4 + 5);
}

TEST_F(UntilIdleE2E, ARejectedMessageIsLeftBehindAndSaysSo) {
  announce("a.tsv", 5);
  ASSERT_TRUE(queue::publish_local_message(m_data / "inbox", "not a file pointer"));

  auto [status, output] = run_cli(run_until_idle());

  EXPECT_EQ(status, k_left_behind) << output;
  EXPECT_NE(output.find("1 messages rejected"), std::string::npos) << output;
}

TEST_F(UntilIdleE2E, ABadFileIsQuarantinedTheRestLoadsAndItIsLeftBehindByName) {
  announce("a.tsv", 10);
  announce("bad.tsv", 3);
  announce("b.tsv", 20);
  // Break the stored object after it was announced: its gzip stream ends early.
  const fs::path object = m_data / "objects" / "local" / "events" / "v0" / "bad.tsv.gz";
  ASSERT_TRUE(fs::exists(object)) << "where `rs_ingester load` stores files moved?";
  fs::resize_file(object, fs::file_size(object) / 2);

  const auto started = std::chrono::steady_clock::now();
  auto [status, output] = run_cli(run_until_idle());
  const auto took = std::chrono::steady_clock::now() - started;

  EXPECT_EQ(status, k_left_behind) << output;
  EXPECT_NE(output.find("quarantined file local/events/v0/bad.tsv.gz (id 1, truncated_gzip)"),
            std::string::npos)
      << output;
  EXPECT_LT(took, 60s) << "a bad file does not hold --until-idle up for retries";
  auto warehouse = sqlite::Database::open(m_data / "warehouse.db");
  ASSERT_TRUE(warehouse) << warehouse.error().message;
  auto count = warehouse->prepare("SELECT count(*) FROM events");
  ASSERT_TRUE(count && count->step().value_or(false));
  EXPECT_EQ(count->integer(0), 30) << "the good files loaded";

  auto [status_status, status_output] = run_cli({"status", "--data-dir", m_data.string()});
  EXPECT_EQ(status_status, 0) << status_output;
  EXPECT_NE(status_output.find("quarantined file 1 of events v0: local/events/v0/bad.tsv.gz "
                               "(truncated_gzip), 1 attempt(s)"),
            std::string::npos)
      << status_output;
}

TEST_F(UntilIdleE2E, FilesOfAnOlderVersionThanTheTablesAreLeftBehind) {
  fs::copy_file(m_data / "schemas" / "events" / "v0.json",
                m_data / "schemas" / "events" / "v1.json");
  announce("current.tsv", 3);
  auto [status, output] = run_cli(run_until_idle());
  ASSERT_EQ(status, 0) << output;
  // The table is at v0; a v1 file moves it to v1, then a late v0 file can never load.
  const fs::path v1 = m_dir.path("v1.tsv");
  std::ofstream(v1) << "1\n";
  ASSERT_EQ(std::system(fmt::format("gzip -f '{}'", v1.string()).c_str()), 0);
  auto loaded = run_cli({"load", v1.string() + ".gz", "--table", "events", "--version", "1",
                         "--data-dir", m_data.string()});
  ASSERT_EQ(loaded.first, 0) << loaded.second;
  ASSERT_EQ(run_cli(run_until_idle()).first, 0);
  announce("late.tsv", 2);

  auto [late_status, late_output] = run_cli(run_until_idle());

  EXPECT_EQ(late_status, k_left_behind) << late_output;
  EXPECT_NE(
      late_output.find("1 files of events were written for a version older than the table's v1"),
      std::string::npos)
      << late_output;
}

TEST_F(UntilIdleE2E, AMessageOfATableWithoutASchemaIsLeftInTheInboxForTheNextRun) {
  announce("a.tsv", 2);
  ASSERT_TRUE(queue::publish_local_message(
      m_data / "inbox",
      R"({"KeyName":"local/new_event/v0/x.gz","TableName":"new_event","TableVersion":0})"));

  auto [status, output] = run_cli(run_until_idle());

  EXPECT_EQ(status, k_left_behind) << output;
  EXPECT_NE(output.find("1 messages of table new_event wait for its schema"), std::string::npos)
      << output;
  auto [status_code, status_output] = run_cli({"status", "--data-dir", m_data.string()});
  EXPECT_EQ(status_code, 0) << status_output;
  EXPECT_NE(status_output.find("inbox: 0 messages waiting, 1 being recorded"), std::string::npos)
      << status_output;
  EXPECT_NE(status_output.find("1 messages of new_event wait for its event metadata"),
            std::string::npos)
      << status_output;
  auto ingester = sqlite::Database::open(m_data / "ingester.db");
  ASSERT_TRUE(ingester) << ingester.error().message;
  auto rejected = ingester->prepare("SELECT count(*) FROM rejected_message");
  ASSERT_TRUE(rejected && rejected->step().value_or(false));
  EXPECT_EQ(rejected->integer(0), 0) << "not rejected: its schema may still come";
}

TEST_F(UntilIdleE2E, HostileInboxFilesAreSetAsideUnreadInBoundedMemory) {
  announce("a.tsv", 3);
  const fs::path inbox = m_data / "inbox";
  // A 200 MiB message (sparse: no disk needed), a link to a private file, a named pipe.
  { std::ofstream(inbox / "huge"); }
  fs::resize_file(inbox / "huge", 200ull * 1024 * 1024);
  const fs::path secret = m_dir.path("secret.txt");
  std::ofstream(secret) << "TOP-SECRET-CONTENT";
  fs::permissions(secret, fs::perms::owner_read | fs::perms::owner_write);
  fs::create_symlink(secret, inbox / "link");
  ASSERT_EQ(::mkfifo((inbox / "pipe").c_str(), 0600), 0);

  // GNU time reports the peak resident set of the whole run.
  const fs::path log = m_dir.path("hostile.log");
  std::vector<std::string> args{"-f", "peak_rss_kib=%M", RSI_RS_INGESTER_BIN};
  const auto until_idle = run_until_idle();
  args.insert(args.end(), until_idle.begin(), until_idle.end());
  test::Process process("/usr/bin/time", args, log);
  const auto status = process.wait(120s);
  const std::string output = process.log_text();

  ASSERT_TRUE(status.has_value()) << output;
  EXPECT_EQ(*status, k_left_behind) << output;
  EXPECT_NE(output.find("3 inbox files set aside in inbox/rejected"), std::string::npos) << output;
  const auto peak = output.find("peak_rss_kib=");
  ASSERT_NE(peak, std::string::npos) << output;
  EXPECT_LT(std::stoll(output.substr(peak + 13)), 64 * 1024)
      << "a 200 MiB file must not be read into memory";
  EXPECT_EQ(output.find("TOP-SECRET"), std::string::npos)
      << "a link's target is never read or logged";
  for (const char* name : {"huge", "link", "pipe"}) {
    EXPECT_TRUE(fs::exists(fs::symlink_status(inbox / "rejected" / name))) << name;
    EXPECT_TRUE(fs::exists(inbox / "rejected" / (std::string(name) + ".reason"))) << name;
  }
  auto warehouse = sqlite::Database::open(m_data / "warehouse.db");
  ASSERT_TRUE(warehouse) << warehouse.error().message;
  auto count = warehouse->prepare("SELECT count(*) FROM events");
  ASSERT_TRUE(count && count->step().value_or(false));
  EXPECT_EQ(count->integer(0), 3) << "the good file loads all the same";
}

TEST_F(UntilIdleE2E, S3NotificationsInTheInboxLoadThroughTheRoutesAndAHostileOneCostsLittle) {
  // Objects of bucket "acme" as S3 would hold them; a key with a space.
  for (const auto& [key, rows] :
       std::vector<std::pair<std::string, int>>{{"logs/events/v0/a.tsv", 4},
                                                {"logs/events/v0/b c.tsv", 5},
                                                {"exports/events/x.tsv", 6}}) {
    const fs::path plain = m_data / "objects" / "acme" / key;
    fs::create_directories(plain.parent_path());
    {
      std::ofstream out(plain);
      for (int row = 0; row < rows; ++row) {
        out << row << "\n";
      }
    }
    ASSERT_EQ(std::system(fmt::format("gzip -f '{}'", plain.string()).c_str()), 0);
  }
  const fs::path inbox = m_data / "inbox";
  fs::create_directories(inbox);
  ASSERT_TRUE(queue::publish_local_message(
      inbox, n::s3_event({{.bucket = "acme", .encoded_key = "logs/events/v0/a.tsv.gz"},
                          {.bucket = "acme", .encoded_key = "logs/events/v0/b+c.tsv.gz"}})));
  ASSERT_TRUE(queue::publish_local_message(
      inbox, n::sns_envelope(n::eventbridge_event("acme", "exports/events/x.tsv.gz"))));
  ASSERT_TRUE(queue::publish_local_message(inbox, n::s3_test_event("acme")));
  // Just under the inbox's 256 KiB: thousands of records whose keys no rule matches, each made
  // to make a backtracking matcher try every split.
  const n::S3Record record{.bucket = "acme", .encoded_key = "logs/" + std::string(60, 'v') + "/v"};
  const std::vector<n::S3Record> hostile(240 * 1024 / (n::s3_event({record}).size() + 1), record);
  ASSERT_TRUE(queue::publish_local_message(inbox, n::s3_event(hostile)));

  // GNU time reports the peak resident set of the whole run.
  std::vector<std::string> args{"-f", "peak_rss_kib=%M", RSI_RS_INGESTER_BIN};
  auto until_idle = run_until_idle();
  until_idle.insert(until_idle.end(),
                    {"--route", "logs/{table}/v{version}/**", "--route", "exports/{table}/**"});
  args.insert(args.end(), until_idle.begin(), until_idle.end());
  test::Process process("/usr/bin/time", args, m_dir.path("s3.log"));
  const auto status = process.wait(120s);
  const std::string output = process.log_text();

  ASSERT_TRUE(status.has_value()) << output;
  EXPECT_EQ(*status, k_left_behind) << output;
  EXPECT_NE(output.find("1 messages rejected"), std::string::npos) << output;
  EXPECT_NE(output.find("S3 keys routed by --route 'exports/{table}/**'"), std::string::npos)
      << output;
  const auto peak = output.find("peak_rss_kib=");
  ASSERT_NE(peak, std::string::npos) << output;
  EXPECT_LT(std::stoll(output.substr(peak + 13)), 64 * 1024);
  auto warehouse = sqlite::Database::open(m_data / "warehouse.db");
  ASSERT_TRUE(warehouse) << warehouse.error().message;
  auto count = warehouse->prepare("SELECT count(*) FROM events");
  ASSERT_TRUE(count && count->step().value_or(false));
  EXPECT_EQ(count->integer(0), 4 + 5 + 6) << "every routed object, the current version for x";
  auto ingester = sqlite::Database::open(m_data / "ingester.db");
  ASSERT_TRUE(ingester) << ingester.error().message;
  auto reason = ingester->prepare("SELECT reason FROM rejected_message");
  ASSERT_TRUE(reason && reason->step().value_or(false));
  EXPECT_NE(std::string(reason->text(0)).find("no --route matches"), std::string::npos);
}

TEST_F(UntilIdleE2E, StatusCountsMessagesWaitingInTheInbox) {
  announce("a.tsv", 1);
  announce("b.tsv", 1);

  auto [status, output] = run_cli({"status", "--data-dir", m_data.string()});

  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find("inbox: 2 messages waiting, 0 being recorded"), std::string::npos)
      << output;
}

TEST_F(UntilIdleE2E, WaitGivesUpWhileMessagesWaitAndReturnsOnceTheyAreLoaded) {
  announce("a.tsv", 4);

  auto [status, output] = run_cli({"wait", "--data-dir", m_data.string(), "--timeout", "2"});
  EXPECT_EQ(status, k_timeout) << "nothing runs, so the message still waits:\n" << output;
  EXPECT_NE(output.find("still busy after 2s: inbox 1"), std::string::npos) << output;

  test::Process runner(
      RSI_RS_INGESTER_BIN,
      {"run", "--data-dir", m_data.string(), "--control-addr", "", "--load-age", "0"},
      m_dir.path("runner.log"));
  auto [waited, wait_output] = run_cli({"wait", "--data-dir", m_data.string(), "--timeout", "120"});
  EXPECT_EQ(waited, 0) << wait_output << runner.log_text();
  runner.signal(SIGTERM);
  EXPECT_EQ(runner.wait(30s), 0) << runner.log_text();
}

} // namespace
} // namespace rsi
