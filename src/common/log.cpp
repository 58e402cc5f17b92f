// Process-wide JSON logger on top of spdlog (thread-safe stderr sink, level filter).
// Each line is built as a JSON object so that messages with quotes, newlines or invalid
// UTF-8 (from bad input) still yield one valid line.
#include "common/log.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "common/clock.hpp"

namespace rsi::log {
namespace {

struct State {
  std::shared_ptr<spdlog::logger> logger;
  std::string host;
  std::string env = "local";
  long pid = 0;
};

std::atomic<int> g_level{static_cast<int>(Level::info)};

State& state() {
  static State instance = [] {
    State fresh;
    fresh.logger = spdlog::stderr_logger_mt("rsi");
    fresh.logger->set_pattern("%v");
    fresh.logger->set_level(spdlog::level::trace);
    fresh.logger->flush_on(spdlog::level::trace);
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) == 0) {
      fresh.host = host;
    }
    fresh.pid = static_cast<long>(getpid());
    return fresh;
  }();
  return instance;
}

std::mutex g_config_mutex;

// Readers are the logging threads calling the hook; set_error_hook takes it exclusively, which
// waits for every call under way.
std::shared_mutex g_hook_mutex;
ErrorHook g_hook;
// Set while this thread runs the hook: an error it logs must not call the hook again (and
// would deadlock re-taking the shared lock).
thread_local bool t_in_hook = false;

std::string_view basename(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

} // namespace

void init(const Config& config) {
  const std::lock_guard lock(g_config_mutex);
  State& current = state();
  current.env = config.env;
  g_level.store(static_cast<int>(config.level));
}

std::string_view to_string(Level level) {
  switch (level) {
  case Level::debug:
    return "debug";
  case Level::info:
    return "info";
  case Level::warn:
    return "warning";
  case Level::error:
    return "error";
  }
  return "info";
}

bool parse_level(std::string_view text, Level& level) {
  if (text == "debug") {
    level = Level::debug;
  } else if (text == "info") {
    level = Level::info;
  } else if (text == "warn" || text == "warning") {
    level = Level::warn;
  } else if (text == "error") {
    level = Level::error;
  } else {
    return false;
  }
  return true;
}

bool enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

void set_error_hook(ErrorHook hook) {
  const std::unique_lock lock(g_hook_mutex);
  g_hook.swap(hook);
}

void write(Level level, std::string_view msg, const nlohmann::json& fields,
           std::source_location where) {
  if (!enabled(level)) {
    return;
  }
  State& current = state();
  const auto now = std::chrono::system_clock::now();
  std::string caller = fmt::format("{}:{}", basename(where.file_name()), where.line());
  nlohmann::json line = nlohmann::json::object();
  line["level"] = to_string(level);
  line["msg"] = msg;
  line["time"] = to_iso8601(now);
  line["caller"] = caller;
  line["host"] = current.host;
  line["pid"] = current.pid;
  line["env"] = current.env;
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) {
      line[key] = value;
    }
  }
  // Replace invalid UTF-8 rather than throw: log text often quotes bad input.
  current.logger->info(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));

  if (level != Level::error || t_in_hook) {
    return;
  }
  const std::shared_lock lock(g_hook_mutex);
  if (!g_hook) {
    return;
  }
  t_in_hook = true;
  try {
    g_hook(Record{.level = level, .msg = msg, .fields = fields, .caller = caller, .time = now});
  } catch (...) {
    // A failing alert sink must not fail the line's caller; the line itself is written.
  }
  t_in_hook = false;
}

} // namespace rsi::log
