-- The embedded ingester database: the same tables as PostgreSQL's, times as microseconds
-- since the Unix epoch (UTC).
CREATE TABLE IF NOT EXISTS manifest (
    uuid         TEXT PRIMARY KEY,
    retry_ts     INTEGER,
    retry_count  INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    tablename    TEXT NOT NULL,
    tableversion INTEGER NOT NULL,
    created_ts   INTEGER NOT NULL,
    lease_until  INTEGER
);
CREATE INDEX IF NOT EXISTS manifest_in_flight_idx ON manifest (tablename) WHERE retry_ts IS NULL;
CREATE INDEX IF NOT EXISTS manifest_retry_idx ON manifest (retry_ts) WHERE retry_ts IS NOT NULL;

CREATE TABLE IF NOT EXISTS tsv (
    id            INTEGER PRIMARY KEY,
    tablename     TEXT NOT NULL,
    keyname       TEXT NOT NULL UNIQUE,
    tableversion  INTEGER NOT NULL,
    ts            INTEGER NOT NULL,
    manifest_uuid TEXT REFERENCES manifest(uuid)
);
CREATE INDEX IF NOT EXISTS tsv_unclaimed_idx ON tsv (tablename, tableversion, ts)
    WHERE manifest_uuid IS NULL;
CREATE INDEX IF NOT EXISTS tsv_manifest_idx ON tsv (manifest_uuid)
    WHERE manifest_uuid IS NOT NULL;

CREATE TABLE IF NOT EXISTS force_load (
    id        INTEGER PRIMARY KEY,
    tablename TEXT NOT NULL,
    requester TEXT NOT NULL,
    ts        INTEGER NOT NULL,
    started   INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS force_load_unstarted_key ON force_load (tablename)
    WHERE started IS NULL;

CREATE TABLE IF NOT EXISTS last_load (
    tablename   TEXT PRIMARY KEY,
    last_loaded INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS loaded_key (
    keyname       TEXT PRIMARY KEY,
    tablename     TEXT NOT NULL,
    manifest_uuid TEXT NOT NULL,
    loaded_at     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS loaded_key_loaded_at_idx ON loaded_key (loaded_at);

CREATE TABLE IF NOT EXISTS rejected_message (
    id          INTEGER PRIMARY KEY,
    message_id  TEXT NOT NULL,
    reason      TEXT NOT NULL,
    body        BLOB NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS rejected_message_received_at_idx ON rejected_message (received_at);
