-- As PostgreSQL's 005_quarantine.sql.
CREATE TABLE IF NOT EXISTS quarantined_file (
    id           INTEGER PRIMARY KEY,
    tablename    TEXT NOT NULL,
    tableversion INTEGER NOT NULL,
    keyname      TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    error        TEXT NOT NULL,
    line         INTEGER,
    col          INTEGER,
    received_ts  INTEGER NOT NULL,
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    attempts     INTEGER NOT NULL,
    state        TEXT NOT NULL,
    changed_by   TEXT,
    changed_at   INTEGER
);
CREATE INDEX IF NOT EXISTS quarantined_file_state_idx ON quarantined_file (state, tablename);
