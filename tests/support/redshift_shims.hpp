#pragma once

// PostgreSQL dressed as Redshift for the tests of the Redshift backend: identifiers folded to
// lowercase as Redshift folds them (an event trigger renames what DDL created in upper case), the
// few Redshift names it uses stood in for (PG_TABLE_DEF, SVV_USER_INFO, GETDATE(), the datetime
// type, pg_last_copy_count(), pg_last_copy_id(), SVV_TRANSACTIONS, the query-log tables
// STV_RECENTS, STL_QUERY, STL_UTILITYTEXT, and the load errors STL_LOAD_ERRORS and
// SYS_LOAD_ERROR_DETAIL), and the schemas a Redshift deployment has. A test's stand-in for COPY
// records a session's last COPY in rsi_copy_session (keyed by the backend pid, as Redshift keeps it
// per session) and fails like Redshift with rsi_fail_copy() (message, SQLSTATE, DETAIL). Run once
// in a fresh database.

#include <string_view>

namespace rsi::test {

inline constexpr std::string_view k_redshift_shims = R"sql(
  CREATE DOMAIN datetime AS timestamp;
  CREATE FUNCTION getdate() RETURNS timestamp LANGUAGE sql AS $$ SELECT now()::timestamp $$;
  CREATE TABLE rsi_copy_session (pid int PRIMARY KEY, copy_id int NOT NULL, copy_count bigint NOT NULL);
  CREATE FUNCTION pg_last_copy_count() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce((SELECT copy_count FROM rsi_copy_session WHERE pid = pg_backend_pid()), 0) $$;
  CREATE FUNCTION pg_last_copy_id() RETURNS int LANGUAGE sql AS $$
    SELECT coalesce((SELECT copy_id FROM rsi_copy_session WHERE pid = pg_backend_pid()), -1) $$;
  CREATE FUNCTION rsi_fail_copy(msg text, state text DEFAULT 'XX000', detail text DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql AS $$ BEGIN
      IF detail IS NULL THEN RAISE EXCEPTION USING MESSAGE = msg, ERRCODE = state;
      ELSE RAISE EXCEPTION USING MESSAGE = msg, ERRCODE = state, DETAIL = detail; END IF;
    END $$;
  CREATE TABLE stl_load_errors (userid int, slice int, tbl int, starttime timestamp, session int,
    query int, filename char(256), line_number bigint, colname char(127), type char(10),
    col_length char(10), position int, raw_line char(1024), raw_field_value char(1024),
    err_code int, err_reason char(100));
  CREATE TABLE sys_load_error_detail (user_id int, query_id bigint, transaction_id bigint,
    session_id int, database_name char(64), table_id int, start_time timestamp,
    file_name char(256), line_number bigint, column_name char(127), column_type char(10),
    column_length char(10), position int, error_code int, error_message char(512));
  CREATE VIEW svv_transactions AS
    SELECT l.pid, CASE WHEN l.locktype = 'relation' THEN 'relation' ELSE 'transactionid' END AS lockable_object_type,
           l.relation, l.granted
    FROM pg_locks l
    WHERE l.database IS NULL OR l.database = (SELECT oid FROM pg_database WHERE datname = current_database());
  CREATE TABLE stv_recents (query text, status text);
  CREATE TABLE stl_query (xid bigint, querytxt text, aborted int);
  CREATE TABLE stl_utilitytext (xid bigint, text char(200));
  -- Redshift folds the ASCII letters of every identifier to lowercase, quoted or not (unless
  -- enable_case_sensitive_identifier is on): after each DDL statement, whatever it created with
  -- an upper-case letter (schema, table, view, column) is renamed as Redshift would have named it,
  -- so "MyEvent" becomes myevent and a second CREATE TABLE "MyEvent" finds it there. (The
  -- database runs without a locale, so lower() folds ASCII only, as Redshift does.)
  CREATE FUNCTION rsi_fold_identifiers() RETURNS event_trigger LANGUAGE plpgsql AS $$
  DECLARE
    item record;
  BEGIN
    FOR item IN SELECT nspname FROM pg_namespace WHERE nspname ~ '[A-Z]' LOOP
      EXECUTE format('ALTER SCHEMA %I RENAME TO %I', item.nspname, lower(item.nspname));
    END LOOP;
    FOR item IN SELECT n.nspname, c.relname, c.relkind FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relname ~ '[A-Z]' AND c.relkind IN ('r', 'v')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') LOOP
      EXECUTE format('ALTER %s %I.%I RENAME TO %I',
                     CASE item.relkind WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END,
                     item.nspname, item.relname, lower(item.relname));
    END LOOP;
    FOR item IN SELECT n.nspname, c.relname, c.relkind, a.attname FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE a.attname ~ '[A-Z]' AND a.attnum > 0 AND NOT a.attisdropped
          AND c.relkind IN ('r', 'v') AND n.nspname NOT IN ('pg_catalog', 'information_schema') LOOP
      EXECUTE format('ALTER %s %I.%I RENAME COLUMN %I TO %I',
                     CASE item.relkind WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END,
                     item.nspname, item.relname, item.attname, lower(item.attname));
    END LOOP;
  END $$;
  CREATE EVENT TRIGGER rsi_fold_identifiers ON ddl_command_end
    WHEN TAG IN ('CREATE SCHEMA', 'CREATE TABLE', 'CREATE VIEW', 'ALTER TABLE', 'ALTER VIEW')
    EXECUTE FUNCTION rsi_fold_identifiers();
  -- Redshift's PG_TABLE_DEF (PostgreSQL has no distribution or sort keys): the tests enter the
  -- key columns of a table themselves.
  CREATE TABLE pg_table_def (schemaname name, tablename name, "column" name, type text,
    encoding char(32), distkey boolean NOT NULL DEFAULT false, sortkey int NOT NULL DEFAULT 0,
    "notnull" boolean);
  -- SVV_USER_INFO as a user sees it: superuser, and syslog_access UNRESTRICTED for the users a
  -- test lists in rsi_syslog_unrestricted (ALTER USER … SYSLOG ACCESS UNRESTRICTED).
  CREATE TABLE rsi_syslog_unrestricted (user_name name PRIMARY KEY);
  CREATE VIEW svv_user_info AS
    SELECT u.usename::text AS user_name, u.usesuper AS superuser,
           CASE WHEN u.usesuper OR u.usename IN (SELECT user_name FROM rsi_syslog_unrestricted)
                THEN 'UNRESTRICTED' ELSE 'RESTRICTED' END AS syslog_access
    FROM pg_user u;
  -- Redshift's system tables and views are readable by every user.
  GRANT SELECT ON ALL TABLES IN SCHEMA public TO PUBLIC;
  -- A Redshift deployment has its schemas; the backend creates only infra's tables.
  CREATE SCHEMA logs;
  CREATE SCHEMA views;
  CREATE SCHEMA fullviews;
)sql";

} // namespace rsi::test
