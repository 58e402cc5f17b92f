-- What the loads committed, per table and minute: the status page's chart of rows and files
-- loaded over the last hour (GET /control/status, "LoadHistory"). Written by the transaction
-- that completes a batch, so every process that loads adds to one history; pruned with the
-- loaded keys.
CREATE TABLE IF NOT EXISTS load_minute (
    tablename    VARCHAR NOT NULL,
    minute       TIMESTAMP NOT NULL, -- The minute's start (UTC).
    batches      BIGINT NOT NULL,
    files_loaded BIGINT NOT NULL,
    rows_loaded  BIGINT NOT NULL,    -- As the loads reported them; a batch found committed in
                                     -- the warehouse's ledger adds its files only.
    PRIMARY KEY (tablename, minute)
);
CREATE INDEX IF NOT EXISTS load_minute_minute_idx ON load_minute (minute);
