-- Switchboard schema 1. Instants are integer milliseconds since the epoch (UTC).

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL                      -- JSON
) WITHOUT ROWID;

CREATE TABLE agents (
    id         INTEGER PRIMARY KEY,
    username   TEXT NOT NULL UNIQUE,         -- the operating-system login
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('agent', 'manager')),
    active     INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);

-- M1: our SMS-enabled numbers (DIDs).
CREATE TABLE numbers (
    id         INTEGER PRIMARY KEY,
    e164       TEXT NOT NULL UNIQUE,
    sms        INTEGER NOT NULL DEFAULT 1,
    mms        INTEGER NOT NULL DEFAULT 0,
    agent_id   INTEGER REFERENCES agents(id),  -- this agent's caller ID
    is_default INTEGER NOT NULL DEFAULT 0,     -- the account's default sender
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX numbers_one_default ON numbers(is_default) WHERE is_default = 1;
CREATE UNIQUE INDEX numbers_one_per_agent ON numbers(agent_id) WHERE agent_id IS NOT NULL;

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    job_title  TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL DEFAULT '',
    ready      INTEGER NOT NULL DEFAULT 1,
    custom     TEXT NOT NULL DEFAULT '{}',   -- JSON object of custom fields
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE contact_phones (
    id         INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    e164       TEXT NOT NULL,
    kind       TEXT NOT NULL,                -- mobile, landline, work, home, fax, other
    position   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (contact_id, e164)
);
CREATE INDEX contact_phones_e164 ON contact_phones(e164);

-- M9: every change of a contact's Ready flag, and why.
CREATE TABLE ready_changes (
    id         INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    ready      INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    agent_id   INTEGER REFERENCES agents(id),
    message_id INTEGER
);
CREATE INDEX ready_changes_contact ON ready_changes(contact_id, id);

-- M2, M6, M7, M8: one conversation per contact number and our number.
CREATE TABLE conversations (
    id               INTEGER PRIMARY KEY,
    number_id        INTEGER NOT NULL REFERENCES numbers(id),
    phone            TEXT NOT NULL,          -- the contact's number, E.164
    contact_id       INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    owner_id         INTEGER REFERENCES agents(id),
    is_public        INTEGER NOT NULL DEFAULT 0,
    waiting_since    INTEGER,                -- first inbound not yet answered
    public_due_at    INTEGER,                -- becomes public then, if still unanswered
    last_message_at  INTEGER,
    last_inbound_at  INTEGER,
    last_outbound_at INTEGER,
    created_at       INTEGER NOT NULL,
    UNIQUE (number_id, phone)
);
CREATE INDEX conversations_public_due ON conversations(public_due_at) WHERE public_due_at IS NOT NULL;
CREATE INDEX conversations_waiting ON conversations(waiting_since) WHERE waiting_since IS NOT NULL;
CREATE INDEX conversations_owner ON conversations(owner_id);
CREATE INDEX conversations_contact ON conversations(contact_id);
CREATE INDEX conversations_phone ON conversations(phone);
CREATE INDEX conversations_last ON conversations(last_message_at);

CREATE TABLE conversation_subscribers (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    agent_id        INTEGER NOT NULL REFERENCES agents(id),
    since           INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, agent_id)
) WITHOUT ROWID;
CREATE INDEX conversation_subscribers_agent ON conversation_subscribers(agent_id);

-- Messages both ways. Outbound rows are the outbox:
-- queued -> sending (leased) -> sent -> delivered | failed.
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    kind            TEXT NOT NULL DEFAULT 'chat',
    author_id       INTEGER REFERENCES agents(id),
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
    updated_at      INTEGER NOT NULL
);
CREATE INDEX messages_conversation ON messages(conversation_id, id);
CREATE INDEX messages_outbox ON messages(next_attempt_at) WHERE status = 'queued';
CREATE INDEX messages_sending ON messages(lease_until) WHERE status = 'sending';
CREATE UNIQUE INDEX messages_provider_id ON messages(provider_id) WHERE provider_id IS NOT NULL;
CREATE UNIQUE INDEX messages_provider_ref ON messages(provider_ref) WHERE provider_ref IS NOT NULL;
CREATE INDEX messages_optout_pending ON messages(conversation_id) WHERE optout_flag = 'pending';

-- M4
CREATE TABLE attachments (
    id         INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    filename   TEXT NOT NULL,
    mime       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    content    BLOB NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id);

-- M5: the consent state of each phone number, and every change to it.
CREATE TABLE phone_consent (
    phone             TEXT PRIMARY KEY,
    opted_out         INTEGER NOT NULL DEFAULT 0,
    confirmation_sent INTEGER NOT NULL DEFAULT 0,  -- the one STOP confirmation
    notice_sent_at    INTEGER                      -- first SMS carried the opt-out line
) WITHOUT ROWID;

CREATE TABLE consent_changes (
    id         INTEGER PRIMARY KEY,
    phone      TEXT NOT NULL,
    at         INTEGER NOT NULL,
    opted_out  INTEGER NOT NULL,
    keyword    TEXT,                         -- the keyword that did it, if any
    agent_id   INTEGER REFERENCES agents(id),  -- the agent who did it, if any
    message_id INTEGER
);
CREATE INDEX consent_changes_phone ON consent_changes(phone, id);

-- The change feed: one row per committed change; also the audit trail.
CREATE TABLE events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id INTEGER,
    actor_id  INTEGER,
    data      TEXT NOT NULL DEFAULT '{}'
);

-- W1: the worker lease; whoever holds an unexpired row acts.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    host        TEXT NOT NULL,
    acquired_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- The sandbox provider's "network": what it accepted and when it delivers.
CREATE TABLE sandbox_messages (
    message_id  INTEGER PRIMARY KEY,         -- our message ID: a resend is recognised
    provider_id TEXT NOT NULL UNIQUE,
    sender      TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    body        TEXT NOT NULL,
    media       INTEGER NOT NULL DEFAULT 0,
    accepted_at INTEGER NOT NULL,
    deliver_at  INTEGER NOT NULL,
    delivered   INTEGER NOT NULL DEFAULT 0,
    send_calls  INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX sandbox_messages_due ON sandbox_messages(deliver_at) WHERE delivered = 0;
CREATE INDEX sandbox_messages_recipient ON sandbox_messages(recipient, message_id);
