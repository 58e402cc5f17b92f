-- A summary of the files that wait, so that finding the groups due for a load does not read
-- every waiting file (issue 20): per (table, version), how many unclaimed files wait and the
-- oldest one's time.
--
-- Triggers on tsv keep it, whoever writes (this program, the original during a rolling upgrade,
-- an operator's SQL), but they never update it in place: each statement that changes unclaimed
-- files adds one row per (table, version) it touched to pending_delta, insert-only, so
-- concurrent recorders and claimers of one table never wait for each other on a summary row.
-- rsi_fold_pending() (run by a search for work, one at a time) folds the deltas into
-- pending_group and looks the oldest file up again, through tsv_unclaimed_idx, for the groups
-- that lost files. A search reads pending_group, which is as current as the last fold.
--
-- Rows without a table or version (the original could write them) are not counted: nothing
-- ever claims them.
CREATE TABLE IF NOT EXISTS pending_group (
    tablename    VARCHAR NOT NULL,
    tableversion INT NOT NULL,
    files        BIGINT NOT NULL,
    oldest       TIMESTAMP, -- NULL only for a moment, while a fold catches up.
    PRIMARY KEY (tablename, tableversion)
);
-- Oldest first: the order of a search.
CREATE INDEX IF NOT EXISTS pending_group_oldest_idx
    ON pending_group (oldest, tablename, tableversion);

CREATE TABLE IF NOT EXISTS pending_delta (
    tablename    VARCHAR NOT NULL,
    tableversion INT NOT NULL,
    files        BIGINT NOT NULL,   -- Unclaimed files added (positive) or gone (negative).
    oldest       TIMESTAMP,         -- The oldest file added, if any.
    removed      BOOLEAN NOT NULL   -- Files left the group: its oldest is looked up again.
);

-- The functions resolve their tables in the schema they were made in, whatever the search_path
-- of the session writing to tsv.
CREATE OR REPLACE FUNCTION rsi_tsv_inserted() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $fn$
BEGIN
  INSERT INTO pending_delta (tablename, tableversion, files, oldest, removed)
  SELECT tablename, tableversion, count(*), min(ts), false
    FROM rsi_new_rows
   WHERE manifest_uuid IS NULL AND tablename IS NOT NULL AND tableversion IS NOT NULL
   GROUP BY tablename, tableversion;
  RETURN NULL;
END
$fn$;

-- A row leaves its group when it is claimed, or when its table, version or time changes while
-- unclaimed; it joins one in the opposite cases. Other updates (a batch's files moved to
-- another manifest, a key respelled) change nothing.
CREATE OR REPLACE FUNCTION rsi_tsv_updated() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $fn$
BEGIN
  INSERT INTO pending_delta (tablename, tableversion, files, oldest, removed)
  SELECT tablename, tableversion, sum(files), min(oldest), bool_or(removed)
    FROM (SELECT o.tablename, o.tableversion, -1 AS files, NULL::timestamp AS oldest,
                 true AS removed
            FROM rsi_old_rows o JOIN rsi_new_rows n ON n.id = o.id
           WHERE o.manifest_uuid IS NULL AND o.tablename IS NOT NULL
             AND o.tableversion IS NOT NULL
             AND (n.manifest_uuid IS NOT NULL
                  OR (n.tablename, n.tableversion, n.ts) IS DISTINCT FROM
                     (o.tablename, o.tableversion, o.ts))
          UNION ALL
          SELECT n.tablename, n.tableversion, 1, n.ts, false
            FROM rsi_old_rows o JOIN rsi_new_rows n ON n.id = o.id
           WHERE n.manifest_uuid IS NULL AND n.tablename IS NOT NULL
             AND n.tableversion IS NOT NULL
             AND (o.manifest_uuid IS NOT NULL
                  OR (n.tablename, n.tableversion, n.ts) IS DISTINCT FROM
                     (o.tablename, o.tableversion, o.ts))) changed
   GROUP BY tablename, tableversion;
  RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION rsi_tsv_deleted() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $fn$
BEGIN
  INSERT INTO pending_delta (tablename, tableversion, files, oldest, removed)
  SELECT tablename, tableversion, -count(*), NULL, true
    FROM rsi_old_rows
   WHERE manifest_uuid IS NULL AND tablename IS NOT NULL AND tableversion IS NOT NULL
   GROUP BY tablename, tableversion;
  RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION rsi_tsv_truncated() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $fn$
BEGIN
  DELETE FROM pending_delta;
  DELETE FROM pending_group;
  RETURN NULL;
END
$fn$;

-- Folds the deltas into pending_group; one fold at a time per schema (a second waits, then
-- folds what came meanwhile). Returns how many deltas it folded.
CREATE OR REPLACE FUNCTION rsi_fold_pending() RETURNS bigint LANGUAGE plpgsql
SET search_path FROM CURRENT AS $fn$
DECLARE
  folded bigint;
  shrunk_tables varchar[];
  shrunk_versions int[];
BEGIN
  -- 1381189941 = 0x52534935, pg::advisory::k_fold_pending.
  PERFORM pg_advisory_xact_lock(1381189941, hashtext(COALESCE(current_schema(), '')));
  -- Groups in key order, so that two folds never lock two rows in opposite orders.
  WITH taken AS (DELETE FROM pending_delta RETURNING *),
       summed AS (
         SELECT tablename, tableversion, sum(files) AS files, min(oldest) AS oldest,
                bool_or(removed) AS removed
           FROM taken GROUP BY tablename, tableversion),
       applied AS (
         INSERT INTO pending_group AS g (tablename, tableversion, files, oldest)
         SELECT tablename, tableversion, files, oldest FROM summed
          WHERE files <> 0 OR oldest IS NOT NULL
          ORDER BY tablename, tableversion
         ON CONFLICT (tablename, tableversion) DO UPDATE
           SET files = g.files + excluded.files, oldest = LEAST(g.oldest, excluded.oldest))
  SELECT count(*), array_agg(tablename) FILTER (WHERE removed),
         array_agg(tableversion) FILTER (WHERE removed)
    INTO folded, shrunk_tables, shrunk_versions
    FROM summed;
  IF shrunk_tables IS NOT NULL THEN
    DELETE FROM pending_group g USING unnest(shrunk_tables, shrunk_versions) s (t, v)
     WHERE g.tablename = s.t AND g.tableversion = s.v AND g.files <= 0;
    UPDATE pending_group g
       SET oldest = (SELECT min(f.ts) FROM tsv f
                      WHERE f.tablename = g.tablename AND f.tableversion = g.tableversion
                        AND f.manifest_uuid IS NULL)
      FROM unnest(shrunk_tables, shrunk_versions) s (t, v)
     WHERE g.tablename = s.t AND g.tableversion = s.v;
  END IF;
  RETURN folded;
END
$fn$;

-- The summary of the files waiting now; no file is recorded or claimed while it is made.
LOCK TABLE tsv IN SHARE ROW EXCLUSIVE MODE;
DELETE FROM pending_delta;
DELETE FROM pending_group;
INSERT INTO pending_group (tablename, tableversion, files, oldest)
SELECT tablename, tableversion, count(*), min(ts)
  FROM tsv
 WHERE manifest_uuid IS NULL AND tablename IS NOT NULL AND tableversion IS NOT NULL
 GROUP BY tablename, tableversion;

DROP TRIGGER IF EXISTS rsi_tsv_insert ON tsv;
CREATE TRIGGER rsi_tsv_insert AFTER INSERT ON tsv REFERENCING NEW TABLE AS rsi_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rsi_tsv_inserted();
DROP TRIGGER IF EXISTS rsi_tsv_update ON tsv;
CREATE TRIGGER rsi_tsv_update AFTER UPDATE ON tsv
    REFERENCING OLD TABLE AS rsi_old_rows NEW TABLE AS rsi_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rsi_tsv_updated();
DROP TRIGGER IF EXISTS rsi_tsv_delete ON tsv;
CREATE TRIGGER rsi_tsv_delete AFTER DELETE ON tsv REFERENCING OLD TABLE AS rsi_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rsi_tsv_deleted();
DROP TRIGGER IF EXISTS rsi_tsv_truncate ON tsv;
CREATE TRIGGER rsi_tsv_truncate AFTER TRUNCATE ON tsv
    FOR EACH STATEMENT EXECUTE FUNCTION rsi_tsv_truncated();
