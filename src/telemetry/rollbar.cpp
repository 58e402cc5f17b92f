// Rollbar item API client. One deque of serialized "data" objects (at most queue_capacity, each
// at most k_rollbar_max_item_bytes) guarded by one mutex; one sender thread owns the HTTP client.
// The token is added to each request body at send time, so queued items never hold it.
#include "telemetry/rollbar.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "common/uuid.hpp"
#include "http/client.hpp"

#ifndef RSI_VERSION
#define RSI_VERSION "unknown"
#endif

namespace rsi::telemetry {
namespace {

using json = nlohmann::json;

// Set on the sender thread: whatever it logs (the HTTP client's retry warnings, its own
// failures) must never turn into another item.
thread_local bool t_sending = false;

constexpr std::size_t k_cut_message_bytes = 4 * 1024;
constexpr std::size_t k_cut_field_bytes = 512;

const char* rollbar_level(log::Level level) {
  switch (level) {
  case log::Level::debug:
    return "debug";
  case log::Level::info:
    return "info";
  case log::Level::warn:
    return "warning";
  case log::Level::error:
    return "error";
  }
  return "error";
}

// At most `max_bytes` of `text`, cut before a UTF-8 continuation byte so that a character is
// never split, and marked as cut.
std::string cut(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) {
    return std::string(text);
  }
  std::size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0U) == 0x80U) {
    --end;
  }
  return fmt::format("{}...[{} bytes cut]", text.substr(0, end), text.size() - end);
}

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string local_host_name() {
  char host[256] = {};
  return gethostname(host, sizeof(host) - 1) == 0 ? std::string(host) : std::string("localhost");
}

// Every occurrence of `secret` in `text` replaced, for messages that may quote a response.
std::string redact(std::string text, std::string_view secret) {
  if (secret.empty()) {
    return text;
  }
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
    text.replace(at, secret.size(), "[redacted]");
  }
  return text;
}

// Rollbar answers {"err":1,"message":"…"}; the message is redacted in case a proxy quotes the
// request back.
http::ServiceError rollbar_error(const http::Response& response, std::string_view token) {
  const json body = json::parse(response.body, nullptr, false);
  http::ServiceError error;
  if (body.is_object() && body.contains("message") && body["message"].is_string()) {
    error.message = redact(cut(body["message"].get<std::string>(), 200), token);
  }
  return error;
}

} // namespace

std::string rollbar_item_data(const log::Record& record, std::string_view environment,
                              std::string_view host) {
  // Rollbar shows the keys beside message.body as the occurrence's metadata.
  auto message_with = [&](std::size_t message_bytes, std::optional<std::size_t> field_bytes) {
    json message = json::object();
    message["body"] = cut(record.msg, message_bytes);
    message["caller"] = record.caller;
    if (field_bytes && record.fields.is_object()) {
      for (const auto& [key, value] : record.fields.items()) {
        // "body" is the message text itself in Rollbar's format.
        const std::string name = key == "body" ? "field_body" : key;
        if (value.is_string()) {
          message[name] = cut(value.get_ref<const std::string&>(), *field_bytes);
        } else {
          std::string text = dump(value);
          message[name] = text.size() <= *field_bytes ? value : json(cut(text, *field_bytes));
        }
      }
    }
    return message;
  };
  json data = {
      {"environment", environment},
      {"level", rollbar_level(record.level)},
      {"timestamp",
       std::chrono::duration_cast<std::chrono::seconds>(record.time.time_since_epoch()).count()},
      {"platform", "linux"},
      {"language", "c++"},
      {"server", {{"host", host}}},
      {"notifier", {{"name", "rs_ingester"}, {"version", RSI_VERSION}}},
      // Rollbar discards a second payload with the same uuid: a retry after a lost response
      // is not counted twice.
      {"uuid", new_uuid()},
  };
  data["body"]["message"] = message_with(k_rollbar_max_item_bytes, k_rollbar_max_item_bytes);
  std::string text = dump(data);
  if (text.size() > k_rollbar_max_item_bytes) {
    data["body"]["message"] = message_with(k_cut_message_bytes, k_cut_field_bytes);
    text = dump(data);
  }
  if (text.size() > k_rollbar_max_item_bytes) { // Too many fields: keep the message only.
    data["body"]["message"] = message_with(k_cut_message_bytes, std::nullopt);
    data["body"]["message"]["fields_cut"] = true;
    text = dump(data);
  }
  return text;
}

struct RollbarReporter::State {
  State(RollbarConfig config_in, const Clock& clock_in, http::Client client_in)
      : config(std::move(config_in)), clock(clock_in), client(std::move(client_in)) {}

  void run();
  void post(const std::string& data);
  void warn_failure(const Error& error);

  const RollbarConfig config;
  const Clock& clock;
  http::Client client; // The sender thread's only.

  mutable std::mutex mutex;
  std::condition_variable wake;     // An item was queued, or closing.
  std::condition_variable finished; // The sender thread is done.
  std::deque<std::string> queue;
  std::size_t queued_bytes = 0;
  bool attached = false;
  bool closing = false;
  bool done = false;
  bool closed = false;
  std::uint64_t sent = 0;
  std::uint64_t failed = 0;
  std::uint64_t dropped = 0;
  std::optional<TimePoint> last_drop_warning;
  std::optional<TimePoint> last_failure_warning;
  std::uint64_t failures_since_warning = 0;

  std::stop_source abort; // Past the drain deadline: ends the request under way.
  std::thread sender;
};

void RollbarReporter::State::run() {
  t_sending = true;
  for (;;) {
    std::string data;
    {
      std::unique_lock lock(mutex);
      wake.wait(lock, [&] { return !queue.empty() || closing; });
      if (queue.empty() || abort.stop_requested()) {
        break;
      }
      data = std::move(queue.front());
      queue.pop_front();
      queued_bytes -= data.size();
    }
    post(data);
  }
  {
    const std::lock_guard lock(mutex);
    done = true;
  }
  finished.notify_all();
}

void RollbarReporter::State::post(const std::string& data) {
  const std::string body =
      fmt::format(R"({{"access_token":{},"data":{}}})", json(config.token).dump(), data);
  auto response = client.request(
      {.method = "POST",
       .url = config.endpoint,
       .headers = {{"Content-Type", "application/json"}, {"X-Rollbar-Access-Token", config.token}},
       .body = std::string_view(body),
       .timeout = config.request_timeout,
       .stop = abort.get_token()});
  if (response) {
    const std::lock_guard lock(mutex);
    ++sent;
    return;
  }
  if (abort.stop_requested()) { // Cut off at close(): not Rollbar's failure.
    const std::lock_guard lock(mutex);
    ++dropped;
    return;
  }
  warn_failure(response.error());
}

void RollbarReporter::State::warn_failure(const Error& error) {
  std::uint64_t failures = 0;
  std::uint64_t total = 0;
  {
    const std::lock_guard lock(mutex);
    ++failed;
    ++failures_since_warning;
    const TimePoint now = clock.now();
    if (last_failure_warning && now - *last_failure_warning < config.warning_interval) {
      return;
    }
    last_failure_warning = now;
    failures = std::exchange(failures_since_warning, 0);
    total = failed;
  }
  log::warn("error report to Rollbar not delivered",
            {{"error", redact(error.message, config.token)},
             {"not_delivered", failures},
             {"not_delivered_total", total}});
}

Result<std::unique_ptr<RollbarReporter>> RollbarReporter::start(RollbarConfig config,
                                                                const Clock& clock) {
  if (config.token.empty() || config.environment.empty()) {
    return fail(ErrorKind::permanent,
                "start Rollbar reporting: an access token and an environment are required");
  }
  if (!config.endpoint.starts_with("https://") && !config.endpoint.starts_with("http://")) {
    return fail(ErrorKind::permanent,
                "start Rollbar reporting: the endpoint must be an http(s):// URL");
  }
  if (config.host.empty()) {
    config.host = local_host_name();
  }
  const std::string token = config.token;
  RSI_TRY_ASSIGN(auto client,
                 http::Client::create({.retry = {.initial_delay = std::chrono::milliseconds(200),
                                                 .max_delay = std::chrono::milliseconds(2'000),
                                                 .multiplier = 2.0,
                                                 .max_attempts = std::max(config.max_attempts, 1)},
                                       .connect_timeout = config.connect_timeout,
                                       .timeout = config.request_timeout,
                                       .stall_timeout = std::chrono::seconds(5),
                                       .parse_error = [token](const http::Response& response) {
                                         return rollbar_error(response, token);
                                       }}));
  auto state = std::make_unique<State>(std::move(config), clock, std::move(client));
  State& started = *state;
  started.sender = std::thread([&started] { started.run(); });
  return std::unique_ptr<RollbarReporter>(new RollbarReporter(std::move(state)));
}

RollbarReporter::RollbarReporter(std::unique_ptr<State> state) : m_state(std::move(state)) {}

RollbarReporter::~RollbarReporter() { close(); }

void RollbarReporter::attach_to_log() {
  {
    const std::lock_guard lock(m_state->mutex);
    if (m_state->closed) {
      return;
    }
    m_state->attached = true;
  }
  log::set_error_hook([this](const log::Record& record) { (void)report(record); });
}

bool RollbarReporter::report(const log::Record& record) {
  if (t_sending) {
    return false;
  }
  State& state = *m_state;
  std::string data = rollbar_item_data(record, state.config.environment, state.config.host);
  std::optional<std::uint64_t> warn_dropped;
  {
    const std::lock_guard lock(state.mutex);
    if (!state.closing && state.queue.size() < state.config.queue_capacity) {
      state.queued_bytes += data.size();
      state.queue.push_back(std::move(data));
      state.wake.notify_one();
      return true;
    }
    ++state.dropped;
    const TimePoint now = state.clock.now();
    if (!state.last_drop_warning ||
        now - *state.last_drop_warning >= state.config.warning_interval) {
      state.last_drop_warning = now;
      warn_dropped = state.dropped;
    }
  }
  // A warning, not an error: it never comes back here.
  if (warn_dropped) {
    log::warn("Rollbar queue full: error reports dropped",
              {{"dropped_total", *warn_dropped}, {"queue_capacity", state.config.queue_capacity}});
  }
  return false;
}

void RollbarReporter::close() {
  State& state = *m_state;
  bool attached = false;
  {
    const std::lock_guard lock(state.mutex);
    if (state.closed) {
      return;
    }
    state.closed = true;
    attached = state.attached;
  }
  if (attached) {
    log::set_error_hook({}); // Waits for report() calls under way.
  }
  {
    std::unique_lock lock(state.mutex);
    state.closing = true;
    state.wake.notify_all();
    if (!state.finished.wait_for(lock, state.config.drain_timeout, [&] { return state.done; })) {
      state.abort.request_stop();
    }
  }
  state.sender.join();
  std::uint64_t unsent = 0;
  Stats totals;
  {
    const std::lock_guard lock(state.mutex);
    unsent = state.queue.size();
    state.dropped += unsent;
    state.queue.clear();
    state.queued_bytes = 0;
    totals = {.sent = state.sent, .failed = state.failed, .dropped = state.dropped};
  }
  if (totals.failed > 0 || totals.dropped > 0) {
    log::warn("Rollbar reporting stopped; some error reports were not delivered",
              {{"sent", totals.sent},
               {"not_delivered", totals.failed},
               {"dropped", totals.dropped},
               {"unsent_at_stop", unsent}});
  }
}

RollbarReporter::Stats RollbarReporter::stats() const {
  const std::lock_guard lock(m_state->mutex);
  return {.queued = m_state->queue.size(),
          .sent = m_state->sent,
          .failed = m_state->failed,
          .dropped = m_state->dropped,
          .queued_bytes = m_state->queued_bytes};
}

} // namespace rsi::telemetry
