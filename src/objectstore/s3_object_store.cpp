// S3 object store over http::Client (SigV4 signed by libcurl).
//
// Addressing: path-style (<endpoint>/<bucket>/<key>) with an endpoint override or a bucket
// name containing dots, virtual-hosted (https://<bucket>.s3.<region>.amazonaws.com/<key>)
// otherwise. Keys are URI-encoded keeping '/', query strings are canonical (libcurl signs
// both exactly as sent). Every key gets S3Config::prefix in front.
//
// Clients: a pool of http::Client (one libcurl handle each) taken for one call and given
// back, so the store is thread-safe and keeps connections alive between calls.
//
// GET streams into the caller's sink. When a download breaks after some bytes arrived, it
// resumes with Range from the next byte and If-Match on the first response's ETag, so a
// replaced object fails instead of splicing two versions.
//
// PUT: up to one part → one PutObject. Larger → CreateMultipartUpload, UploadPart 1..n,
// CompleteMultipartUpload (which can fail inside a 200 response); AbortMultipartUpload on any
// failure. Parts go up one at a time while a helper thread reads (and, for signed payloads,
// hashes) the next one: from the file, or from the stream into the second of two buffers.

#include "objectstore/s3_object_store.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <future>
#include <mutex>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.hpp"
#include "http/client.hpp"
#include "http/sha256.hpp"
#include "http/time_format.hpp"
#include "http/url.hpp"
#include "objectstore/s3_xml.hpp"

namespace rsi::objectstore {
namespace {

using namespace std::chrono_literals;

// Hands out idle clients, creating one when none is idle; taken clients come back on release.
class ClientPool {
public:
  explicit ClientPool(http::ClientConfig config) : m_config(std::move(config)) {}

  struct GiveBack {
    ClientPool* pool = nullptr;
    void operator()(http::Client* client) const noexcept {
      std::unique_ptr<http::Client> owned(client);
      std::lock_guard lock(pool->m_mutex);
      pool->m_idle.push_back(std::move(owned));
    }
  };
  using Lease = std::unique_ptr<http::Client, GiveBack>;

  Result<Lease> take() {
    {
      std::lock_guard lock(m_mutex);
      if (!m_idle.empty()) {
        Lease lease(m_idle.back().release(), GiveBack{this});
        m_idle.pop_back();
        return lease;
      }
    }
    RSI_TRY_ASSIGN(auto client, http::Client::create(m_config));
    return Lease(std::make_unique<http::Client>(std::move(client)).release(), GiveBack{this});
  }

private:
  http::ClientConfig m_config;
  std::mutex m_mutex;
  std::vector<std::unique_ptr<http::Client>> m_idle;
};

// A read-only file descriptor, closed on destruction.
class InputFile {
public:
  explicit InputFile(int fd) : m_fd(fd) {}
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  [[nodiscard]] int get() const { return m_fd; }

private:
  int m_fd;
};

Result<std::size_t> pread_some(const InputFile& file, std::span<char> buffer,
                               std::uint64_t offset) {
  while (true) {
    const ssize_t got =
        ::pread(file.get(), buffer.data(), buffer.size(), static_cast<off_t>(offset));
    if (got >= 0) {
      return static_cast<std::size_t>(got);
    }
    if (errno != EINTR) {
      return fail(ErrorKind::transient, fmt::format("read file: {}", errno_message(errno)));
    }
  }
}

// The bytes [offset, offset + size) of `file` as a replayable request body.
Result<http::StreamBody> file_range_body(const InputFile& file, std::uint64_t offset,
                                         std::uint64_t size, bool sign) {
  http::StreamBody body;
  body.size = size;
  if (sign) {
    http::Sha256 hash;
    std::vector<char> buffer(1024 * 1024);
    for (std::uint64_t done = 0; done < size;) {
      const auto want =
          static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - done));
      RSI_TRY_ASSIGN(const std::size_t got,
                     pread_some(file, std::span<char>(buffer.data(), want), offset + done));
      if (got == 0) {
        return fail(ErrorKind::permanent, "read file: it shrank while uploading");
      }
      hash.update(std::string_view(buffer.data(), got));
      done += got;
    }
    body.sha256_hex = hash.finish_hex();
  }
  auto position = std::make_shared<std::uint64_t>(0);
  body.read = [&file, offset, size, position](std::span<char> buffer) -> Result<std::size_t> {
    const auto want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - *position));
    if (want == 0) {
      return std::size_t{0};
    }
    RSI_TRY_ASSIGN(const std::size_t got, pread_some(file, buffer.first(want), offset + *position));
    if (got == 0) {
      return fail(ErrorKind::permanent, "read file: it shrank while uploading");
    }
    *position += got;
    return got;
  };
  body.rewind = [position]() -> Result<void> {
    *position = 0;
    return {};
  };
  return body;
}

std::uint64_t parse_u64(std::string_view text) {
  std::uint64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

ObjectInfo info_from_headers(std::string_view key, const http::Response& response) {
  ObjectInfo info;
  info.key = std::string(key);
  // A ranged answer's Content-Range ("bytes 0-99/1234") carries the whole object's size.
  if (auto range = response.header("Content-Range");
      range && range->find('/') != std::string_view::npos) {
    info.size_bytes = parse_u64(range->substr(range->find('/') + 1));
  } else if (auto length = response.header("Content-Length")) {
    info.size_bytes = parse_u64(*length);
  }
  info.etag = std::string(response.header("ETag").value_or(""));
  if (auto modified = response.header("Last-Modified")) {
    info.last_modified = http::parse_http_date(*modified);
  }
  return info;
}

// One part of a multipart upload.
struct Part {
  http::Body body;
  std::string sha256_hex; // Of an in-memory body when payloads are signed; else empty.
};
// Yields the parts in order, nullopt after the last. Never called twice at the same time.
using PartSupplier = std::function<Result<std::optional<Part>>()>;

// `next_part()` on a helper thread (or right here when no thread can be started).
std::future<Result<std::optional<Part>>> prefetch(const PartSupplier& next_part) {
  try {
    return std::async(std::launch::async, next_part);
  } catch (const std::system_error&) {
    std::promise<Result<std::optional<Part>>> done;
    done.set_value(next_part());
    return done.get_future();
  }
}

const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

class S3ObjectStore final : public ObjectStore {
public:
  S3ObjectStore(S3Config config, http::ServiceEndpoint endpoint, http::ClientConfig client_config)
      : m_config(std::move(config)), m_endpoint(std::move(endpoint)),
        m_pool(std::move(client_config)) {
    const bool path_style = m_endpoint.path_style || m_config.bucket.find('.') != std::string::npos;
    if (path_style) {
      std::string base_path = m_endpoint.url.path;
      while (base_path.ends_with('/')) {
        base_path.pop_back();
      }
      m_bucket_base = fmt::format("{}{}/{}", m_endpoint.url.origin(), base_path,
                                  http::uri_encode(m_config.bucket));
    } else {
      http::Url host = m_endpoint.url;
      host.host = fmt::format("{}.{}", m_config.bucket, host.host);
      m_bucket_base = host.origin();
    }
    const bool https = m_endpoint.url.scheme == "https";
    m_sign_payload = m_config.payload_signing == PayloadSigning::signed_payload ||
                     (m_config.payload_signing == PayloadSigning::automatic && !https);
  }

  // ObjectStore
  Result<std::optional<ObjectInfo>> get(std::string_view key, const ChunkSink& sink,
                                        ByteRange range) override {
    RSI_TRY(validate_key(key));
    if (range.length && *range.length == 0) {
      return head(key);
    }
    RSI_TRY_ASSIGN(auto client, m_pool.take());
    std::uint64_t offset = range.offset;
    std::optional<std::uint64_t> left = range.length;
    std::optional<ObjectInfo> info;
    for (int resumes = 0;; ++resumes) {
      const bool ranged = offset > 0 || left.has_value();
      std::uint64_t delivered = 0;
      bool sink_failed = false;
      http::Request request{
          .url = object_url(key), .expected_statuses = {404, 412}, .timeout = 0ms};
      if (ranged) {
        request.headers.push_back(
            {"Range", left ? fmt::format("bytes={}-{}", offset, offset + *left - 1)
                           : fmt::format("bytes={}-", offset)});
      }
      if (info && !info->etag.empty()) {
        request.headers.push_back({"If-Match", info->etag});
      }
      request.on_head = [&](const http::Response& head) -> Result<void> {
        if (ranged && head.status != 206) {
          return fail(ErrorKind::permanent,
                      fmt::format("get {}: server ignored the Range header", target(key)));
        }
        if (!info) {
          info = info_from_headers(key, head);
        }
        return {};
      };
      request.on_body = [&](std::string_view chunk) -> Result<void> {
        if (auto sunk = sink(chunk); !sunk) {
          sink_failed = true;
          return sunk;
        }
        delivered += chunk.size();
        return {};
      };
      auto response = client->request(request);
      if (response && response->status == 412) {
        return fail(ErrorKind::permanent,
                    fmt::format("get {}: object changed while downloading (was ETag {})",
                                target(key), info ? info->etag : "?"));
      }
      if (response && response->status == 404) {
        RSI_TRY(check_bucket("get", key, *response));
        if (info) {
          return fail(ErrorKind::permanent,
                      fmt::format("get {}: object deleted while downloading", target(key)));
        }
        return std::optional<ObjectInfo>();
      }
      if (response) {
        return info ? info : std::optional<ObjectInfo>(info_from_headers(key, *response));
      }
      if (sink_failed) {
        return fail(std::move(response.error())); // The caller's own error, as is.
      }
      offset += delivered;
      if (left) {
        *left -= std::min(*left, delivered);
      }
      const bool finished = (left && *left == 0) || (info && !left && offset >= info->size_bytes);
      if (finished && delivered > 0) {
        return info; // The connection broke after the last byte.
      }
      if (response.error().kind != ErrorKind::transient || delivered == 0 ||
          resumes >= m_config.max_resumes) {
        return fail(response.error().wrap(fmt::format("get {}", target(key))));
      }
      log::warn(
          "resuming S3 download",
          {{"object_key", target(key)}, {"offset", offset}, {"error", response.error().message}});
    }
  }

  Result<void> put(std::string_view key, std::string_view data) override {
    RSI_TRY(validate_key(key));
    if (data.size() <= m_config.part_size_bytes) {
      return put_single(key, data);
    }
    std::size_t offset = 0;
    return multipart(key, [&]() -> Result<std::optional<Part>> {
      if (offset >= data.size()) {
        return std::optional<Part>();
      }
      const auto part = data.substr(offset, static_cast<std::size_t>(m_config.part_size_bytes));
      offset += part.size();
      return std::optional<Part>(Part{part, m_sign_payload ? http::sha256_hex(part) : ""});
    });
  }

  Result<void> put_stream(std::string_view key, const ChunkSource& source) override {
    RSI_TRY(validate_key(key));
    const auto part_size = static_cast<std::size_t>(m_config.part_size_bytes);
    // Two buffers: the next part is read (and hashed) into one while the other uploads.
    std::array<std::unique_ptr<char[]>, 2> buffers = {
        std::make_unique_for_overwrite<char[]>(part_size), nullptr};
    const auto fill = [&](char* buffer) -> Result<std::size_t> {
      std::size_t filled = 0;
      while (filled < part_size) {
        RSI_TRY_ASSIGN(const std::size_t got,
                       source(std::span<char>(buffer + filled, part_size - filled)));
        if (got == 0) {
          break;
        }
        filled += got;
      }
      return filled;
    };
    RSI_TRY_ASSIGN(const std::size_t first, fill(buffers[0].get()));
    if (first < part_size) {
      return put_single(key, std::string_view(buffers[0].get(), first));
    }
    buffers[1] = std::make_unique_for_overwrite<char[]>(part_size);
    std::size_t parts = 0;
    return multipart(key, [&]() -> Result<std::optional<Part>> {
      char* buffer = buffers[parts % 2].get();
      std::size_t filled = first;
      if (parts > 0) {
        RSI_TRY_ASSIGN(filled, fill(buffer));
      }
      ++parts;
      if (filled == 0) {
        return std::optional<Part>();
      }
      const std::string_view part(buffer, filled);
      return std::optional<Part>(Part{part, m_sign_payload ? http::sha256_hex(part) : ""});
    });
  }

  Result<void> put_file(std::string_view key, const std::filesystem::path& path) override {
    RSI_TRY(validate_key(key));
    InputFile file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat status {};
    if (file.get() < 0 || ::fstat(file.get(), &status) != 0) {
      return fail(ErrorKind::permanent, fmt::format("put {} from {}: {}", target(key),
                                                    path.string(), errno_message(errno)));
    }
    const auto size = static_cast<std::uint64_t>(status.st_size);
    if (size <= m_config.part_size_bytes) {
      RSI_TRY_ASSIGN(auto body, file_range_body(file, 0, size, m_sign_payload));
      return put_single(key, std::move(body));
    }
    std::uint64_t offset = 0;
    return multipart(key, [&]() -> Result<std::optional<Part>> {
      if (offset >= size) {
        return std::optional<Part>();
      }
      const std::uint64_t part = std::min(m_config.part_size_bytes, size - offset);
      RSI_TRY_ASSIGN(auto body, file_range_body(file, offset, part, m_sign_payload));
      offset += part;
      return std::optional<Part>(Part{std::move(body), ""}); // The body carries its hash.
    });
  }

  Result<std::optional<ObjectInfo>> head(std::string_view key) override {
    RSI_TRY(validate_key(key));
    RSI_TRY_ASSIGN(auto client, m_pool.take());
    auto response =
        client->request({.method = "HEAD", .url = object_url(key), .expected_statuses = {404}});
    if (!response) {
      return fail(response.error().wrap(fmt::format("head {}", target(key))));
    }
    if (response->status != 404) {
      return std::optional<ObjectInfo>(info_from_headers(key, *response));
    }
    // A HEAD 404 has no body to tell a missing key from a missing bucket: ask the bucket.
    auto bucket =
        client->request({.method = "HEAD", .url = m_bucket_base, .expected_statuses = {404}});
    if (!bucket) {
      return fail(bucket.error().wrap(fmt::format("head {}", target(key))));
    }
    if (bucket->status == 404) {
      return fail(bucket_missing("head", key));
    }
    return std::optional<ObjectInfo>();
  }

  Result<void> remove(std::string_view key) override {
    RSI_TRY(validate_key(key));
    RSI_TRY_ASSIGN(auto client, m_pool.take());
    auto response =
        client->request({.method = "DELETE", .url = object_url(key), .expected_statuses = {404}});
    if (!response) {
      return fail(response.error().wrap(fmt::format("delete {}", target(key))));
    }
    return check_bucket("delete", key, *response); // Else deleting nothing is fine.
  }

  Result<ListPage> list(std::string_view prefix, const std::optional<std::string>& token,
                        std::size_t max_keys) override {
    std::vector<http::QueryParam> params = {
        {"list-type", "2"},
        {"prefix", m_config.prefix + std::string(prefix)},
        {"max-keys", std::to_string(std::clamp<std::size_t>(max_keys, 1, 1000))}};
    if (token) {
      params.push_back({"continuation-token", *token});
    }
    RSI_TRY_ASSIGN(auto client, m_pool.take());
    auto response =
        client->request({.url = m_bucket_base + "?" + http::canonical_query(std::move(params)),
                         .expected_statuses = {404}});
    if (!response) {
      return fail(response.error().wrap(fmt::format("list {}", describe())));
    }
    if (response->status == 404) {
      return fail(bucket_missing("list", prefix));
    }
    auto parsed = s3::parse_list_result(response->body);
    if (!parsed) {
      return fail(parsed.error().wrap(fmt::format("list {}", describe())));
    }
    ListPage page;
    for (auto& object : parsed->objects) {
      if (object.key.starts_with(m_config.prefix)) {
        object.key.erase(0, m_config.prefix.size());
        page.objects.push_back(std::move(object));
      }
    }
    if (parsed->truncated) {
      page.next_token = std::move(parsed->next_token);
    }
    return page;
  }

  std::string describe() const override {
    return fmt::format("s3://{}/{}", m_config.bucket, m_config.prefix);
  }

private:
  std::string target(std::string_view key) const {
    return fmt::format("s3://{}/{}{}", m_config.bucket, m_config.prefix, key);
  }

  std::string object_url(std::string_view key, const std::string& query = {}) const {
    std::string url = fmt::format("{}/{}", m_bucket_base,
                                  http::uri_encode(m_config.prefix + std::string(key), true));
    if (!query.empty()) {
      url += "?" + query;
    }
    return url;
  }

  Error bucket_missing(std::string_view operation, std::string_view key) const {
    return Error{ErrorKind::permanent, fmt::format("{} {}: bucket {} does not exist (NoSuchBucket)",
                                                   operation, target(key), m_config.bucket)};
  }

  // A 404 naming the bucket becomes a permanent error; other 404s are the caller's to read.
  Result<void> check_bucket(std::string_view operation, std::string_view key,
                            const http::Response& response) const {
    if (response.status == 404 && http::parse_error_body(response.body).code == "NoSuchBucket") {
      return fail(bucket_missing(operation, key));
    }
    return {};
  }

  // A PUT of `body`; `sha256_hex` (if known) saves the client hashing it again.
  http::Request upload_request(std::string url, http::Body body,
                               const std::string& sha256_hex = {}) const {
    http::Request request{.method = "PUT",
                          .url = std::move(url),
                          .body = std::move(body),
                          .expected_statuses = {404},
                          .timeout = 0ms};
    if (!m_sign_payload) {
      request.payload_hash = http::PayloadHash::unsigned_payload;
    } else if (!sha256_hex.empty()) {
      request.headers.push_back({"x-amz-content-sha256", sha256_hex});
    }
    return request;
  }

  Result<void> put_single(std::string_view key, http::Body body) {
    RSI_TRY_ASSIGN(auto client, m_pool.take());
    auto response = client->request(upload_request(object_url(key), std::move(body)));
    if (!response) {
      return fail(response.error().wrap(fmt::format("put {}", target(key))));
    }
    RSI_TRY(check_bucket("put", key, *response));
    if (response->status == 404) {
      return fail(ErrorKind::permanent, fmt::format("put {}: HTTP 404", target(key)));
    }
    return {};
  }

  // Upload the parts `next_part` yields (nullopt: no more) as one multipart upload.
  Result<void> multipart(std::string_view key, const PartSupplier& next_part) {
    RSI_TRY_ASSIGN(auto client, m_pool.take());
    auto created = client->request({.method = "POST",
                                    .url = object_url(key, "uploads="),
                                    .body = std::string_view(),
                                    .expected_statuses = {404}});
    if (!created) {
      return fail(
          created.error().wrap(fmt::format("put {}: create multipart upload", target(key))));
    }
    RSI_TRY(check_bucket("put", key, *created));
    auto upload_id = s3::parse_upload_id(created->body);
    if (!upload_id) {
      return fail(upload_id.error().wrap(fmt::format("put {}", target(key))));
    }
    auto uploaded = upload_parts(*client, key, *upload_id, next_part);
    if (!uploaded) {
      auto aborted = client->request(
          {.method = "DELETE",
           .url = object_url(key, http::canonical_query({{"uploadId", *upload_id}})),
           .expected_statuses = {404}});
      if (!aborted) {
        log::warn("abort of multipart upload failed",
                  {{"object_key", target(key)}, {"error", aborted.error().message}});
      }
      return fail(uploaded.error().wrap(fmt::format("put {}", target(key))));
    }
    return {};
  }

  Result<void> upload_parts(http::Client& client, std::string_view key,
                            const std::string& upload_id, const PartSupplier& next_part) {
    std::vector<std::string> etags;
    auto upcoming = prefetch(next_part);
    while (true) {
      RSI_TRY_ASSIGN(auto part, upcoming.get());
      if (!part) {
        break;
      }
      // Read and hash part n+1 while part n travels. (On an early return the future's
      // destructor waits for it.)
      upcoming = prefetch(next_part);
      const int number = static_cast<int>(etags.size()) + 1;
      const std::string query =
          http::canonical_query({{"partNumber", std::to_string(number)}, {"uploadId", upload_id}});
      RSI_TRY_ASSIGN(auto response,
                     client.request(upload_request(object_url(key, query), std::move(part->body),
                                                   part->sha256_hex)));
      auto etag = response.header("ETag");
      if (response.status == 404 || !etag) {
        return fail(ErrorKind::transient,
                    fmt::format("upload part {}: HTTP {} without ETag", number, response.status));
      }
      etags.emplace_back(*etag);
    }
    const std::string body = s3::complete_multipart_body(etags);
    RSI_TRY_ASSIGN(
        auto completed,
        client.request({.method = "POST",
                        .url = object_url(key, http::canonical_query({{"uploadId", upload_id}})),
                        .body = std::string_view(body),
                        .timeout = 0ms}));
    // CompleteMultipartUpload may report failure inside a 200 response.
    if (const auto error = http::parse_error_body(completed.body); !error.code.empty()) {
      return fail(http::is_retryable_error_code(error.code) ? ErrorKind::transient
                                                            : ErrorKind::permanent,
                  fmt::format("complete multipart upload: {}: {}", error.code, error.message));
    }
    return {};
  }

  S3Config m_config;
  http::ServiceEndpoint m_endpoint;
  ClientPool m_pool;
  std::string m_bucket_base; // URL of the bucket without trailing '/'.
  bool m_sign_payload = true;
};

} // namespace

Result<std::unique_ptr<ObjectStore>> make_s3_object_store(const S3Config& config) {
  if (config.bucket.empty() || config.bucket.find('/') != std::string::npos) {
    return fail(ErrorKind::permanent,
                fmt::format("S3 object store: invalid bucket name {:?}", config.bucket));
  }
  if (config.part_size_bytes == 0) {
    return fail(ErrorKind::permanent, "S3 object store: part size must be positive");
  }
  RSI_TRY_ASSIGN(auto endpoint,
                 http::resolve_service_endpoint(config.environment, "s3", config.aws));
  auto ca_bundle = http::resolve_ca_bundle(config.environment, config.aws);
  if (!ca_bundle) {
    return fail(ca_bundle.error().wrap(fmt::format("S3 object store {}", config.bucket)));
  }
  auto credentials =
      config.credentials
          ? config.credentials
          : http::make_default_credentials_provider(config.environment, system_clock());
  http::ClientConfig client_config{.signing = http::SigningConfig{.service = "s3",
                                                                  .region = endpoint.region,
                                                                  .credentials = credentials},
                                   .retry = config.retry,
                                   .connect_timeout = config.connect_timeout,
                                   .timeout = config.request_timeout,
                                   .stall_timeout = config.stall_timeout,
                                   .parse_error = {},
                                   .user_agent = "rs_ingester",
                                   .ca_file = ca_bundle->value_or("")};
  return std::make_unique<S3ObjectStore>(config, std::move(endpoint), std::move(client_config));
}

} // namespace rsi::objectstore
