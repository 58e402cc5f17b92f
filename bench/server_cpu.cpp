#include "server_cpu.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include <unistd.h>

namespace rsi::bench {
namespace {

// /proc/<pid>/stat's fields after the command (which may hold spaces, in parentheses):
// fields[0] is field 3 (state), so ppid is fields[1], utime [11], stime [12], cutime [13],
// cstime [14].
std::vector<std::string> stat_fields(const std::filesystem::path& process) {
  std::ifstream stat(process / "stat");
  std::string line;
  std::vector<std::string> fields;
  if (!std::getline(stat, line)) {
    return fields;
  }
  const auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 > line.size()) {
    return fields;
  }
  std::istringstream rest(line.substr(close + 2));
  std::string value;
  while (rest >> value) {
    fields.push_back(value);
  }
  return fields;
}

// What a server process is, from the title PostgreSQL gives it ("postgres: autovacuum worker
// <db>", "postgres: <user> <db> <client> <state>", "postgres: checkpointer", ...).
ServerSnapshot::Kind process_kind(const std::filesystem::path& process,
                                  const std::string& warehouse_db) {
  std::ifstream cmdline(process / "cmdline");
  std::string title;
  std::getline(cmdline, title, '\0');
  if (title.find("autovacuum worker") != std::string::npos) {
    return ServerSnapshot::autovacuum;
  }
  std::istringstream words(title);
  std::string postgres;
  std::string user;
  std::string database;
  words >> postgres >> user >> database;
  if (postgres != "postgres:" || database.empty()) {
    return ServerSnapshot::background;
  }
  static const std::set<std::string> k_background{"checkpointer", "background", "walwriter",
                                                  "autovacuum",   "logical",    "archiver",
                                                  "stats",        "walsender",  "walreceiver"};
  if (k_background.contains(user)) {
    return ServerSnapshot::background;
  }
  return database == warehouse_db ? ServerSnapshot::warehouse : ServerSnapshot::ingest;
}

} // namespace

double process_cpu_seconds(long pid) {
  const auto fields = stat_fields(std::filesystem::path("/proc") / std::to_string(pid));
  if (fields.size() < 13) {
    return 0.0;
  }
  return (std::stod(fields[11]) + std::stod(fields[12])) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

namespace {

// The CPU the postmaster's reaped children spent (cutime + cstime), in seconds.
double reaped_seconds(const std::vector<std::string>& postmaster_fields) {
  return (std::stod(postmaster_fields[13]) + std::stod(postmaster_fields[14])) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

ServerSnapshot scan_server(long postmaster, const std::string& warehouse_db) {
  ServerSnapshot snapshot;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    const auto fields = stat_fields(entry.path());
    if (fields.size() < 15) {
      continue;
    }
    const long pid = std::stol(name);
    if (pid != postmaster && std::stol(fields[1]) != postmaster) {
      continue;
    }
    const double cpu = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
    if (pid == postmaster) {
      snapshot.reaped = reaped_seconds(fields);
      snapshot.processes[pid] = {ServerSnapshot::background, cpu};
    } else {
      snapshot.processes[pid] = {process_kind(entry.path(), warehouse_db), cpu};
    }
  }
  return snapshot;
}

} // namespace

ServerSnapshot postgres_server_snapshot(const std::string& warehouse_db) {
  const char* data = std::getenv("RSI_TEST_PG_DATA");
  if (data == nullptr) {
    return {};
  }
  std::ifstream pid_file(std::filesystem::path(data) / "postmaster.pid");
  long postmaster = 0;
  if (!(pid_file >> postmaster)) {
    return {};
  }
  // A backend the postmaster reaps while /proc is read (its connection just closed) would be
  // counted in neither the postmaster's reaped time nor among the children, or in both,
  // depending on which entry came first: read again until no child was reaped meanwhile.
  const auto postmaster_dir = std::filesystem::path("/proc") / std::to_string(postmaster);
  for (int attempt = 0;; ++attempt) {
    const auto before = stat_fields(postmaster_dir);
    ServerSnapshot snapshot = scan_server(postmaster, warehouse_db);
    const auto after = stat_fields(postmaster_dir);
    if (before.size() < 15 || after.size() < 15 ||
        reaped_seconds(before) == reaped_seconds(after) || attempt == 100) {
      return snapshot;
    }
  }
}

ServerCpu server_cpu_between(const ServerSnapshot& before, const ServerSnapshot& after) {
  ServerCpu spent;
  // The reaped children's CPU is all they spent: what those alive at `before` had spent by then
  // is not of this interval.
  spent.autovacuum = after.reaped - before.reaped;
  for (const auto& [pid, process] : before.processes) {
    if (!after.processes.contains(pid)) {
      spent.autovacuum -= process.second;
    }
  }
  for (const auto& [pid, process] : after.processes) {
    const auto& [kind, cpu] = process;
    const auto earlier = before.processes.find(pid);
    const double delta = cpu - (earlier == before.processes.end() ? 0 : earlier->second.second);
    switch (kind) {
    case ServerSnapshot::ingest:
      spent.ingest += delta;
      break;
    case ServerSnapshot::warehouse:
      spent.warehouse += delta;
      break;
    case ServerSnapshot::autovacuum:
      spent.autovacuum += delta;
      break;
    case ServerSnapshot::background:
      spent.background += delta;
      break;
    }
  }
  return spent;
}

} // namespace rsi::bench
