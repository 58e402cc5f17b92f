#pragma once

// PostgreSQL dressed as Redshift for the tests of the Redshift backend: the few Redshift names
// it uses stood in for (GETDATE(), the datetime type, pg_last_copy_count(), SVV_TRANSACTIONS,
// and the query-log tables STV_RECENTS, STL_QUERY, STL_UTILITYTEXT), and the schemas a Redshift
// deployment has. Run once in a fresh database.

#include <string_view>

namespace rsi::test {

inline constexpr std::string_view k_redshift_shims = R"sql(
  CREATE DOMAIN datetime AS timestamp;
  CREATE FUNCTION getdate() RETURNS timestamp LANGUAGE sql AS $$ SELECT now()::timestamp $$;
  CREATE FUNCTION pg_last_copy_count() RETURNS bigint LANGUAGE sql AS $$ SELECT 0::bigint $$;
  CREATE VIEW svv_transactions AS
    SELECT l.pid, CASE WHEN l.locktype = 'relation' THEN 'relation' ELSE 'transactionid' END AS lockable_object_type,
           l.relation, l.granted
    FROM pg_locks l
    WHERE l.database IS NULL OR l.database = (SELECT oid FROM pg_database WHERE datname = current_database());
  CREATE TABLE stv_recents (query text, status text);
  CREATE TABLE stl_query (xid bigint, querytxt text, aborted int);
  CREATE TABLE stl_utilitytext (xid bigint, text char(200));
  -- A Redshift deployment has its schemas; the backend creates only infra's tables.
  CREATE SCHEMA logs;
  CREATE SCHEMA views;
  CREATE SCHEMA fullviews;
)sql";

} // namespace rsi::test
