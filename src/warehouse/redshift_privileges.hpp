#pragma once

// What the Redshift backend's database user must be allowed to do, checked once at start-up
// before any DDL (docs/warehouse.md, "Redshift requirements"). Part of the Redshift backend:
// include only from it and its tests.

#include <string>
#include <vector>

#include "common/error.hpp"
#include "pg/connection.hpp"
#include "warehouse/ddl.hpp"

namespace rsi::warehouse::redshift {

// The bookkeeping tables of infra the backend keeps, in the order they are created.
inline constexpr std::string_view k_infra_tables[] = {"table_version", "load_manifest",
                                                      "rejected_row"};

// What start-up found.
struct PrivilegeReport {
  std::string user;                        // current_user.
  bool infra_schema = false;               // infra exists.
  std::vector<std::string> missing_tables; // Of k_infra_tables, those not there yet.
  // The statements an administrator must run before the backend can work, each ending in ';'
  // (the user quoted as an identifier): USAGE on infra (and CREATE there while a bookkeeping
  // table is missing, CREATE on the database while infra is), SELECT and INSERT on each
  // bookkeeping table, USAGE and CREATE on the physical schema and the view schemas.
  std::vector<std::string> grants;
  // Statements that would make a check see what it must but cannot now: `ALTER USER … SYSLOG
  // ACCESS UNRESTRICTED;` when the user is neither a superuser nor unrestricted (SVV_TRANSACTIONS
  // and the STL/STV tables then show only the user's own sessions: table_locked would never see
  // another session's lock, and the original's loads would not be found).
  std::vector<std::string> advice;
  std::string advice_reason; // Why `advice` is there ("" when it is empty).
};

// Reads the catalog (pg_namespace, pg_class) and the privilege functions (has_schema_privilege,
// has_table_privilege, has_database_privilege) and SVV_USER_INFO for the connected user; changes
// nothing. Fails only when the catalog cannot be read.
[[nodiscard]] Result<PrivilegeReport> check_privileges(pg::Connection& conn, const SqlNames& names);

} // namespace rsi::warehouse::redshift
