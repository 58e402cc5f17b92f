-- The ingester database as the original rs_ingester created it: init_db/init.sql's manifest
-- and tsv, plus the force_load and last_load tables its later versions used
-- (INSERT INTO force_load (tablename, requester, ts); UPDATE force_load SET started;
-- DELETE + INSERT INTO last_load (tablename, last_loaded)). No unique key on keyname.
CREATE TABLE manifest (
    uuid        UUID PRIMARY KEY,
    retry_ts    TIMESTAMP,
    retry_count INT DEFAULT 0,
    last_error  VARCHAR
);

CREATE TABLE tsv (
    id              BIGSERIAL PRIMARY KEY,
    tablename       VARCHAR,
    keyname         VARCHAR,
    tableversion    INT,
    ts              TIMESTAMP,
    manifest_uuid   UUID REFERENCES manifest(uuid)
);

CREATE TABLE force_load (
    id        SERIAL PRIMARY KEY,
    tablename VARCHAR,
    requester VARCHAR,
    ts        TIMESTAMP,
    started   TIMESTAMP
);

CREATE TABLE last_load (
    tablename   VARCHAR,
    last_loaded TIMESTAMP
);
