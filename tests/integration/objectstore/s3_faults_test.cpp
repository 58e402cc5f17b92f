// The S3 backend against a local fake S3 (cpp-httplib) that misbehaves on cue: throttling,
// server errors, connections dropped mid-body, stalls, bad credentials, failing multipart
// uploads. Checks that retries and resumption recover within the budget and that what cannot
// be recovered fails with a clear error of the right kind.

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "../http/local_server.hpp"
#include "objectstore/s3_object_store.hpp"
#include "s3_test_support.hpp"

namespace rsi::objectstore {
namespace {

using namespace std::chrono_literals;

enum class Fault {
  none,
  slow_down,
  server_error,
  drop_midway,
  stall_midway,
  delay,
  forbidden,
  bad_request
};

struct Seen {
  std::string method;
  std::string target;
  std::string range;
  std::string if_match;
};

class FakeS3 {
public:
  FakeS3() {
    auto& server = m_server.server();
    server.Get("/bucket/(.*)",
               [this](const auto& request, auto& response) { get(request, response); });
    server.Put("/bucket/(.*)",
               [this](const auto& request, auto& response) { put(request, response); });
    server.Post("/bucket/(.*)",
                [this](const auto& request, auto& response) { post(request, response); });
    server.Delete("/bucket/(.*)",
                  [this](const auto& request, auto& response) { remove(request, response); });
    m_server.start();
  }

  void queue(std::initializer_list<Fault> faults) {
    std::lock_guard lock(m_mutex);
    m_faults.insert(m_faults.end(), faults);
  }
  void set_object(std::string data, std::string etag) {
    std::lock_guard lock(m_mutex);
    m_object = std::move(data);
    m_etag = std::move(etag);
  }
  void fail_part(int number) { m_failing_part = number; }
  void complete_with_error() { m_complete_error = true; }
  std::vector<Seen> seen() {
    std::lock_guard lock(m_mutex);
    return m_seen;
  }
  std::string stored() {
    std::lock_guard lock(m_mutex);
    return m_stored;
  }

  S3Config config(std::uint64_t part_size = 5ULL * 1024 * 1024) {
    S3Config config;
    config.bucket = "bucket";
    config.aws = {.region = "us-east-1", .endpoint = m_server.url(), .profile = ""};
    config.credentials = test::s3_test_credentials();
    config.part_size_bytes = part_size;
    config.retry.initial_delay = 5ms;
    config.retry.max_delay = 20ms;
    config.retry.max_attempts = 4;
    config.request_timeout = 300ms;
    config.stall_timeout = 1s;
    return config;
  }

private:
  // The next scripted fault, applied; true when it produced the whole response.
  bool apply_fault(const httplib::Request& request, httplib::Response& response,
                   std::string_view body) {
    Fault fault = Fault::none;
    {
      std::lock_guard lock(m_mutex);
      m_seen.push_back({request.method, request.target, request.get_header_value("Range"),
                        request.get_header_value("If-Match")});
      if (!m_faults.empty()) {
        fault = m_faults.front();
        m_faults.pop_front();
      }
    }
    const auto error = [&](int status, std::string_view code) {
      response.status = status;
      response.set_content(
          fmt::format("<Error><Code>{}</Code><Message>injected</Message></Error>", code),
          "application/xml");
    };
    switch (fault) {
    case Fault::none:
      return false;
    case Fault::slow_down:
      error(503, "SlowDown");
      return true;
    case Fault::server_error:
      error(500, "InternalError");
      return true;
    case Fault::forbidden:
      error(403, "InvalidAccessKeyId");
      return true;
    case Fault::bad_request:
      error(400, "InvalidArgument");
      return true;
    case Fault::delay:
      std::this_thread::sleep_for(900ms);
      return false;
    case Fault::drop_midway:
    case Fault::stall_midway: {
      const std::string copy(body);
      const bool stall = fault == Fault::stall_midway;
      auto start = std::make_shared<std::optional<std::size_t>>();
      // Sends 40% of what was asked for, then stalls or drops the connection.
      response.set_content_provider(
          copy.size(), "application/octet-stream",
          [copy, stall, start](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
            if (!*start) {
              *start = offset;
            }
            if (offset - **start >= (copy.size() - **start) * 2 / 5) {
              if (stall) {
                std::this_thread::sleep_for(2500ms);
              }
              return false;
            }
            sink.write(copy.data() + offset, std::min<std::size_t>(length, 64 * 1024));
            return true;
          });
      return true;
    }
    }
    return false;
  }

  // Serves the whole object; cpp-httplib cuts a requested Range out of it (206 +
  // Content-Range), also from a content provider.
  void get(const httplib::Request& request, httplib::Response& response) {
    std::string object;
    std::string etag;
    {
      std::lock_guard lock(m_mutex);
      object = m_object;
      etag = m_etag;
    }
    if (request.has_header("If-Match") && request.get_header_value("If-Match") != etag) {
      apply_fault(request, response, "");
      // cpp-httplib cuts the Range out of any body, even a 412's (S3 checks If-Match first
      // and sends no range); a body as long as the object keeps the 412 from becoming a 416.
      response.status = 412;
      response.set_content(std::string(object.size(), ' '), "application/xml");
      return;
    }
    response.set_header("ETag", etag);
    if (apply_fault(request, response, object)) {
      return;
    }
    response.set_content(object, "application/octet-stream");
  }

  void put(const httplib::Request& request, httplib::Response& response) {
    if (apply_fault(request, response, "")) {
      return;
    }
    if (request.has_param("partNumber") &&
        std::stoi(request.get_param_value("partNumber")) == m_failing_part) {
      response.status = 400;
      response.set_content("<Error><Code>InvalidPart</Code><Message>no</Message></Error>",
                           "application/xml");
      return;
    }
    std::lock_guard lock(m_mutex);
    m_stored += request.body;
    response.set_header("ETag", fmt::format("\"part-{}\"", m_seen.size()));
  }

  void post(const httplib::Request& request, httplib::Response& response) {
    if (apply_fault(request, response, "")) {
      return;
    }
    if (request.has_param("uploads")) {
      response.set_content("<InitiateMultipartUploadResult><UploadId>up-1</UploadId></"
                           "InitiateMultipartUploadResult>",
                           "application/xml");
    } else if (m_complete_error) {
      response.set_content("<Error><Code>InternalError</Code><Message>try again</Message></Error>",
                           "application/xml");
    } else {
      response.set_content("<CompleteMultipartUploadResult/>", "application/xml");
    }
  }

  void remove(const httplib::Request& request, httplib::Response& response) {
    apply_fault(request, response, "");
    response.status = 204;
  }

  test::LocalServer m_server;
  std::mutex m_mutex;
  std::deque<Fault> m_faults;
  std::vector<Seen> m_seen;
  std::string m_object;
  std::string m_etag = "\"v1\"";
  std::string m_stored;
  std::atomic<int> m_failing_part{0};
  std::atomic<bool> m_complete_error{false};
};

std::string object_bytes(std::size_t size) {
  std::string data(size, '\0');
  for (std::size_t idx = 0; idx < size; ++idx) {
    data[idx] = static_cast<char>((idx * 7 + idx / 251) & 0xff);
  }
  return data;
}

class S3FaultsTest : public ::testing::Test {
protected:
  std::unique_ptr<ObjectStore> make(const S3Config& config) {
    auto store = make_s3_object_store(config);
    EXPECT_TRUE(store) << store.error().message;
    return std::move(*store);
  }

  Result<std::optional<ObjectInfo>> download(ObjectStore& store, std::string& into) {
    return store.get("key", [&](std::string_view chunk) -> Result<void> {
      into.append(chunk);
      return {};
    });
  }

  FakeS3 m_s3;
  const std::string m_data = object_bytes(1'500'000);
};

TEST_F(S3FaultsTest, GetRetriesThrottlingAndServerErrors) {
  m_s3.set_object(m_data, "\"v1\"");
  m_s3.queue({Fault::slow_down, Fault::server_error, Fault::slow_down});
  auto store = make(m_s3.config());
  std::string got;

  auto info = download(*store, got);

  ASSERT_TRUE(info) << info.error().message;
  EXPECT_TRUE(got == m_data) << "got " << got.size() << " bytes of " << m_data.size();
  EXPECT_EQ(m_s3.seen().size(), 4U);
}

TEST_F(S3FaultsTest, GetResumesWhereADroppedConnectionStopped) {
  m_s3.set_object(m_data, "\"v1\"");
  m_s3.queue({Fault::drop_midway, Fault::drop_midway});
  auto store = make(m_s3.config());
  std::string got;

  auto info = download(*store, got);

  ASSERT_TRUE(info) << info.error().message;
  EXPECT_TRUE(got == m_data) << "got " << got.size() << " bytes of " << m_data.size();
  ASSERT_TRUE(info->has_value());
  EXPECT_EQ((*info)->size_bytes, m_data.size());
  const auto seen = m_s3.seen();
  ASSERT_EQ(seen.size(), 3U);
  EXPECT_EQ(seen[0].range, "");
  EXPECT_TRUE(seen[1].range.starts_with("bytes=")) << seen[1].range;
  EXPECT_NE(seen[1].range, "bytes=0-");
  EXPECT_EQ(seen[1].if_match, "\"v1\"");
  EXPECT_EQ(seen[2].if_match, "\"v1\"");
}

TEST_F(S3FaultsTest, GetResumesAfterAStalledTransfer) {
  m_s3.set_object(m_data, "\"v1\"");
  m_s3.queue({Fault::stall_midway});
  auto store = make(m_s3.config());
  std::string got;

  auto info = download(*store, got);

  ASSERT_TRUE(info) << info.error().message;
  EXPECT_TRUE(got == m_data) << "got " << got.size() << " bytes of " << m_data.size();
}

TEST_F(S3FaultsTest, ObjectReplacedDuringResumeIsAPermanentError) {
  m_s3.set_object(m_data, "\"v1\"");
  m_s3.queue({Fault::drop_midway});
  auto store = make(m_s3.config());
  std::string got;
  bool replaced = false;

  auto info = store->get("key", [&](std::string_view chunk) -> Result<void> {
    if (!replaced) {
      m_s3.set_object(object_bytes(m_data.size() + 1), "\"v2\"");
      replaced = true;
    }
    got.append(chunk);
    return {};
  });

  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().kind, ErrorKind::permanent);
  EXPECT_NE(info.error().message.find("changed while downloading"), std::string::npos)
      << info.error().message;
  ASSERT_GE(m_s3.seen().size(), 2U);
  EXPECT_EQ(m_s3.seen()[1].if_match, "\"v1\"");
}

TEST_F(S3FaultsTest, PersistentThrottlingFailsTransientAfterTheBudget) {
  m_s3.set_object(m_data, "\"v1\"");
  m_s3.queue(
      {Fault::slow_down, Fault::slow_down, Fault::slow_down, Fault::slow_down, Fault::slow_down});
  auto store = make(m_s3.config());
  std::string got;

  auto info = download(*store, got);

  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().kind, ErrorKind::transient);
  EXPECT_NE(info.error().message.find("get s3://bucket/key"), std::string::npos);
  EXPECT_NE(info.error().message.find("SlowDown"), std::string::npos);
  EXPECT_NE(info.error().message.find("gave up after 4 attempts"), std::string::npos);
  EXPECT_TRUE(got.empty());
}

TEST_F(S3FaultsTest, AnswerSlowerThanTheRequestTimeoutIsRetried) {
  m_s3.set_object(m_data, "\"v1\"");
  m_s3.queue({Fault::delay});
  auto store = make(m_s3.config());

  const auto start = std::chrono::steady_clock::now();
  auto removed = store->remove("key");

  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(m_s3.seen().size(), 2U);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 850ms);
}

TEST_F(S3FaultsTest, RefusedCredentialsArePermanentAndNotRetried) {
  m_s3.set_object(m_data, "\"v1\"");
  m_s3.queue({Fault::forbidden});
  auto store = make(m_s3.config());
  std::string got;

  auto info = download(*store, got);

  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().kind, ErrorKind::permanent);
  EXPECT_NE(info.error().message.find("HTTP 403 InvalidAccessKeyId"), std::string::npos);
  EXPECT_EQ(info.error().message.find("S3RVER"), std::string::npos) << "no credentials in messages";
  EXPECT_EQ(m_s3.seen().size(), 1U);
}

TEST_F(S3FaultsTest, PutRetriesServerErrors) {
  m_s3.queue({Fault::server_error, Fault::slow_down});
  auto store = make(m_s3.config());

  auto put = store->put("key", "payload");

  ASSERT_TRUE(put) << put.error().message;
  EXPECT_EQ(m_s3.stored(), "payload");
}

TEST_F(S3FaultsTest, FailedPartAbortsTheMultipartUpload) {
  m_s3.fail_part(2);
  auto store = make(m_s3.config(1024 * 1024));
  const std::string data = object_bytes(3 * 1024 * 1024 + 5);

  auto put = store->put("key", data);

  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().kind, ErrorKind::permanent);
  EXPECT_NE(put.error().message.find("put s3://bucket/key"), std::string::npos);
  EXPECT_NE(put.error().message.find("InvalidPart"), std::string::npos) << put.error().message;
  const auto seen = m_s3.seen();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().method, "DELETE");
  EXPECT_EQ(seen.back().target, "/bucket/key?uploadId=up-1");
}

TEST_F(S3FaultsTest, ErrorInsideACompleteResponseFailsAndAborts) {
  m_s3.complete_with_error();
  auto store = make(m_s3.config(1024 * 1024));

  auto put = store->put("key", object_bytes(2 * 1024 * 1024 + 1));

  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().kind, ErrorKind::transient);
  EXPECT_NE(put.error().message.find("InternalError: try again"), std::string::npos);
  EXPECT_EQ(m_s3.seen().back().method, "DELETE");
}

TEST_F(S3FaultsTest, MultipartUploadSendsEveryPartInOrder) {
  auto store = make(m_s3.config(1024 * 1024));
  const std::string data = object_bytes(3 * 1024 * 1024 + 17);

  auto put = store->put("key", data);

  ASSERT_TRUE(put) << put.error().message;
  EXPECT_TRUE(m_s3.stored() == data) << m_s3.stored().size() << " bytes stored";
  const auto seen = m_s3.seen();
  ASSERT_EQ(seen.size(), 6U); // Create, 4 parts, complete.
  EXPECT_EQ(seen[0].target, "/bucket/key?uploads=");
  EXPECT_EQ(seen[1].target, "/bucket/key?partNumber=1&uploadId=up-1");
  EXPECT_EQ(seen[4].target, "/bucket/key?partNumber=4&uploadId=up-1");
  EXPECT_EQ(seen[5].target, "/bucket/key?uploadId=up-1");
}

} // namespace
} // namespace rsi::objectstore
