-- Messages whose table is not in the event metadata yet. They stay in the queue and are tried
-- again after a delay (a new event's files often arrive before Blueprint publishes it); a row
-- here says so, for /control/status and `rs_ingester status`. A message that is recorded,
-- rejected or skipped later loses its row.
CREATE TABLE IF NOT EXISTS awaiting_metadata (
    message_id VARCHAR PRIMARY KEY,
    tablename  VARCHAR NOT NULL,
    first_seen TIMESTAMP NOT NULL, -- When the message was sent (or first received).
    retry_ts   TIMESTAMP NOT NULL, -- When it is tried again.
    attempts   INT NOT NULL
);
CREATE INDEX IF NOT EXISTS awaiting_metadata_retry_idx ON awaiting_metadata (retry_ts);

-- The original recorded a KeyName as it came, so a row it left may read "s3://bucket/key"; this
-- project keeps "bucket/key" (a new pointer in either spelling is the same file). Rows the
-- original left are brought to that form, unless the other spelling is already there.
UPDATE tsv SET keyname = substring(keyname FROM 6)
 WHERE keyname LIKE 's3://%'
   AND NOT EXISTS (SELECT 1 FROM tsv other WHERE other.keyname = substring(tsv.keyname FROM 6));
