// bench/scale: the cost of one file as the backlog grows, on PostgreSQL and on the embedded
// default (README.md has the method and the figures).
//
//   scale_bench claim   [--backends postgres,sqlite] [--waiting 20000,100000,1000000]
//                       [--tables 1000] [--runs N] [--claims N] [--batch-files N]
//   scale_bench drain   [--backends postgres,sqlite] [--waiting 10000,100000,1000000]
//                       [--tables 1000,10000] [--runs N] [--rows N] [--workers N]
//                       [--batch-files N] [--dir DIR]
//   scale_bench startup [--backends postgres,sqlite] [--tables 10000] [--runs N] [--dir DIR]
//
// PostgreSQL: RSI_TEST_PG (a server scripts/bench starts; RSI_TEST_PG_DATA, when set, adds the
// server's CPU to the drain's per-file figure).
#include "scale_bench.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "common/log.hpp"
#include "pg/connection.hpp"

namespace rsi::bench {
namespace {

std::set<std::string> g_schemas; // Made by fresh_schema, dropped by drop_schemas.

std::string base_conninfo() {
  const char* base = std::getenv("RSI_TEST_PG");
  if (base == nullptr) {
    die("set RSI_TEST_PG to a PostgreSQL conninfo (scripts/bench starts one)");
  }
  return base;
}

template <class T> std::vector<T> parse_list(const std::string& value) {
  std::vector<T> items;
  std::stringstream stream(value);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if constexpr (std::is_same_v<T, std::string>) {
      items.push_back(item);
    } else {
      items.push_back(static_cast<T>(std::stoll(item)));
    }
  }
  return items;
}

Options parse(int argc, char** argv) {
  if (argc < 2) {
    die("usage: scale_bench claim|drain|startup [flags] (see the header of scale_bench.cpp)");
  }
  Options options;
  options.section = argv[1];
  if (options.section == "drain") {
    options.waiting = {10'000, 100'000};
    options.tables = {1000};
    options.batch_files = 10;
    options.rows = 10;
  } else if (options.section == "startup") {
    options.tables = {10'000};
  } else if (options.section != "claim") {
    die("unknown section " + options.section);
  }
  for (int index = 2; index < argc; index += 2) {
    const std::string flag = argv[index];
    if (index + 1 >= argc) {
      die("missing value for " + flag);
    }
    const std::string value = argv[index + 1];
    if (flag == "--backends") {
      options.backends = parse_list<std::string>(value);
    } else if (flag == "--waiting") {
      options.waiting = parse_list<std::int64_t>(value);
    } else if (flag == "--tables") {
      options.tables = parse_list<int>(value);
    } else if (flag == "--runs") {
      options.runs = std::stoi(value);
    } else if (flag == "--claims") {
      options.claims = std::stoi(value);
    } else if (flag == "--batch-files") {
      options.batch_files = std::stoi(value);
    } else if (flag == "--rows") {
      options.rows = std::stoi(value);
    } else if (flag == "--workers") {
      options.workers = std::stoi(value);
    } else if (flag == "--dir") {
      options.dir = std::filesystem::absolute(value);
    } else {
      die("unknown flag " + flag);
    }
  }
  return options;
}

} // namespace

std::string table_name(std::int64_t index) { return fmt::format("t{:05}", index); }

std::string key_name(std::int64_t table, std::int64_t index) {
  return fmt::format("scale/{}/v0/f{:08}.gz", table_name(table), index);
}

std::string fresh_schema(const std::string& tag) {
  const std::string base = base_conninfo();
  const std::string schema = fmt::format("scale_{}_{}_{}", tag, getpid(), g_schemas.size());
  auto admin = value_or_die(pg::Connection::connect(base));
  value_or_die(admin.exec_script(
      fmt::format("DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0}", schema)));
  g_schemas.insert(schema);
  return fmt::format("{} options='-csearch_path={}'", base, schema);
}

void drop_schemas() {
  if (g_schemas.empty()) {
    return;
  }
  if (auto admin = pg::Connection::connect(base_conninfo())) {
    for (const auto& schema : g_schemas) {
      (void)admin->exec_script(fmt::format("DROP SCHEMA IF EXISTS {} CASCADE", schema));
    }
  }
  g_schemas.clear();
}

double vacuum_schema(const std::string& conninfo) {
  auto conn = value_or_die(pg::Connection::connect(conninfo));
  const auto pid = value_or_die(conn.exec("SELECT pg_backend_pid()")).integer(0, 0);
  const auto tables = value_or_die(
      conn.exec("SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') FROM pg_tables "
                "WHERE schemaname = current_schema()"));
  const auto backend_cpu = [&] { return process_cpu_seconds(pid); };
  const double before = backend_cpu();
  value_or_die(conn.exec_script("VACUUM (ANALYZE) " + std::string(tables.text(0, 0))));
  return backend_cpu() - before;
}

} // namespace rsi::bench

int main(int argc, char** argv) {
  using namespace rsi::bench;
  rsi::log::init({.level = rsi::log::Level::warn});
  try {
    const Options options = parse(argc, argv);
    if (options.section == "claim") {
      claim_section(options);
    } else if (options.section == "drain") {
      drain_section(options);
    } else {
      startup_section(options);
    }
  } catch (const BenchFailure& failure) {
    std::fprintf(stderr, "scale_bench: %s\n", failure.message.c_str());
    drop_schemas();
    return 1;
  }
  drop_schemas();
  return 0;
}
