// S3 GET and PUT throughput of our object store next to the curl command-line tool, on the
// same object, against the S3 emulator at RSI_TEST_S3_ENDPOINT (README.md: method, figures).
//
//   s3_throughput [object_MiB=256] [runs=5]
//
// Each run times, alternating: curl GET, our GET, curl single PUT, curl multipart PUT (the
// same requests our store makes, one curl per request), our PUT in three variants. curl's own
// %{time_total} is its figure (process start excluded: the baseline is not handicapped); ours
// is the wall time of the ObjectStore call. Medians of the runs, and ours / curl for the
// same request shape.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "bench_support.hpp"
#include "http/client.hpp"
#include "http/curl_global.hpp"
#include "objectstore/s3_object_store.hpp"

namespace {

using rsi::bench::median;

using rsi::Result;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t k_mib = 1024 * 1024;

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "s3_throughput: %s\n", message.c_str());
  std::exit(1);
}

struct CurlRun {
  double seconds = 0; // curl's own %{time_total}.
  std::string body;   // What the server answered (with -o - ).
  std::string etag;   // The ETag response header.
};

// Runs a curl command line; the response body must go to stdout (or /dev/null).
CurlRun curl_run(const std::string& arguments) {
  const std::string command =
      fmt::format("curl -sS --fail -w '\\n@@%{{time_total}} %header{{etag}}' {}", arguments);
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    die("cannot run curl");
  }
  std::string output;
  char buffer[4096];
  for (std::size_t got; (got = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;) {
    output.append(buffer, got);
  }
  const auto marker = output.rfind("\n@@");
  if (pclose(pipe) != 0 || marker == std::string::npos) {
    die("curl failed: " + command);
  }
  CurlRun run;
  run.body = output.substr(0, marker);
  const std::string tail = output.substr(marker + 3);
  run.seconds = std::strtod(tail.c_str(), nullptr);
  if (const auto space = tail.find(' '); space != std::string::npos) {
    run.etag = tail.substr(space + 1);
  }
  return run;
}

double curl_seconds(const std::string& arguments) { return curl_run(arguments).seconds; }

// The multipart upload our store makes, done with curl: create, one PUT per pre-split part
// file, complete; the sum of curl's own times.
double curl_multipart_seconds(const std::string& auth, const std::string& object_url,
                              const std::vector<std::string>& part_files) {
  const CurlRun created = curl_run(fmt::format("{} -X POST -o - '{}?uploads='", auth, object_url));
  const auto id_start = created.body.find("<UploadId>");
  const auto id_end = created.body.find("</UploadId>");
  if (id_start == std::string::npos || id_end == std::string::npos) {
    die("no UploadId from curl: " + created.body);
  }
  const std::string upload_id = created.body.substr(id_start + 10, id_end - id_start - 10);
  double seconds = created.seconds;
  std::string complete = "<CompleteMultipartUpload>";
  for (std::size_t idx = 0; idx < part_files.size(); ++idx) {
    const CurlRun part =
        curl_run(fmt::format("{} -T {} -o /dev/null '{}?partNumber={}&uploadId={}'", auth,
                             part_files[idx], object_url, idx + 1, upload_id));
    seconds += part.seconds;
    complete +=
        fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", idx + 1, part.etag);
  }
  complete += "</CompleteMultipartUpload>";
  seconds += curl_run(fmt::format("{} -X POST --data-binary '{}' -o /dev/null '{}?uploadId={}'",
                                  auth, complete, object_url, upload_id))
                 .seconds;
  return seconds;
}

double timed(const std::function<Result<void>()>& action) {
  const auto start = Clock::now();
  if (auto done = action(); !done) {
    die(done.error().message);
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::unique_ptr<rsi::objectstore::ObjectStore>
make_store(const std::string& endpoint, const std::string& bucket, std::uint64_t part_size,
           rsi::objectstore::PayloadSigning signing) {
  rsi::objectstore::S3Config config;
  config.bucket = bucket;
  config.aws = {.region = "us-east-1", .endpoint = endpoint, .profile = ""};
  config.credentials = rsi::http::make_static_credentials_provider({.access_key_id = "S3RVER",
                                                                    .secret_access_key = "S3RVER",
                                                                    .session_token = "",
                                                                    .expiration = std::nullopt});
  config.part_size_bytes = part_size;
  config.payload_signing = signing;
  auto store = rsi::objectstore::make_s3_object_store(config);
  if (!store) {
    die(store.error().message);
  }
  return std::move(*store);
}

struct Series {
  std::string name;
  std::vector<double> seconds;
};

} // namespace

int main(int argc, char** argv) {
  const std::uint64_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 256;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  const char* endpoint_env = std::getenv("RSI_TEST_S3_ENDPOINT");
  if (endpoint_env == nullptr || mib == 0 || runs <= 0) {
    die("set RSI_TEST_S3_ENDPOINT (scripts/lib/services.sh start_service s3rver); args: [MiB] "
        "[runs]");
  }
  const std::string endpoint = endpoint_env;
  const rsi::http::CurlGlobal curl_global;
  const std::uint64_t size = mib * k_mib;
  const std::string bucket = fmt::format("rsi-bench-{}", getpid());
  const std::string file = fmt::format("/tmp/rsi-bench-{}.bin", getpid());
  {
    std::ofstream out(file, std::ios::binary);
    std::mt19937_64 rng(42);
    std::vector<std::uint64_t> block(k_mib / 8);
    for (std::uint64_t written = 0; written < size; written += k_mib) {
      std::generate(block.begin(), block.end(), std::ref(rng));
      out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(k_mib));
    }
  }
  std::vector<std::string> part_files; // The same bytes in 16 MiB files, for curl's multipart.
  {
    std::ifstream in(file, std::ios::binary);
    std::vector<char> part(16 * k_mib);
    for (int idx = 0; in; ++idx) {
      in.read(part.data(), static_cast<std::streamsize>(part.size()));
      if (in.gcount() == 0) {
        break;
      }
      part_files.push_back(fmt::format("{}.part{}", file, idx));
      std::ofstream(part_files.back(), std::ios::binary).write(part.data(), in.gcount());
    }
  }
  const std::string auth = "--aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER "
                           "-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD'";
  const std::string url = fmt::format("{}/{}", endpoint, bucket);
  curl_seconds(fmt::format("{} -X PUT -o /dev/null {}", auth, url)); // CreateBucket.
  curl_seconds(fmt::format("{} -T {} -o /dev/null {}/object", auth, file, url));

  using rsi::objectstore::PayloadSigning;
  auto default_store = make_store(endpoint, bucket, 16 * k_mib, PayloadSigning::automatic);
  auto unsigned_store = make_store(endpoint, bucket, 16 * k_mib, PayloadSigning::unsigned_payload);
  auto single_store = make_store(endpoint, bucket, size, PayloadSigning::unsigned_payload);
  const auto null_get = [&](rsi::objectstore::ObjectStore& store) {
    return [&store]() -> Result<void> {
      RSI_TRY_ASSIGN(auto info,
                     store.get("object", [](std::string_view) -> Result<void> { return {}; }));
      if (!info) {
        return rsi::fail(rsi::ErrorKind::permanent, "object missing");
      }
      return {};
    };
  };

  Series curl_get{"curl GET", {}};
  Series our_get{"ours GET (get → null sink)", {}};
  Series curl_put{"curl PUT (single PUT, UNSIGNED-PAYLOAD)", {}};
  Series curl_multipart{"curl PUT, multipart by hand (16 MiB parts, UNSIGNED-PAYLOAD)", {}};
  Series our_put_default{"ours PUT, default (16 MiB parts, SHA-256 signed)", {}};
  Series our_put_unsigned{"ours PUT, 16 MiB parts, UNSIGNED-PAYLOAD", {}};
  Series our_put_single{"ours PUT, single PUT, UNSIGNED-PAYLOAD", {}};
  // Warm-up: page cache, connections, s3rver's JIT.
  (void)timed(null_get(*default_store));
  curl_seconds(fmt::format("{} -o /dev/null {}/object", auth, url));
  for (int run = 0; run < runs; ++run) {
    curl_get.seconds.push_back(curl_seconds(fmt::format("{} -o /dev/null {}/object", auth, url)));
    our_get.seconds.push_back(timed(null_get(*default_store)));
    curl_put.seconds.push_back(
        curl_seconds(fmt::format("{} -T {} -o /dev/null {}/curl-put", auth, file, url)));
    curl_multipart.seconds.push_back(
        curl_multipart_seconds(auth, url + "/curl-multipart", part_files));
    our_put_default.seconds.push_back(
        timed([&] { return default_store->put_file("put-default", file); }));
    our_put_unsigned.seconds.push_back(
        timed([&] { return unsigned_store->put_file("put-unsigned", file); }));
    our_put_single.seconds.push_back(
        timed([&] { return single_store->put_file("put-single", file); }));
    std::fprintf(stderr, "run %d/%d done\n", run + 1, runs);
  }
  for (const auto* key :
       {"object", "curl-put", "curl-multipart", "put-default", "put-unsigned", "put-single"}) {
    (void)default_store->remove(key);
  }
  std::remove(file.c_str());
  for (const auto& part : part_files) {
    std::remove(part.c_str());
  }

  const auto rate = [&](const Series& series) {
    return static_cast<double>(mib) / median(series.seconds);
  };
  std::printf("object %llu MiB, %d runs, medians\n\n", static_cast<unsigned long long>(mib), runs);
  std::printf("| transfer | MiB/s | vs curl |\n|---|---:|---:|\n");
  std::printf("| %s | %.0f | 1.00 |\n", curl_get.name.c_str(), rate(curl_get));
  std::printf("| %s | %.0f | %.2f |\n", our_get.name.c_str(), rate(our_get),
              rate(our_get) / rate(curl_get));
  std::printf("| %s | %.0f | 1.00 |\n", curl_put.name.c_str(), rate(curl_put));
  std::printf("| %s | %.0f | %.2f |\n", our_put_single.name.c_str(), rate(our_put_single),
              rate(our_put_single) / rate(curl_put));
  std::printf("| %s | %.0f | 1.00 |\n", curl_multipart.name.c_str(), rate(curl_multipart));
  for (const Series* series : {&our_put_default, &our_put_unsigned}) {
    std::printf("| %s | %.0f | %.2f |\n", series->name.c_str(), rate(*series),
                rate(*series) / rate(curl_multipart));
  }
  std::printf("\nours PUT default vs curl single PUT: %.2f\n",
              rate(our_put_default) / rate(curl_put));
  return 0;
}
