#pragma once

#include <string_view>
#include <vector>

namespace rsi::ingestdb {

// One versioned schema change of the ingester database (sql/<backend>/NNN_name.sql).
struct Migration {
  int version = 0;
  std::string_view name;
  std::string_view sql;
};

extern const std::vector<Migration> k_postgres_migrations;
extern const std::vector<Migration> k_sqlite_migrations;

} // namespace rsi::ingestdb
