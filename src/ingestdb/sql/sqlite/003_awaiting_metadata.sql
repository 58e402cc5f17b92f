-- As PostgreSQL's 004_awaiting_metadata.sql.
CREATE TABLE IF NOT EXISTS awaiting_metadata (
    message_id TEXT PRIMARY KEY,
    tablename  TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    retry_ts   INTEGER NOT NULL,
    attempts   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS awaiting_metadata_retry_idx ON awaiting_metadata (retry_ts);
