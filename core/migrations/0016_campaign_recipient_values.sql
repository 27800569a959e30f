-- Schema 16: a campaign batch row holds its recipients' values; its targets do not.
--
-- Since schema 14 each target kept the values its text takes (batch_values),
-- written by the statement that moves it into its batch row: seven fields
-- taken out of one JSON array per target, and a longer row written: about
-- 40 % of that statement's time, measured alone on 100,000 targets (issue
-- #13, bench.campaigns). The values
-- now go once on the batch row, {number: {name: value}}, written with it;
-- the targets of a piece that join one batch with one segment count are
-- moved by one statement that sets the same columns on each.
ALTER TABLE messages ADD COLUMN recipient_values TEXT;
UPDATE messages SET recipient_values = (
    SELECT json_group_object(t.phone, json(t.batch_values)) FROM campaign_targets t
    WHERE t.message_id = messages.id AND t.batch_values IS NOT NULL)
WHERE recipients IS NOT NULL;
ALTER TABLE campaign_targets DROP COLUMN batch_values;
