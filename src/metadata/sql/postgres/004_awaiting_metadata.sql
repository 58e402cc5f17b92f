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
