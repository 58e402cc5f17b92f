// A 1 GiB object through the S3 backend with bounded memory: objectstore_stream_tool uploads
// it (streamed, multipart) into the S3 emulator and downloads it to a hashing sink, each run
// under /usr/bin/time -v; both peaks of resident memory must stay under 64 MiB and the
// downloaded bytes must hash like the uploaded ones. RSI_TEST_STREAM_BYTES overrides the size.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include "s3_test_support.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"

namespace rsi::objectstore {
namespace {

constexpr long k_rss_limit_kb = 64 * 1024;

struct ToolRun {
  int exit_code = -1;
  std::string output;   // The tool's stdout.
  std::string errors;   // Its stderr and time's report.
  long max_rss_kb = -1; // From "Maximum resident set size (kbytes)".
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream input(path);
  std::stringstream content;
  content << input.rdbuf();
  return content.str();
}

ToolRun timed(const test::TempDir& dir, const std::string& arguments) {
  const auto out = dir.path("out.txt");
  const auto err = dir.path("err.txt");
  const std::string command = fmt::format("/usr/bin/time -v {} {} >{} 2>{}", RSI_STREAM_TOOL,
                                          arguments, out.string(), err.string());
  const int status = std::system(command.c_str());
  ToolRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.output = read_file(out);
  run.errors = read_file(err);
  std::smatch match;
  if (std::regex_search(run.errors, match,
                        std::regex(R"(Maximum resident set size \(kbytes\): (\d+))"))) {
    run.max_rss_kb = std::stol(match[1]);
  }
  return run;
}

TEST(StreamingMemoryTest, OneGibibyteObjectUpAndDownUnder64MiBResident) {
#if defined(RSI_ADDRESS_SANITIZER)
  GTEST_SKIP()
      << "resident memory under AddressSanitizer (shadow memory, quarantine) is not the program's; "
         "the release build measures it";
#endif
  RSI_REQUIRE_SERVICE(test::s3_endpoint(), "S3 emulator (RSI_TEST_S3_ENDPOINT)");
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/time"))
      << "install the `time` package (scripts/setup)";
  const char* override_bytes = std::getenv("RSI_TEST_STREAM_BYTES");
  const std::string bytes = override_bytes != nullptr ? override_bytes : "1073741824";
  const std::string& bucket = test::shared_test_bucket();
  const std::string key = test::unique_name("stream") + "/object.bin";
  const std::string target = fmt::format("{} {} {} {}", *test::s3_endpoint(), bucket, key, bytes);
  test::TempDir dir;

  const ToolRun put = timed(dir, "put " + target);
  const ToolRun get = timed(dir, "get " + target);

  ASSERT_EQ(put.exit_code, 0) << put.errors;
  ASSERT_EQ(get.exit_code, 0) << get.errors;
  EXPECT_EQ(get.output, put.output);
  EXPECT_NE(get.output.find("bytes=" + bytes + " "), std::string::npos) << get.output;
  RecordProperty("put_max_rss_kb", std::to_string(put.max_rss_kb));
  RecordProperty("get_max_rss_kb", std::to_string(get.max_rss_kb));
  std::printf("peak RSS: put %ld kB, get %ld kB\n", put.max_rss_kb, get.max_rss_kb);
  ASSERT_GT(get.max_rss_kb, 0) << get.errors;
  EXPECT_LT(get.max_rss_kb, k_rss_limit_kb);
  EXPECT_LT(put.max_rss_kb, k_rss_limit_kb);

  S3Config config = test::s3_test_config(bucket, 16ULL * 1024 * 1024);
  config.prefix.clear();
  auto store = make_s3_object_store(config);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_TRUE((*store)->remove(key)); // Gives the emulator its disk back.
}

} // namespace
} // namespace rsi::objectstore
