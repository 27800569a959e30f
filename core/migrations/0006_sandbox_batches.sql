-- Schema 6: the sandbox sends batches (one text to many recipients in one
-- call). A batch's messages share one provider ID, so provider_id is no
-- longer unique (the row is still keyed by our message ID, so a resend is
-- recognised). A recipient a batch cannot reach fails by its own delivery
-- report, as a carrier's would: outcome says what its report will say.

CREATE TABLE sandbox_messages_new (
    message_id  INTEGER PRIMARY KEY,         -- our message ID: a resend is recognised
    provider_id TEXT NOT NULL,               -- shared by the messages of one batch
    sender      TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    body        TEXT NOT NULL,
    media       INTEGER NOT NULL DEFAULT 0,
    accepted_at INTEGER NOT NULL,
    deliver_at  INTEGER NOT NULL,
    delivered   INTEGER NOT NULL DEFAULT 0,  -- 1 once its report was taken
    send_calls  INTEGER NOT NULL DEFAULT 1,
    outcome     TEXT NOT NULL DEFAULT 'delivered' CHECK (outcome IN ('delivered', 'failed'))
);
INSERT INTO sandbox_messages_new (message_id, provider_id, sender, recipient, body, media,
    accepted_at, deliver_at, delivered, send_calls)
    SELECT message_id, provider_id, sender, recipient, body, media,
        accepted_at, deliver_at, delivered, send_calls
    FROM sandbox_messages;
DROP TABLE sandbox_messages;
ALTER TABLE sandbox_messages_new RENAME TO sandbox_messages;
CREATE INDEX sandbox_messages_due ON sandbox_messages(deliver_at) WHERE delivered = 0;
CREATE INDEX sandbox_messages_recipient ON sandbox_messages(recipient, message_id);
