-- Schema 5: outbox budgets and outbound messages without a conversation.

-- Send budgets: token buckets kept in the database, so a restart or a second
-- worker spends the same tokens. A budget is a scope and a key ('sender' and
-- our number today; a campaign or the monthly bundle later); tokens are in
-- segments, refilled at the budget's rate since updated_at.
CREATE TABLE send_budgets (
    scope      TEXT NOT NULL,
    key        TEXT NOT NULL,
    tokens     REAL NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;

-- Every outbound row carries its own sender and recipient and a purpose, so a
-- staff alert or a campaign send needs no conversation: conversation_id
-- becomes nullable. SQLite changes that only by rebuilding the table (the
-- migration runs with foreign keys off, so attachments survive the drop).
CREATE TABLE messages_new (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER REFERENCES conversations(id),
    direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    purpose         TEXT NOT NULL DEFAULT 'conversation' CHECK (purpose IN
                        ('conversation', 'notice', 'alert', 'campaign', 'case')),
    kind            TEXT NOT NULL DEFAULT 'chat',
    author_id       INTEGER REFERENCES agents(id),
    sender          TEXT,                    -- outbound: our number, E.164
    recipient       TEXT,                    -- outbound: theirs, E.164
    body            TEXT NOT NULL,
    encoding        TEXT NOT NULL,
    segments        INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN
                        ('received', 'queued', 'sending', 'sent', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    lease_until     INTEGER,
    provider_id     TEXT,                    -- the provider's ID once accepted
    provider_ref    TEXT,                    -- inbound: the provider's MO ID (idempotency)
    error           TEXT,
    optout_flag     TEXT CHECK (optout_flag IN ('pending', 'confirmed', 'dismissed')),
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    delivered_at    INTEGER,
    updated_at      INTEGER NOT NULL,
    -- What the outbox will send names both ends (history written in bulk may not).
    CHECK (direction = 'in' OR status NOT IN ('queued', 'sending')
        OR (sender IS NOT NULL AND recipient IS NOT NULL)),
    CHECK (purpose != 'conversation' OR conversation_id IS NOT NULL)
);

INSERT INTO messages_new (id, conversation_id, direction, purpose, kind, author_id, sender,
    recipient, body, encoding, segments, status, attempts, next_attempt_at, lease_until,
    provider_id, provider_ref, error, optout_flag, created_at, sent_at, delivered_at, updated_at)
SELECT m.id, m.conversation_id, m.direction, 'conversation', m.kind, m.author_id,
    CASE WHEN m.direction = 'out' THEN n.e164 END,
    CASE WHEN m.direction = 'out' THEN c.phone END,
    m.body, m.encoding, m.segments, m.status, m.attempts, m.next_attempt_at, m.lease_until,
    m.provider_id, m.provider_ref, m.error, m.optout_flag, m.created_at, m.sent_at,
    m.delivered_at, m.updated_at
FROM messages m JOIN conversations c ON c.id = m.conversation_id
JOIN numbers n ON n.id = c.number_id;

DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;

CREATE INDEX messages_conversation ON messages(conversation_id, id);
CREATE INDEX messages_outbox ON messages(next_attempt_at) WHERE status = 'queued';
-- The claim walks each sender's due rows in order while its budget lasts.
CREATE INDEX messages_outbox_sender ON messages(sender, next_attempt_at, id)
    WHERE status = 'queued';
CREATE INDEX messages_sending ON messages(lease_until) WHERE status = 'sending';
-- One provider batch may carry many of our rows, one per recipient.
CREATE UNIQUE INDEX messages_provider_id ON messages(provider_id, recipient)
    WHERE provider_id IS NOT NULL;
CREATE UNIQUE INDEX messages_provider_ref ON messages(provider_ref) WHERE provider_ref IS NOT NULL;
CREATE INDEX messages_optout_pending ON messages(conversation_id) WHERE optout_flag = 'pending';
CREATE INDEX messages_awaiting_report ON messages(sent_at) WHERE status = 'sent';
-- Stale-after-consent-change finds what is still queued to a number.
CREATE INDEX messages_queued_recipient ON messages(recipient) WHERE status = 'queued';
