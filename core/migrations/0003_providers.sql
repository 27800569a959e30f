-- Schema 3: real providers (W3).

-- Every delivery report received, once. Sinch retries a callback until it is
-- acknowledged, so (provider_id, recipient, status) identifies a report and a
-- retry is stored once. Intermediate statuses (dispatched, queued) are kept
-- for the record; only final ones change the message.
CREATE TABLE delivery_reports (
    id          INTEGER PRIMARY KEY,
    provider_id TEXT NOT NULL,
    recipient   TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,               -- the provider's status name, lowercased
    outcome     TEXT NOT NULL CHECK (outcome IN ('delivered', 'failed', 'pending')),
    message_id  INTEGER,
    reason      TEXT,
    received_at INTEGER NOT NULL,
    UNIQUE (provider_id, recipient, status)
);
CREATE INDEX delivery_reports_message ON delivery_reports(message_id);

-- Inbound MMS: the provider keeps the file and gives a URL.
ALTER TABLE attachments ADD COLUMN url TEXT;

-- W5: `switchboard status` and /metrics read these on every call.
CREATE INDEX messages_awaiting_report ON messages(sent_at) WHERE status = 'sent';
CREATE INDEX events_message_errors ON events(id)
    WHERE kind IN ('message.failed', 'message.retrying', 'message.requeued');
