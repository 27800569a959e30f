-- Schema 14: a campaign's provider batch is one outbox row; its targets are
-- the ledger of what became of each recipient.
--
-- Until now every campaign target was its own outbox row, written three
-- times (queued, claimed, sent): at 100,000 targets that alone cost more
-- than three raw inserts. Now a batch of up to 1,000 targets sharing the
-- campaign's template is one row: recipient is '' and recipients counts
-- them; body is the template in the provider's placeholder form, segments
-- the sum of its targets'. The row is claimed, throttled, retried, held by
-- the bundle and cancelled as any other; each target keeps its own text's
-- segments and the values the template takes for it, and its delivery
-- report lands on the target (outcome), not on the shared row.
ALTER TABLE messages ADD COLUMN recipients INTEGER;

ALTER TABLE campaign_targets ADD COLUMN segments INTEGER;
ALTER TABLE campaign_targets ADD COLUMN batch_values TEXT;
ALTER TABLE campaign_targets ADD COLUMN outcome TEXT CHECK (outcome IN ('delivered', 'failed'));
ALTER TABLE campaign_targets ADD COLUMN outcome_reason TEXT;
ALTER TABLE campaign_targets ADD COLUMN outcome_at INTEGER;
-- A batch's recipients in order, and a report's target by its batch and number.
DROP INDEX campaign_targets_message;
CREATE INDEX campaign_targets_message ON campaign_targets(message_id, phone)
    WHERE message_id IS NOT NULL;

-- The sandbox keeps what it was sent per message and recipient: a campaign
-- batch is one message to many numbers.
CREATE TABLE sandbox_messages_new (
    message_id  INTEGER NOT NULL,            -- our message ID: a resend is recognised
    recipient   TEXT NOT NULL,
    provider_id TEXT NOT NULL,               -- shared by the messages of one batch
    sender      TEXT NOT NULL,
    body        TEXT NOT NULL,
    media       INTEGER NOT NULL DEFAULT 0,
    accepted_at INTEGER NOT NULL,
    deliver_at  INTEGER NOT NULL,
    delivered   INTEGER NOT NULL DEFAULT 0,  -- 1 once its report was taken
    send_calls  INTEGER NOT NULL DEFAULT 1,
    outcome     TEXT NOT NULL DEFAULT 'delivered' CHECK (outcome IN ('delivered', 'failed')),
    PRIMARY KEY (message_id, recipient)
);
INSERT INTO sandbox_messages_new (message_id, recipient, provider_id, sender, body, media,
    accepted_at, deliver_at, delivered, send_calls, outcome)
    SELECT message_id, recipient, provider_id, sender, body, media,
        accepted_at, deliver_at, delivered, send_calls, outcome
    FROM sandbox_messages;
DROP TABLE sandbox_messages;
ALTER TABLE sandbox_messages_new RENAME TO sandbox_messages;
CREATE INDEX sandbox_messages_due ON sandbox_messages(deliver_at) WHERE delivered = 0;
CREATE INDEX sandbox_messages_recipient ON sandbox_messages(recipient, message_id);

-- The claim asks which numbers opted out (for its due rows, and for each campaign
-- batch's targets): read through this, not by scanning every number that was ever
-- given the opt-out line (a 100,000-target campaign adds 100,000 of those).
CREATE INDEX phone_consent_opted_out ON phone_consent(phone) WHERE opted_out = 1;
