-- Schema 12: the claim walks a sender's rows that belong to no campaign
-- (agents' replies, STOP confirmations, notices, alerts) apart from each
-- running campaign's, so a reply queued behind thousands of campaign rows is
-- in the very next claim, and a paused campaign's rows are never read.
CREATE INDEX messages_outbox_own ON messages(sender, next_attempt_at, id)
    WHERE status = 'queued' AND campaign_id IS NULL;
CREATE INDEX messages_outbox_campaign ON messages(campaign_id, next_attempt_at, id)
    WHERE status = 'queued' AND campaign_id IS NOT NULL;
-- They replace the walk over every queued row of a sender, which nothing else reads.
DROP INDEX messages_outbox_sender;
