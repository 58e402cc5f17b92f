-- As PostgreSQL's 008_pending_summary.sql: per (table, version), how many unclaimed files wait
-- and the oldest one's time, so that a claim finds the groups due for a load without grouping
-- every waiting file (issue 20). One process writes this database, in transactions that hold
-- the write lock, so triggers keep the summary in place: no deltas to fold.
CREATE TABLE IF NOT EXISTS pending_group (
    tablename    TEXT NOT NULL,
    tableversion INTEGER NOT NULL,
    files        INTEGER NOT NULL,
    oldest       INTEGER NOT NULL,
    PRIMARY KEY (tablename, tableversion)
) WITHOUT ROWID;
-- Oldest first: the order of a claim's search.
CREATE INDEX IF NOT EXISTS pending_group_oldest_idx ON pending_group (oldest, tablename, tableversion);

DELETE FROM pending_group;
INSERT INTO pending_group (tablename, tableversion, files, oldest)
SELECT tablename, tableversion, count(*), min(ts) FROM tsv
 WHERE manifest_uuid IS NULL GROUP BY tablename, tableversion;

-- A file joins its group when it is recorded unclaimed, or released back.
CREATE TRIGGER IF NOT EXISTS tsv_pending_insert AFTER INSERT ON tsv
WHEN NEW.manifest_uuid IS NULL BEGIN
  INSERT INTO pending_group (tablename, tableversion, files, oldest)
  VALUES (NEW.tablename, NEW.tableversion, 1, NEW.ts)
  ON CONFLICT (tablename, tableversion) DO UPDATE
    SET files = files + 1, oldest = min(oldest, excluded.oldest);
END;

CREATE TRIGGER IF NOT EXISTS tsv_pending_join AFTER UPDATE OF manifest_uuid, tablename, tableversion, ts ON tsv
WHEN NEW.manifest_uuid IS NULL
 AND (OLD.manifest_uuid IS NOT NULL OR NEW.tablename IS NOT OLD.tablename
      OR NEW.tableversion IS NOT OLD.tableversion OR NEW.ts IS NOT OLD.ts) BEGIN
  INSERT INTO pending_group (tablename, tableversion, files, oldest)
  VALUES (NEW.tablename, NEW.tableversion, 1, NEW.ts)
  ON CONFLICT (tablename, tableversion) DO UPDATE
    SET files = files + 1, oldest = min(oldest, excluded.oldest);
END;

-- A file leaves its group when it is claimed (or changes group while unclaimed) or deleted; the
-- group's oldest is looked up again (tsv_unclaimed_idx) only when the file leaving was it.
CREATE TRIGGER IF NOT EXISTS tsv_pending_leave AFTER UPDATE OF manifest_uuid, tablename, tableversion, ts ON tsv
WHEN OLD.manifest_uuid IS NULL
 AND (NEW.manifest_uuid IS NOT NULL OR NEW.tablename IS NOT OLD.tablename
      OR NEW.tableversion IS NOT OLD.tableversion OR NEW.ts IS NOT OLD.ts) BEGIN
  DELETE FROM pending_group
   WHERE tablename = OLD.tablename AND tableversion = OLD.tableversion AND files <= 1;
  UPDATE pending_group
     SET files = files - 1,
         oldest = CASE WHEN oldest < OLD.ts THEN oldest
                       ELSE COALESCE((SELECT min(ts) FROM tsv
                                       WHERE tablename = OLD.tablename
                                         AND tableversion = OLD.tableversion
                                         AND manifest_uuid IS NULL), oldest) END
   WHERE tablename = OLD.tablename AND tableversion = OLD.tableversion;
END;

CREATE TRIGGER IF NOT EXISTS tsv_pending_delete AFTER DELETE ON tsv
WHEN OLD.manifest_uuid IS NULL BEGIN
  DELETE FROM pending_group
   WHERE tablename = OLD.tablename AND tableversion = OLD.tableversion AND files <= 1;
  UPDATE pending_group
     SET files = files - 1,
         oldest = CASE WHEN oldest < OLD.ts THEN oldest
                       ELSE COALESCE((SELECT min(ts) FROM tsv
                                       WHERE tablename = OLD.tablename
                                         AND tableversion = OLD.tableversion
                                         AND manifest_uuid IS NULL), oldest) END
   WHERE tablename = OLD.tablename AND tableversion = OLD.tableversion;
END;
