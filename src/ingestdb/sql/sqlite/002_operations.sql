-- As PostgreSQL's 003_operations.sql.
ALTER TABLE manifest ADD COLUMN released INTEGER NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS skipped_batch (
    manifest_uuid TEXT PRIMARY KEY,
    tablename     TEXT,
    tableversion  INTEGER,
    keynames      TEXT NOT NULL, -- JSON array
    retry_count   INTEGER,
    last_error    TEXT,
    skipped_by    TEXT NOT NULL,
    skipped_at    INTEGER NOT NULL
);
