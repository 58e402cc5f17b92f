// http::Client over one libcurl easy handle. Every attempt starts with curl_easy_reset(),
// which clears the options of the previous request but keeps the connection cache, so
// connections are reused while no option leaks from one request into the next. Callbacks
// catch everything and park the error in the Transfer; it is reported after
// curl_easy_perform returns (docs/architecture.md, "Errors").

#include "http/client.hpp"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>

#include <fmt/format.h>

#include "common/log.hpp"
#include "common/strings.hpp"
#include "http/handles.hpp"
#include "http/sha256.hpp"
#include "http/url.hpp"

namespace rsi::http {
namespace {

constexpr std::size_t k_max_error_body = 64 * 1024;
constexpr long k_receive_buffer = 256 * 1024;
constexpr long k_upload_buffer = 512 * 1024;
constexpr std::string_view k_unsigned_payload = "UNSIGNED-PAYLOAD";

bool has_header(const Headers& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const Header& header) { return iequals_ascii(header.name, name); });
}

// Repeated names become one header with the values joined by ',' in order.
Headers merge_repeated(const Headers& headers) {
  Headers merged;
  for (const auto& header : headers) {
    auto same = std::find_if(merged.begin(), merged.end(), [&](const Header& seen) {
      return iequals_ascii(seen.name, header.name);
    });
    if (same == merged.end()) {
      merged.push_back(header);
    } else {
      same->value += ',';
      same->value += header.value;
    }
  }
  return merged;
}

// State of one attempt, shared with the libcurl callbacks.
struct Transfer {
  const Request* request = nullptr;
  CURL* curl = nullptr;
  Response response;
  std::string_view memory_body;
  std::size_t memory_offset = 0;
  bool stream_read = false;    // A StreamBody was read from: it must rewind before a retry.
  std::uint64_t delivered = 0; // Bytes handed to Request::on_body.
  bool head_seen = false;      // Request::on_head ran.
  std::optional<Error> callback_error;
};

Error callback_exception(std::string_view where) {
  try {
    throw;
  } catch (const std::exception& error) {
    return Error{ErrorKind::permanent, fmt::format("{} callback threw: {}", where, error.what())};
  } catch (...) {
    return Error{ErrorKind::permanent, fmt::format("{} callback threw", where)};
  }
}

extern "C" size_t on_write(char* data, size_t size, size_t count, void* user) noexcept {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  try {
    long status = 0;
    curl_easy_getinfo(transfer->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status / 100 == 2 && transfer->request->on_body) {
      if (!transfer->head_seen) {
        transfer->head_seen = true;
        transfer->response.status = status;
        if (transfer->request->on_head) {
          if (auto accepted = transfer->request->on_head(transfer->response); !accepted) {
            transfer->callback_error = std::move(accepted.error());
            return 0;
          }
        }
      }
      if (auto sunk = transfer->request->on_body(std::string_view(data, bytes)); !sunk) {
        transfer->callback_error = std::move(sunk.error());
        return 0;
      }
      transfer->delivered += bytes;
      return bytes;
    }
    std::string& body = transfer->response.body;
    if (status / 100 == 2 || body.size() < k_max_error_body) {
      body.append(data,
                  status / 100 == 2 ? bytes : std::min(bytes, k_max_error_body - body.size()));
    }
    return bytes;
  } catch (...) {
    transfer->callback_error = callback_exception("response body");
    return 0;
  }
}

extern "C" size_t on_header(char* data, size_t size, size_t count, void* user) noexcept {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  try {
    const std::string_view line(data, bytes);
    if (line.starts_with("HTTP/")) {
      transfer->response.headers.clear(); // A new response (after 100 Continue or a retry).
    } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
      transfer->response.headers.push_back({std::string(trim_ascii_space(line.substr(0, colon))),
                                            std::string(trim_ascii_space(line.substr(colon + 1)))});
    }
    return bytes;
  } catch (...) {
    transfer->callback_error = callback_exception("response header");
    return 0;
  }
}

extern "C" size_t on_read(char* buffer, size_t size, size_t count, void* user) noexcept {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t capacity = size * count;
  try {
    if (const auto* stream = std::get_if<StreamBody>(&transfer->request->body)) {
      transfer->stream_read = true;
      auto read = stream->read(std::span<char>(buffer, capacity));
      if (!read) {
        transfer->callback_error = std::move(read.error());
        return CURL_READFUNC_ABORT;
      }
      return std::min(*read, capacity);
    }
    const std::size_t left = transfer->memory_body.size() - transfer->memory_offset;
    const std::size_t chunk = std::min(left, capacity);
    std::memcpy(buffer, transfer->memory_body.data() + transfer->memory_offset, chunk);
    transfer->memory_offset += chunk;
    return chunk;
  } catch (...) {
    transfer->callback_error = callback_exception("request body");
    return CURL_READFUNC_ABORT;
  }
}

extern "C" int on_progress(void* user, curl_off_t /*dltotal*/, curl_off_t /*dlnow*/,
                           curl_off_t /*ultotal*/, curl_off_t /*ulnow*/) noexcept {
  const auto* transfer = static_cast<const Transfer*>(user);
  return transfer->request->stop.stop_requested() ? 1 : 0;
}

std::string payload_hash(const Request& request) {
  if (request.payload_hash == PayloadHash::unsigned_payload) {
    return std::string(k_unsigned_payload);
  }
  if (const auto* memory = std::get_if<std::string_view>(&request.body)) {
    return sha256_hex(*memory);
  }
  if (const auto* stream = std::get_if<StreamBody>(&request.body)) {
    return stream->sha256_hex.empty() ? std::string(k_unsigned_payload) : stream->sha256_hex;
  }
  return std::string(k_empty_sha256);
}

std::optional<std::string_view> request_id(const Response& response) {
  for (const auto* name : {"x-amz-request-id", "x-amzn-RequestId"}) {
    if (auto value = response.header(name)) {
      return value;
    }
  }
  return std::nullopt;
}

// The outcome of one attempt once classified.
struct Verdict {
  std::optional<Error> error; // nullopt: success, the response is the result.
  bool retry = false;
};

Verdict judge_status(const ClientConfig& config, const Request& request, const Response& response,
                     std::string_view target) {
  if (response.status / 100 == 2 ||
      std::find(request.expected_statuses.begin(), request.expected_statuses.end(),
                response.status) != request.expected_statuses.end()) {
    return {};
  }
  const ServiceError service =
      config.parse_error ? config.parse_error(response) : parse_error_body(response.body);
  ErrorKind kind = ErrorKind::permanent;
  if (service.kind) {
    kind = *service.kind;
  } else if (response.status == 408 || response.status == 429 ||
             (response.status >= 500 && response.status != 501) ||
             is_retryable_error_code(service.code)) {
    kind = ErrorKind::transient;
  }
  std::string message = fmt::format("{}: HTTP {}", target, response.status);
  if (!service.code.empty()) {
    message += fmt::format(" {}", service.code);
  }
  if (!service.message.empty()) {
    message += fmt::format(": {}", service.message);
  }
  if (auto id = request_id(response)) {
    message += fmt::format(" (request id {})", *id);
  }
  return {Error{kind, std::move(message)}, kind == ErrorKind::transient};
}

Verdict judge_curl(CURLcode code, const char* detail, std::string_view target) {
  std::string message = fmt::format("{}: {}", target, curl_easy_strerror(code));
  if (detail != nullptr && *detail != '\0') {
    message += fmt::format(" ({})", trim_ascii_space(detail));
  }
  switch (code) {
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
  case CURLE_NOT_BUILT_IN:
  case CURLE_BAD_FUNCTION_ARGUMENT:
  case CURLE_UNKNOWN_OPTION:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_FILESIZE_EXCEEDED:
    return {Error{ErrorKind::permanent, std::move(message)}, false};
  default:
    // Timeouts, refused or reset connections, DNS hiccups, truncated bodies.
    return {Error{ErrorKind::transient, std::move(message)}, true};
  }
}

// Sleep `delay` unless `stop` is requested first; false when stopped.
bool wait_unless_stopped(std::chrono::milliseconds delay, const std::stop_token& stop) {
  std::mutex mutex;
  std::condition_variable_any wakeup;
  std::unique_lock lock(mutex);
  return !wakeup.wait_for(lock, stop, delay, [] { return false; });
}

} // namespace

std::optional<std::string_view> Response::header(std::string_view name) const {
  for (const auto& header : headers) {
    if (iequals_ascii(header.name, name)) {
      return header.value;
    }
  }
  return std::nullopt;
}

struct Client::State {
  ClientConfig config;
  EasyHandle easy;
  std::string sigv4; // "aws:amz:<region>:<service>"

  Result<void> set_options(const Request& request, Transfer& transfer, HeaderList& header_list,
                           char* error_buffer);
  void set_transport(const Request& request, Transfer& transfer, char* error_buffer);
  Result<void> set_headers(const Request& request, HeaderList& header_list);
  Result<void> set_method_and_body(const Request& request, Transfer& transfer);
  Result<Verdict> attempt(const Request& request, Transfer& transfer, std::string_view target);
};

Result<void> Client::State::set_options(const Request& request, Transfer& transfer,
                                        HeaderList& header_list, char* error_buffer) {
  curl_easy_reset(easy.get());
  set_transport(request, transfer, error_buffer);
  RSI_TRY(set_headers(request, header_list));
  return set_method_and_body(request, transfer);
}

// The URL, timeouts, TLS trust, buffers and the callbacks into `transfer`.
void Client::State::set_transport(const Request& request, Transfer& transfer, char* error_buffer) {
  CURL* curl = easy.get();
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, request.normalize_path ? 0L : 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, config.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, k_receive_buffer);
  curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, k_upload_buffer);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(config.connect_timeout.count()));
  const auto timeout = request.timeout.value_or(config.timeout);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  if (config.stall_timeout.count() > 0) {
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(config.stall_timeout.count()));
  }
  if (!config.ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, config.ca_file.c_str());
    // Debian's libcurl also trusts /etc/ssl/certs by default; the bundle is meant to be all.
    curl_easy_setopt(curl, CURLOPT_CAPATH, static_cast<const char*>(nullptr));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
}

// The request's headers, and the SigV4 signing with the headers libcurl does not add itself.
Result<void> Client::State::set_headers(const Request& request, HeaderList& header_list) {
  CURL* curl = easy.get();
  Headers headers = merge_repeated(request.headers);
  if (config.signing) {
    RSI_TRY_ASSIGN(const Credentials credentials, config.signing->credentials->get());
    curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4.c_str());
    curl_easy_setopt(curl, CURLOPT_USERNAME, credentials.access_key_id.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, credentials.secret_access_key.c_str());
    // libcurl 7.88 neither adds x-amz-content-sha256 (S3 requires it) nor the session token.
    if (request.payload_hash != PayloadHash::omit && !has_header(headers, "x-amz-content-sha256")) {
      headers.push_back({"x-amz-content-sha256", payload_hash(request)});
    }
    if (!credentials.session_token.empty() && !has_header(headers, "x-amz-security-token")) {
      headers.push_back({"x-amz-security-token", credentials.session_token});
    }
  }
  for (const auto& header : headers) {
    // "Name;" is libcurl's way to send a header with an empty value.
    const std::string line =
        header.value.empty() ? header.name + ";" : fmt::format("{}: {}", header.name, header.value);
    curl_slist* appended = curl_slist_append(header_list.get(), line.c_str());
    if (appended == nullptr) {
      return fail(ErrorKind::transient, "build request headers: out of memory");
    }
    if (!header_list) {
      header_list.reset(appended);
    }
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list.get());
  return {};
}

Result<void> Client::State::set_method_and_body(const Request& request, Transfer& transfer) {
  CURL* curl = easy.get();
  const bool has_body = !std::holds_alternative<std::monostate>(request.body);
  std::optional<std::uint64_t> body_size;
  if (const auto* memory = std::get_if<std::string_view>(&request.body)) {
    transfer.memory_body = *memory;
    body_size = memory->size();
  } else if (const auto* stream = std::get_if<StreamBody>(&request.body)) {
    body_size = stream->size;
  }
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "POST" && !std::holds_alternative<StreamBody>(request.body)) {
    // As POSTFIELDS, libcurl's own SigV4 payload hash (PayloadHash::omit) is right too.
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(body_size.value_or(0)));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS,
                     transfer.memory_body.data() != nullptr ? transfer.memory_body.data() : "");
  } else if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, &on_read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     body_size ? static_cast<curl_off_t>(*body_size) : curl_off_t{-1});
  } else if (has_body) {
    if (!body_size && request.method == "PUT") {
      return fail(ErrorKind::permanent,
                  fmt::format("PUT {}: a streamed body needs its size", strip_query(request.url)));
    }
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, &on_read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &transfer);
    if (body_size) {
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(*body_size));
    }
    if (request.method != "PUT") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  return {};
}

Result<Verdict> Client::State::attempt(const Request& request, Transfer& transfer,
                                       std::string_view target) {
  char error_buffer[CURL_ERROR_SIZE] = {};
  HeaderList header_list;
  RSI_TRY(set_options(request, transfer, header_list, error_buffer));
  const CURLcode code = curl_easy_perform(easy.get());
  // The buffer lives on this frame: detach it before returning.
  const std::string detail(error_buffer);
  curl_easy_setopt(easy.get(), CURLOPT_ERRORBUFFER, nullptr);
  if (transfer.callback_error) {
    return Verdict{transfer.callback_error, false};
  }
  if (code == CURLE_ABORTED_BY_CALLBACK && request.stop.stop_requested()) {
    return Verdict{Error{ErrorKind::transient, fmt::format("{}: stopped", target)}, false};
  }
  if (code != CURLE_OK) {
    return judge_curl(code, detail.c_str(), target);
  }
  curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &transfer.response.status);
  return judge_status(config, request, transfer.response, target);
}

Result<Client> Client::create(ClientConfig config) {
  EasyHandle easy(curl_easy_init());
  if (!easy) {
    return fail(ErrorKind::permanent, "create HTTP client: curl_easy_init failed");
  }
  auto state = std::make_unique<State>();
  if (config.signing) {
    if (!config.signing->credentials || config.signing->region.empty() ||
        config.signing->service.empty()) {
      return fail(ErrorKind::permanent,
                  "create HTTP client: signing needs a service, a region and credentials");
    }
    state->sigv4 = fmt::format("aws:amz:{}:{}", config.signing->region, config.signing->service);
  }
  state->config = std::move(config);
  state->easy = std::move(easy);
  return Client(std::move(state));
}

Client::Client(std::unique_ptr<State> state) : m_state(std::move(state)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

const ClientConfig& Client::config() const { return m_state->config; }

Result<Response> Client::request(const Request& request) {
  const std::string target = fmt::format("{} {}", request.method, strip_query(request.url));
  const auto* stream = std::get_if<StreamBody>(&request.body);
  const BackoffPolicy& policy = m_state->config.retry;
  for (int attempt = 0;; ++attempt) {
    Transfer transfer;
    transfer.request = &request;
    transfer.curl = m_state->easy.get();
    RSI_TRY_ASSIGN(Verdict verdict, m_state->attempt(request, transfer, target));
    if (!verdict.error) {
      return std::move(transfer.response);
    }
    const bool replayable =
        transfer.delivered == 0 && (stream == nullptr || !transfer.stream_read || stream->rewind);
    if (!verdict.retry || !replayable || policy.exhausted(attempt + 1)) {
      if (verdict.retry && attempt > 0) {
        verdict.error->message += fmt::format(" (gave up after {} attempts)", attempt + 1);
      } else if (verdict.retry && !replayable) {
        verdict.error->message += " (not retried: the body cannot be replayed)";
      }
      return fail(std::move(*verdict.error));
    }
    const auto delay = policy.delay(attempt, jitter_rng());
    log::warn("retrying HTTP request", {{"target", target},
                                        {"attempt", attempt + 1},
                                        {"delay_ms", delay.count()},
                                        {"error", verdict.error->message}});
    if (!wait_unless_stopped(delay, request.stop)) {
      return fail(ErrorKind::transient, fmt::format("{}: stopped", target));
    }
    if (stream != nullptr && transfer.stream_read) {
      RSI_TRY(stream->rewind());
    }
  }
}

} // namespace rsi::http
