#include "warehouse/redshift_privileges.hpp"

#include <algorithm>
#include <initializer_list>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace rsi::warehouse::redshift {
namespace {

constexpr std::string_view k_schema_exists =
    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)";
constexpr std::string_view k_relation_exists =
    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
    "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'r')";
constexpr std::string_view k_schema_privilege = "SELECT has_schema_privilege($1, $2)";
constexpr std::string_view k_table_privilege = "SELECT has_table_privilege($1, $2)";
constexpr std::string_view k_database_create =
    "SELECT has_database_privilege(current_database(), 'CREATE'), current_database()";
// Redshift: visible to every user, who sees their own row.
constexpr std::string_view k_user_info =
    "SELECT superuser, syslog_access FROM svv_user_info WHERE user_name = current_user";

Result<bool> yes(pg::Connection& conn, std::string_view sql, const std::vector<pg::Param>& params) {
  RSI_TRY_ASSIGN(const auto rows, conn.exec(sql, params));
  return rows.boolean(0, 0);
}

// The privileges of `wanted` ("USAGE", "CREATE") the user lacks on `schema`.
Result<std::vector<std::string>> missing_on_schema(pg::Connection& conn, const std::string& schema,
                                                   std::initializer_list<std::string_view> wanted) {
  std::vector<std::string> missing;
  for (const std::string_view privilege : wanted) {
    RSI_TRY_ASSIGN(const bool granted,
                   yes(conn, k_schema_privilege, {schema, std::string(privilege)}));
    if (!granted) {
      missing.emplace_back(privilege);
    }
  }
  return missing;
}

// A schema the user must use and create in; none when absent (an operator's DDL, not ours).
Result<void> check_schema(pg::Connection& conn, const std::string& grantee,
                          const std::string& schema, PrivilegeReport& report) {
  RSI_TRY_ASSIGN(const bool exists, yes(conn, k_schema_exists, {schema}));
  RSI_TRY_ASSIGN(const std::string quoted, conn.quote_identifier(schema));
  std::vector<std::string> missing{"USAGE", "CREATE"};
  if (!exists) {
    report.grants.push_back(fmt::format("CREATE SCHEMA {};", quoted));
  } else {
    RSI_TRY_ASSIGN(missing, missing_on_schema(conn, schema, {"USAGE", "CREATE"}));
  }
  if (!missing.empty()) {
    report.grants.push_back(
        fmt::format("GRANT {} ON SCHEMA {} TO {};", fmt::join(missing, ", "), quoted, grantee));
  }
  return {};
}

// SELECT and INSERT on each of infra's tables the user did not create. Without USAGE on infra
// (`usage` false) its tables' privileges cannot be asked about (naming one fails): both are
// listed then, a GRANT of what is held already changing nothing.
Result<void> check_infra_tables(pg::Connection& conn, const std::string& grantee, bool usage,
                                PrivilegeReport& report) {
  for (const std::string_view table : k_infra_tables) {
    if (std::find(report.missing_tables.begin(), report.missing_tables.end(), table) !=
        report.missing_tables.end()) {
      continue; // Created by the user, who then owns it.
    }
    std::vector<std::string_view> lacking;
    for (const std::string_view privilege : {"SELECT", "INSERT"}) {
      bool granted = false;
      if (usage) {
        RSI_TRY_ASSIGN(granted, yes(conn, k_table_privilege,
                                    {fmt::format("infra.{}", table), std::string(privilege)}));
      }
      if (!granted) {
        lacking.push_back(privilege);
      }
    }
    if (!lacking.empty()) {
      report.grants.push_back(
          fmt::format("GRANT {} ON infra.{} TO {};", fmt::join(lacking, ", "), table, grantee));
    }
  }
  return {};
}

// The infra schema and its tables: what is missing, and the grants to create or use them.
Result<void> check_infra(pg::Connection& conn, const std::string& grantee,
                         PrivilegeReport& report) {
  RSI_TRY_ASSIGN(report.infra_schema, yes(conn, k_schema_exists, {"infra"}));
  if (!report.infra_schema) {
    // The backend creates infra itself where it may (CREATE on the database).
    RSI_TRY_ASSIGN(const auto database, conn.exec(k_database_create));
    if (!database.boolean(0, 0)) {
      RSI_TRY_ASSIGN(const std::string quoted_database, conn.quote_identifier(database.text(0, 1)));
      report.grants.push_back(
          fmt::format("GRANT CREATE ON DATABASE {} TO {};", quoted_database, grantee));
    }
    report.missing_tables.assign(std::begin(k_infra_tables), std::end(k_infra_tables));
    return {};
  }
  for (const std::string_view table : k_infra_tables) {
    RSI_TRY_ASSIGN(const bool exists, yes(conn, k_relation_exists, {"infra", std::string(table)}));
    if (!exists) {
      report.missing_tables.emplace_back(table);
    }
  }
  // CREATE only while a table is missing: once they exist, no DDL runs in infra.
  RSI_TRY_ASSIGN(const auto missing, report.missing_tables.empty()
                                         ? missing_on_schema(conn, "infra", {"USAGE"})
                                         : missing_on_schema(conn, "infra", {"USAGE", "CREATE"}));
  if (!missing.empty()) {
    report.grants.push_back(
        fmt::format("GRANT {} ON SCHEMA infra TO {};", fmt::join(missing, ", "), grantee));
  }
  const bool usage = std::find(missing.begin(), missing.end(), "USAGE") == missing.end();
  return check_infra_tables(conn, grantee, usage, report);
}

// SYSLOG ACCESS: SVV_USER_INFO (also on Serverless); a failure to read it is reported, not fatal.
void check_syslog_access(pg::Connection& conn, const std::string& grantee,
                         PrivilegeReport& report) {
  auto info = conn.exec(k_user_info);
  if (!info) {
    report.advice_reason = fmt::format(
        "cannot read SVV_USER_INFO ({}): whether the lock check sees other sessions is unknown",
        info.error().message);
  } else if (!info->empty() && !info->boolean(0, 0) && info->text(0, 1) != "UNRESTRICTED") {
    report.advice.push_back(fmt::format("ALTER USER {} SYSLOG ACCESS UNRESTRICTED;", grantee));
    report.advice_reason =
        "without it SVV_TRANSACTIONS and the STL/STV tables show only this user's sessions: the "
        "lock check before an ALTER never sees another session's lock, and loads the original "
        "started are not found in the query logs";
  }
}

} // namespace

Result<PrivilegeReport> check_privileges(pg::Connection& conn, const SqlNames& names) {
  PrivilegeReport report;
  RSI_TRY_ASSIGN(const auto user, conn.exec("SELECT current_user"));
  report.user = user.text(0, 0);
  RSI_TRY_ASSIGN(const std::string grantee, conn.quote_identifier(report.user));
  RSI_TRY(check_infra(conn, grantee, report));
  const Layout& layout = names.layout();
  for (const std::string* schema :
       {&layout.physical_schema, &layout.view_schema, &layout.full_view_schema}) {
    if (!schema->empty()) {
      RSI_TRY(check_schema(conn, grantee, names.catalog(*schema), report));
    }
  }
  check_syslog_access(conn, grantee, report);
  return report;
}

} // namespace rsi::warehouse::redshift
