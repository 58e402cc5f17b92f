#pragma once

// A fake Blueprint on 127.0.0.1 (port 0) for registry, migrator and end-to-end tests. It replays
// the responses recorded from a real Blueprint (../shared/spec/blueprint/*.http) for the routes
// they were recorded for, serves a scripted history on top (scripted answers win), and answers
// everything else as Blueprint does: 400 {"Error":"No migration for table 'x' to vN."} and 404
// "Not Found". Bodies are gzip-compressed (by cpp-httplib) when the request accepts gzip.
// Thread-safe.

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/operation.hpp"
#include "core/schema.hpp"
#include "integration/http/local_server.hpp"

namespace rsi::test {

struct FakeResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class FakeBlueprint {
public:
  FakeBlueprint();
  ~FakeBlueprint();
  FakeBlueprint(const FakeBlueprint&) = delete;
  FakeBlueprint& operator=(const FakeBlueprint&) = delete;

  // Replay every recording under `dir` (a folder of raw HTTP responses named as in
  // ../shared/spec/blueprint). Returns how many routes were loaded.
  std::size_t load_recordings(const std::filesystem::path& dir);

  // Scripted answers for GET /migration/<table>?to_version=<version> and
  // GET /schema/<table>?version=<version>.
  void set_migration(const std::string& table, int version,
                     const std::vector<core::Operation>& operations);
  void set_schema(const std::string& table, int version, const core::TableSchema& schema);
  void set_response(const std::string& path_and_query, FakeResponse response);

  // While down, every request gets 503 {"Error":"unavailable"}.
  void set_down(bool down) { m_down = down; }

  // "http://127.0.0.1:<port>".
  [[nodiscard]] std::string url() const { return m_server.url(); }
  [[nodiscard]] int port() const { return m_server.port(); }

  // Requests served so far ("/migration/t?to_version=1"), and how many accepted gzip.
  [[nodiscard]] std::vector<std::string> requests() const;
  [[nodiscard]] int gzip_requests() const { return m_gzip_requests; }

private:
  FakeResponse answer(const std::string& kind, const std::string& key, const std::string& table,
                      const std::string& version);

  LocalServer m_server;
  mutable std::mutex m_mutex;
  std::map<std::string, FakeResponse> m_routes; // "/migration/t?to_version=1" → answer.
  std::vector<std::string> m_requests;
  std::atomic<bool> m_down{false};
  std::atomic<int> m_gzip_requests{0};
};

// Steps as Blueprint would send them.
core::Operation add_step(std::string name, std::string type, std::string options, int version,
                         int ordering);
core::Operation delete_step(std::string name, int version, int ordering);
core::Operation rename_step(std::string from, std::string to, int version, int ordering);
core::Operation event_step(core::Action action, std::string reason, int version, int ordering);

} // namespace rsi::test
