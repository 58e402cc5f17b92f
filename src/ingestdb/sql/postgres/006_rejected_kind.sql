-- What each rejected message is, so that operators can list and replay them by kind and table
-- (/control/rejected, `rs_ingester rejected`): its kind (malformed, unknown_table, unrouted,
-- unrecordable: the messages.rejected.<kind> metric) and the table it names, when known.
--
-- Rows kept before these columns: the kind is read from the reason (every reason this program
-- has written has one of these shapes: parse errors are malformed), and an unknown_table row
-- gets the table its reason names. Other old rows have no table until a replay checks them
-- again. A NULL kind remains possible: a row written by an older metadatastorer during an
-- upgrade.
ALTER TABLE rejected_message ADD COLUMN IF NOT EXISTS kind VARCHAR;
ALTER TABLE rejected_message ADD COLUMN IF NOT EXISTS tablename VARCHAR;
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
UPDATE rejected_message SET tablename = substring(reason FROM '^table "([^"]+)"')
 WHERE kind = 'unknown_table' AND tablename IS NULL;
-- A replay after a table was published selects its messages.
CREATE INDEX IF NOT EXISTS rejected_message_tablename_idx ON rejected_message (tablename);
