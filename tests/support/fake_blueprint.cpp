#include "support/fake_blueprint.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace rsi::test {
namespace {

// Status, Content-Type and body of a raw HTTP/1.1 response.
FakeResponse read_recording(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  const std::string raw = contents.str();
  FakeResponse response;
  const auto blank_line = raw.find("\r\n\r\n");
  if (blank_line == std::string::npos) {
    return response;
  }
  response.body = raw.substr(blank_line + 4);
  const std::string_view head(raw.data(), blank_line);
  const auto status_at = head.find(' ') + 1;
  std::from_chars(head.data() + status_at, head.data() + status_at + 3, response.status);
  constexpr std::string_view k_type = "Content-Type: ";
  if (const auto type_at = head.find(k_type); type_at != std::string_view::npos) {
    const auto line_end = std::min(head.find("\r\n", type_at), head.size());
    response.content_type =
        std::string(head.substr(type_at + k_type.size(), line_end - type_at - k_type.size()));
  }
  return response;
}

// The route a recording's file name stands for, or "" for routes the fake does not serve:
// migration_<t>_to_version_<N>[_from_version_<M>], migration_<t>, schema_<t>_version_<N>,
// schema_<t>.
std::string route_of(std::string name) {
  const auto split = [](std::string& text, std::string_view marker) {
    const auto at = text.find(marker);
    if (at == std::string::npos) {
      return std::string();
    }
    std::string after = text.substr(at + marker.size());
    text.resize(at);
    return after;
  };
  if (name.starts_with("migration_")) {
    std::string table = name.substr(10);
    std::string to_version = split(table, "_to_version_");
    const std::string from_version = split(to_version, "_from_version_");
    std::vector<std::string> params;
    if (!from_version.empty()) {
      params.push_back("from_version=" + from_version);
    }
    if (!to_version.empty()) {
      params.push_back("to_version=" + to_version);
    }
    return fmt::format("/migration/{}{}{}", table, params.empty() ? "" : "?",
                       fmt::join(params, "&"));
  }
  if (name.starts_with("schema_")) {
    std::string table = name.substr(7);
    const std::string version = split(table, "_version_");
    return fmt::format("/schema/{}{}", table, version.empty() ? "" : "?version=" + version);
  }
  return {};
}

// The request's route with its query parameters sorted by name, as route_of spells it.
std::string route_key(const httplib::Request& request) {
  std::vector<std::string> params;
  for (const auto& [name, value] : request.params) {
    params.push_back(name + "=" + value);
  }
  std::sort(params.begin(), params.end());
  return request.path + (params.empty() ? "" : "?" + fmt::format("{}", fmt::join(params, "&")));
}

} // namespace

FakeBlueprint::FakeBlueprint() {
  const auto handler = [this](const std::string& kind) {
    return [this, kind](const httplib::Request& request, httplib::Response& response) {
      const std::string key = route_key(request);
      const std::string version =
          request.get_param_value(kind == "migration" ? "to_version" : "version");
      const FakeResponse answered = answer(kind, key, request.matches[1].str(), version);
      response.status = answered.status;
      // cpp-httplib compresses JSON and text bodies itself when the request accepts gzip.
      if (request.get_header_value("Accept-Encoding").find("gzip") != std::string::npos) {
        ++m_gzip_requests;
      }
      response.set_content(answered.body, answered.content_type);
    };
  };
  m_server.server().Get(R"(/migration/([^/]+))", handler("migration"));
  m_server.server().Get(R"(/schema/([^/]+))", handler("schema"));
  m_server.start();
}

FakeBlueprint::~FakeBlueprint() { m_server.stop(); }

std::size_t FakeBlueprint::load_recordings(const std::filesystem::path& dir) {
  std::size_t loaded = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".http") {
      continue;
    }
    const std::string route = route_of(entry.path().stem().string());
    if (!route.empty()) {
      set_response(route, read_recording(entry.path()));
      ++loaded;
    }
  }
  return loaded;
}

void FakeBlueprint::set_migration(const std::string& table, int version,
                                  const std::vector<core::Operation>& operations) {
  set_response(fmt::format("/migration/{}?to_version={}", table, version),
               {.body = core::encode_migration(operations)});
}

void FakeBlueprint::set_schema(const std::string& table, int version,
                               const core::TableSchema& schema) {
  set_response(fmt::format("/schema/{}?version={}", table, version),
               {.body = core::encode_schema(schema)});
}

void FakeBlueprint::set_response(const std::string& path_and_query, FakeResponse response) {
  const std::lock_guard lock(m_mutex);
  m_routes[path_and_query] = std::move(response);
}

std::vector<std::string> FakeBlueprint::requests() const {
  const std::lock_guard lock(m_mutex);
  return m_requests;
}

FakeResponse FakeBlueprint::answer(const std::string& kind, const std::string& key,
                                   const std::string& table, const std::string& version) {
  const std::lock_guard lock(m_mutex);
  m_requests.push_back(key);
  if (m_down) {
    return {.status = 503, .body = core::encode_blueprint_error("unavailable")};
  }
  if (const auto found = m_routes.find(key); found != m_routes.end()) {
    return found->second;
  }
  if (kind == "migration") {
    return {.status = 400,
            .body = core::encode_blueprint_error(
                fmt::format("No migration for table '{}' to v{}.", table, version))};
  }
  return {.status = 404, .content_type = "text/plain; charset=utf-8", .body = "Not Found\n"};
}

core::Operation add_step(std::string name, std::string type, std::string options, int version,
                         int ordering) {
  std::string inbound = name;
  return {.action = core::Action::add,
          .name = std::move(name),
          .version = version,
          .ordering = ordering,
          .inbound = std::move(inbound),
          .column_type = std::move(type),
          .column_options = std::move(options)};
}

core::Operation delete_step(std::string name, int version, int ordering) {
  return {.action = core::Action::delete_column,
          .name = std::move(name),
          .version = version,
          .ordering = ordering};
}

core::Operation rename_step(std::string from, std::string to, int version, int ordering) {
  return {.action = core::Action::rename,
          .name = std::move(from),
          .version = version,
          .ordering = ordering,
          .new_outbound = std::move(to)};
}

core::Operation event_step(core::Action action, std::string reason, int version, int ordering) {
  return {.action = action, .version = version, .ordering = ordering, .reason = std::move(reason)};
}

} // namespace rsi::test
