#pragma once

#include <chrono>
#include <functional>
#include <source_location>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace rsi::log {

enum class Level { debug, info, warn, error };

struct Config {
  Level level = Level::info;
  std::string env = "local"; // Deployment name written into every line ("env").
};

// Configure the process-wide logger. Call once at the top of a run_*() function;
// until then lines go to stderr at info level.
void init(const Config& config);

// Parses "debug", "info", "warn"/"warning", "error"; nullopt-like false on anything else.
bool parse_level(std::string_view text, Level& level);

// The name written into log lines ("debug", "info", "warning", "error"); parse_level reads it.
std::string_view to_string(Level level);

bool enabled(Level level);

// What a hook sees of one line: views into the line being written, valid only during the call.
struct Record {
  Level level = Level::error;
  std::string_view msg;
  const nlohmann::json& fields;
  std::string_view caller; // "file.cpp:42"
  std::chrono::system_clock::time_point time;
};

// Called on the logging thread for every line at error level, after the line is written (an
// alerting sink such as Rollbar). It must be quick and never block: queue the record and return.
// Lines it logs itself do not reach it again, and an exception it throws is swallowed.
using ErrorHook = std::function<void(const Record& record)>;

// Install `hook` (an empty function removes it); one hook at a time. Returns only when no call of
// the previous hook is under way, so whatever that hook refers to may be destroyed afterwards.
// Must not be called from inside a hook.
void set_error_hook(ErrorHook hook);

// One JSON object per line on stderr: level, msg, time, caller, host, pid, env, plus
// `fields` (an object; "error" by convention for an Error's message). Thread-safe.
void write(Level level, std::string_view msg,
           const nlohmann::json& fields = nlohmann::json::object(),
           std::source_location where = std::source_location::current());

inline void debug(std::string_view msg, const nlohmann::json& fields = nlohmann::json::object(),
                  std::source_location where = std::source_location::current()) {
  write(Level::debug, msg, fields, where);
}
inline void info(std::string_view msg, const nlohmann::json& fields = nlohmann::json::object(),
                 std::source_location where = std::source_location::current()) {
  write(Level::info, msg, fields, where);
}
inline void warn(std::string_view msg, const nlohmann::json& fields = nlohmann::json::object(),
                 std::source_location where = std::source_location::current()) {
  write(Level::warn, msg, fields, where);
}
inline void error(std::string_view msg, const nlohmann::json& fields = nlohmann::json::object(),
                  std::source_location where = std::source_location::current()) {
  write(Level::error, msg, fields, where);
}

} // namespace rsi::log
