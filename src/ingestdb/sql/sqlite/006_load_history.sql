-- As PostgreSQL's 007_load_history.sql (minute: its start in microseconds since the epoch).
CREATE TABLE IF NOT EXISTS load_minute (
    tablename    TEXT NOT NULL,
    minute       INTEGER NOT NULL,
    batches      INTEGER NOT NULL,
    files_loaded INTEGER NOT NULL,
    rows_loaded  INTEGER NOT NULL,
    PRIMARY KEY (tablename, minute)
);
CREATE INDEX IF NOT EXISTS load_minute_minute_idx ON load_minute (minute);
