-- What many instances and exactly-once loading need (docs/architecture.md, "Exactly once").

-- Manifests know their table and version, and a lease: an in-flight manifest whose lease ran
-- out belongs to a loader that died.
ALTER TABLE manifest ADD COLUMN IF NOT EXISTS tablename VARCHAR;
ALTER TABLE manifest ADD COLUMN IF NOT EXISTS tableversion INT;
ALTER TABLE manifest ADD COLUMN IF NOT EXISTS created_ts TIMESTAMP;
ALTER TABLE manifest ADD COLUMN IF NOT EXISTS lease_until TIMESTAMP;

UPDATE manifest m
   SET tablename = t.tablename, tableversion = t.tableversion
  FROM (SELECT DISTINCT ON (manifest_uuid) manifest_uuid, tablename, tableversion
          FROM tsv WHERE manifest_uuid IS NOT NULL ORDER BY manifest_uuid, id) t
 WHERE m.uuid = t.manifest_uuid AND m.tablename IS NULL;

-- The original recorded a redelivered message twice, and loaded the file twice. Keep one row
-- per key (a row already in a manifest first, then the oldest) and move the others, unchanged,
-- into tsv_duplicate for the record, so that a key can be made unique.
CREATE TABLE IF NOT EXISTS tsv_duplicate (
    id            BIGINT PRIMARY KEY,
    tablename     VARCHAR,
    keyname       VARCHAR,
    tableversion  INT,
    ts            TIMESTAMP,
    manifest_uuid UUID,
    moved_at      TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);
WITH duplicates AS (
    DELETE FROM tsv
     WHERE id IN (SELECT id
                    FROM (SELECT id, row_number() OVER (PARTITION BY keyname
                                                        ORDER BY manifest_uuid IS NULL, id) AS rn
                            FROM tsv WHERE keyname IS NOT NULL) ranked
                   WHERE rn > 1)
    RETURNING id, tablename, keyname, tableversion, ts, manifest_uuid)
INSERT INTO tsv_duplicate (id, tablename, keyname, tableversion, ts, manifest_uuid)
SELECT id, tablename, keyname, tableversion, ts, manifest_uuid FROM duplicates;
CREATE UNIQUE INDEX IF NOT EXISTS tsv_keyname_key ON tsv (keyname);

-- The claim path: unclaimed files by group, files by manifest, in-flight manifests by table.
CREATE INDEX IF NOT EXISTS tsv_unclaimed_idx ON tsv (tablename, tableversion, ts)
    WHERE manifest_uuid IS NULL;
CREATE INDEX IF NOT EXISTS tsv_manifest_idx ON tsv (manifest_uuid)
    WHERE manifest_uuid IS NOT NULL;
CREATE INDEX IF NOT EXISTS manifest_in_flight_idx ON manifest (tablename)
    WHERE retry_ts IS NULL;
CREATE INDEX IF NOT EXISTS manifest_retry_idx ON manifest (retry_ts)
    WHERE retry_ts IS NOT NULL;

-- At most one unstarted force load per table: later duplicates are merged into the earliest
-- (marked started), not deleted.
UPDATE force_load f
   SET started = COALESCE(f.ts, now() AT TIME ZONE 'UTC')
 WHERE f.started IS NULL
   AND EXISTS (SELECT 1 FROM force_load g
                WHERE g.tablename = f.tablename AND g.started IS NULL AND g.id < f.id);
CREATE UNIQUE INDEX IF NOT EXISTS force_load_unstarted_key ON force_load (tablename)
    WHERE started IS NULL;

-- One last_load row per table, the latest (the original deleted and re-inserted it).
DELETE FROM last_load
 WHERE ctid IN (SELECT ctid
                  FROM (SELECT ctid, row_number() OVER (PARTITION BY tablename
                                                        ORDER BY last_loaded DESC NULLS LAST) AS rn
                          FROM last_load) ranked
                 WHERE rn > 1);
CREATE UNIQUE INDEX IF NOT EXISTS last_load_tablename_key ON last_load (tablename);

-- A bounded history of loaded keys: a redelivered pointer of a loaded file is not recorded.
CREATE TABLE IF NOT EXISTS loaded_key (
    keyname       VARCHAR PRIMARY KEY,
    tablename     VARCHAR NOT NULL,
    manifest_uuid UUID NOT NULL,
    loaded_at     TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS loaded_key_loaded_at_idx ON loaded_key (loaded_at);

-- Messages that could not be processed, with the reason and the raw body
-- (bytea: bodies may hold any bytes; read with convert_from(body, 'UTF8')).
CREATE TABLE IF NOT EXISTS rejected_message (
    id          BIGSERIAL PRIMARY KEY,
    message_id  VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL,
    body        BYTEA NOT NULL,
    received_at TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS rejected_message_received_at_idx ON rejected_message (received_at);
