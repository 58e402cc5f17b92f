-- Files whose data cannot load as it is (a missing or corrupt object, a value COPY rejects):
-- the loader sets them aside here and loads the rest of their batch, so one bad file costs only
-- itself. One row per key; while it is quarantined, a new pointer of the key is not recorded. An
-- operator retries (the key becomes a pending file again) or drops it, and the row stays as the
-- record of what happened.
CREATE TABLE IF NOT EXISTS quarantined_file (
    id           BIGSERIAL PRIMARY KEY,
    tablename    VARCHAR NOT NULL,
    tableversion INT NOT NULL,
    keyname      VARCHAR NOT NULL UNIQUE,
    kind         VARCHAR NOT NULL,   -- What is wrong: corrupt_gzip, bad_value, missing_object, ...
    error        VARCHAR NOT NULL,   -- The load's message.
    line         BIGINT,             -- Where in the file, when known.
    col          INT,
    received_ts  TIMESTAMP NOT NULL, -- When the pointer was recorded.
    first_seen   TIMESTAMP NOT NULL, -- When the file was first set aside.
    last_seen    TIMESTAMP NOT NULL, -- When it was last set aside.
    attempts     INT NOT NULL,       -- How many times it was set aside.
    state        VARCHAR NOT NULL,   -- quarantined, retried or dropped.
    changed_by   VARCHAR,            -- Who retried or dropped it, and when.
    changed_at   TIMESTAMP
);
CREATE INDEX IF NOT EXISTS quarantined_file_state_idx ON quarantined_file (state, tablename);
