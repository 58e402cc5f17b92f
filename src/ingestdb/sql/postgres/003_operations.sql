-- Operations beyond the original: releasing a batch without spending a retry, and skipping a
-- stale batch with an audit record.

-- A released batch (its load hit a transient fault, or its loader stopped or died before
-- loading) is retried without counting an attempt.
ALTER TABLE manifest ADD COLUMN IF NOT EXISTS released BOOLEAN NOT NULL DEFAULT false;

-- Stale batches an operator skipped: their files, as they were, and who decided.
CREATE TABLE IF NOT EXISTS skipped_batch (
    manifest_uuid UUID PRIMARY KEY,
    tablename     VARCHAR,
    tableversion  INT,
    keynames      TEXT[] NOT NULL,
    retry_count   INT,
    last_error    VARCHAR,
    skipped_by    VARCHAR NOT NULL,
    skipped_at    TIMESTAMP NOT NULL
);
