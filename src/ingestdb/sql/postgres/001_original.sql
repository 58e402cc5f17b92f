-- The original rs_ingester's tables (init_db/init.sql and its later additions), created only
-- where missing: a database made by the original keeps its tables and rows.
CREATE TABLE IF NOT EXISTS manifest (
    uuid        UUID PRIMARY KEY,
    retry_ts    TIMESTAMP,
    retry_count INT DEFAULT 0,
    last_error  VARCHAR
);

CREATE TABLE IF NOT EXISTS tsv (
    id            BIGSERIAL PRIMARY KEY,
    tablename     VARCHAR,
    keyname       VARCHAR,
    tableversion  INT,
    ts            TIMESTAMP,
    manifest_uuid UUID REFERENCES manifest(uuid)
);

CREATE TABLE IF NOT EXISTS force_load (
    id        SERIAL PRIMARY KEY,
    tablename VARCHAR,
    requester VARCHAR,
    ts        TIMESTAMP,
    started   TIMESTAMP
);

CREATE TABLE IF NOT EXISTS last_load (
    tablename   VARCHAR,
    last_loaded TIMESTAMP
);
