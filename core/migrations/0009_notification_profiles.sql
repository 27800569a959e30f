-- Schema 9: notification profiles (P1-P7): who among a client's people is
-- told, by SMS and email, when an agent closes a conversation with an
-- outcome. Called "notification profiles" everywhere, never just "profiles":
-- the permission profiles (R) are another thing. The rules (limits, HIPAA,
-- overlaps, links) are in core/notify/; the CHECKs here are the last line,
-- not the message a user sees.

-- P2: the data an agent collects when closing, and the merge fields of every
-- notice template. ``collected = 0`` marks the fields the system fills
-- (caller_id, outcome, agent, agent_comment, closed_at): listed by the
-- editor, never asked for on the close form. Built-in fields cannot be
-- deleted or renamed; their label and PHI flag can change.
CREATE TABLE collected_fields (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,          -- the merge field: {{name}}
    label      TEXT NOT NULL,
    type       TEXT NOT NULL CHECK (type IN ('text', 'long_text', 'phone', 'email', 'datetime', 'number')),
    max_length INTEGER NOT NULL CHECK (max_length BETWEEN 1 AND 100000),
    phi        INTEGER NOT NULL DEFAULT 0,
    required   INTEGER NOT NULL DEFAULT 0,    -- the close form refuses without it
    collected  INTEGER NOT NULL DEFAULT 1,    -- 0: filled by the system, not the agent
    builtin    INTEGER NOT NULL DEFAULT 0,
    position   INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
INSERT INTO collected_fields (name, label, type, max_length, phi, required, collected, builtin, position, created_at) VALUES
    ('first_name',    'First name',     'text',      60,   1, 0, 1, 1, 1, 0),
    ('last_name',     'Last name',      'text',      60,   1, 0, 1, 1, 2, 0),
    ('phone',         'Phone',          'phone',     20,   1, 0, 1, 1, 3, 0),
    ('message',       'Message',        'long_text', 1000, 1, 0, 1, 1, 4, 0),
    ('callback_time', 'Callback time',  'datetime',  40,   0, 0, 1, 1, 5, 0),
    ('caller_id',     'Caller ID',      'phone',     20,   0, 0, 0, 1, 6, 0),
    ('outcome',       'Outcome',        'text',      60,   0, 0, 0, 1, 7, 0),
    ('agent_comment', 'Agent comment',  'long_text', 500,  0, 0, 0, 1, 8, 0),
    ('agent',         'Agent',          'text',      100,  0, 0, 0, 1, 9, 0),
    ('closed_at',     'Closed at',      'datetime',  40,   0, 0, 0, 1, 10, 0);

-- P3: closing outcomes, message or non-message (the seed's examples).
CREATE TABLE outcomes (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    kind       TEXT NOT NULL CHECK (kind IN ('message', 'non_message')),
    position   INTEGER NOT NULL,
    archived   INTEGER NOT NULL DEFAULT 0,    -- no longer offered on the close form; history keeps it
    created_at INTEGER NOT NULL
);
INSERT INTO outcomes (name, kind, position, created_at) VALUES
    ('General Message', 'message', 1, 0), ('Urgent', 'message', 2, 0),
    ('Wrong Number', 'non_message', 3, 0), ('Prank Call', 'non_message', 4, 0),
    ('No Caller', 'non_message', 5, 0);

-- P1: a notification profile. A NULL template means "the mode has none"
-- (default and non-message modes render built-in templates in core).
CREATE TABLE notification_profiles (
    id            INTEGER PRIMARY KEY,
    alias         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    email_on      INTEGER NOT NULL DEFAULT 0,
    email_mode    TEXT NOT NULL DEFAULT 'default' CHECK (email_mode IN ('default', 'custom')),
    email_subject TEXT,
    email_body    TEXT,
    sms_on        INTEGER NOT NULL DEFAULT 0,
    sms_mode      TEXT NOT NULL DEFAULT 'default'
                      CHECK (sms_mode IN ('default', 'non_message', 'all_data', 'custom')),
    sms_body      TEXT,
    -- P7 hold my calls: 'until' holds to hold_until; the worker sets
    -- hold_expired_at when that passes ("Hold expired"), and transfers resume.
    hold          TEXT NOT NULL DEFAULT 'off' CHECK (hold IN ('off', 'indefinite', 'until')),
    hold_until    INTEGER,
    hold_expired_at INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CHECK ((hold = 'until') = (hold_until IS NOT NULL))
);
CREATE INDEX notification_profiles_hold_due ON notification_profiles(hold_until) WHERE hold = 'until';

-- P1: contact numbers (transfers, on-call dispatch), up to 5 email
-- addresses and up to 5 SMS numbers, in the order they were given.
CREATE TABLE notification_profile_contacts (
    profile_id INTEGER NOT NULL REFERENCES notification_profiles(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('contact_number', 'email', 'sms')),
    value      TEXT NOT NULL,                 -- E.164, or the address as validated
    position   INTEGER NOT NULL,
    PRIMARY KEY (profile_id, kind, value)
) WITHOUT ROWID;

-- P3: profile groups, up to 50 members; a group counts as one of an
-- outcome's 10. Members are not cascaded: deleting a member profile is
-- refused while a group uses it (P5).
CREATE TABLE notification_groups (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at INTEGER NOT NULL
);
CREATE TABLE notification_group_members (
    group_id   INTEGER NOT NULL REFERENCES notification_groups(id) ON DELETE CASCADE,
    profile_id INTEGER NOT NULL REFERENCES notification_profiles(id),
    PRIMARY KEY (group_id, profile_id)
) WITHOUT ROWID;
CREATE INDEX notification_group_members_profile ON notification_group_members(profile_id);

-- On-call schedules: weekly slots in a named time zone (IANA), each naming a
-- profile or a group. A slot is minutes of the local week: Monday 00:00 is 0,
-- and a slot may run past Sunday midnight into Monday (wraps). Overlaps are
-- refused in core. Shifts (A3) will share this model.
CREATE TABLE oncall_schedules (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    time_zone  TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE oncall_slots (
    id          INTEGER PRIMARY KEY,
    schedule_id INTEGER NOT NULL REFERENCES oncall_schedules(id) ON DELETE CASCADE,
    start_minute INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 10079),
    minutes     INTEGER NOT NULL CHECK (minutes BETWEEN 1 AND 10080),
    profile_id  INTEGER REFERENCES notification_profiles(id),
    group_id    INTEGER REFERENCES notification_groups(id),
    CHECK ((profile_id IS NULL) != (group_id IS NULL))
);
CREATE INDEX oncall_slots_schedule ON oncall_slots(schedule_id, start_minute);
CREATE INDEX oncall_slots_profile ON oncall_slots(profile_id) WHERE profile_id IS NOT NULL;
CREATE INDEX oncall_slots_group ON oncall_slots(group_id) WHERE group_id IS NOT NULL;

-- P3: who an outcome notifies: at most 10 of profiles, groups and on-call
-- schedules ("whoever is on call now"). A profile "switches the outcome on"
-- by having a row here.
CREATE TABLE outcome_recipients (
    id          INTEGER PRIMARY KEY,
    outcome_id  INTEGER NOT NULL REFERENCES outcomes(id) ON DELETE CASCADE,
    profile_id  INTEGER REFERENCES notification_profiles(id),
    group_id    INTEGER REFERENCES notification_groups(id),
    schedule_id INTEGER REFERENCES oncall_schedules(id),
    CHECK ((profile_id IS NOT NULL) + (group_id IS NOT NULL) + (schedule_id IS NOT NULL) = 1)
);
CREATE UNIQUE INDEX outcome_recipients_one
    ON outcome_recipients(outcome_id, coalesce(profile_id, 0), coalesce(group_id, 0), coalesce(schedule_id, 0));
CREATE INDEX outcome_recipients_profile ON outcome_recipients(profile_id) WHERE profile_id IS NOT NULL;
CREATE INDEX outcome_recipients_group ON outcome_recipients(group_id) WHERE group_id IS NOT NULL;
CREATE INDEX outcome_recipients_schedule ON outcome_recipients(schedule_id) WHERE schedule_id IS NOT NULL;

-- P4: a conversation closed with an outcome and the collected data (JSON,
-- field name -> text). The data is the record of the call and stays here;
-- what leaves (notices) is rendered from it under the HIPAA rules.
CREATE TABLE closures (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    outcome_id      INTEGER NOT NULL REFERENCES outcomes(id),
    agent_id        INTEGER REFERENCES agents(id),
    data            TEXT NOT NULL DEFAULT '{}',
    comment         TEXT NOT NULL DEFAULT '',
    closed_at       INTEGER NOT NULL
);
CREATE INDEX closures_conversation ON closures(conversation_id, id);
-- Open: NULL. A new inbound message opens the conversation again.
ALTER TABLE conversations ADD COLUMN closed_at INTEGER;

-- P4: the durable email outbox, with the SMS outbox's guarantees:
-- queued -> sending (leased) -> sent | failed, retries with backoff. The
-- Message-ID is fixed when the row is written, so a resend after a crash
-- between the server's "250 OK" and our commit carries the same ID.
CREATE TABLE emails (
    id              INTEGER PRIMARY KEY,
    purpose         TEXT NOT NULL CHECK (purpose IN ('notice', 'alert', 'case')),
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    message_key     TEXT NOT NULL UNIQUE,      -- the Message-ID's unique part (<key@our domain>)
    status          TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    lease_until     INTEGER,
    error           TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX emails_outbox ON emails(next_attempt_at, id) WHERE status = 'queued';
CREATE INDEX emails_sending ON emails(lease_until) WHERE status = 'sending';

-- P4: each notice a closure sent, by SMS (an outbox row of purpose 'notice')
-- or email; the conversation shows them with their delivery status.
CREATE TABLE notices (
    id         INTEGER PRIMARY KEY,
    closure_id INTEGER NOT NULL REFERENCES closures(id) ON DELETE CASCADE,
    profile_id INTEGER REFERENCES notification_profiles(id) ON DELETE SET NULL,
    message_id INTEGER REFERENCES messages(id),
    email_id   INTEGER REFERENCES emails(id),
    -- A notice not queued at all (opted-out number, HIPAA) says why here.
    skipped    TEXT,
    recipient  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CHECK ((message_id IS NOT NULL) + (email_id IS NOT NULL) + (skipped IS NOT NULL) = 1)
);
CREATE INDEX notices_closure ON notices(closure_id, id);
CREATE INDEX notices_message ON notices(message_id) WHERE message_id IS NOT NULL;
CREATE INDEX notices_email ON notices(email_id) WHERE email_id IS NOT NULL;
