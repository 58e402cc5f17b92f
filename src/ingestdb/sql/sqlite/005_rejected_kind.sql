-- As PostgreSQL's 006_rejected_kind.sql: each rejected message's kind and table, read from the
-- reason for rows kept before these columns.
ALTER TABLE rejected_message ADD COLUMN kind TEXT;
ALTER TABLE rejected_message ADD COLUMN tablename TEXT;
UPDATE rejected_message
   SET kind = CASE
         WHEN reason LIKE 'table "%' AND (reason LIKE '%" is not in the event metadata%'
                                      OR reason LIKE '%" has no schema in the registry%')
           THEN 'unknown_table'
         WHEN reason LIKE 'record file pointer%' THEN 'unrecordable'
         WHEN reason LIKE 'no --route matches%' THEN 'unrouted'
         ELSE 'malformed'
       END
 WHERE kind IS NULL;
-- 'table "' is 7 bytes: the name starts at byte 8 and ends before the next quote.
UPDATE rejected_message SET tablename = substr(reason, 8, instr(substr(reason, 8), '"') - 1)
 WHERE kind = 'unknown_table' AND tablename IS NULL;
CREATE INDEX IF NOT EXISTS rejected_message_tablename_idx ON rejected_message (tablename);
