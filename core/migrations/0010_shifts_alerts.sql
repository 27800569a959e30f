-- Schema 10: shifts and mobile alerts to staff (A1-A6), the monthly bundle (A4).

-- A2: a staff member's mobile number and their own consent to alerts on it.
-- The permission is for this phone: changing the number clears it. Only the
-- person themselves may give it (recorded with when and who ticked it).
ALTER TABLE agents ADD COLUMN mobile TEXT;                  -- E.164
ALTER TABLE agents ADD COLUMN sms_permitted_at INTEGER;     -- NULL: not permitted
ALTER TABLE agents ADD COLUMN sms_permitted_by INTEGER REFERENCES agents(id);
ALTER TABLE agents ADD COLUMN new_chat_alerts INTEGER NOT NULL DEFAULT 0;

-- A3: shifts, the on-call schedules' model per staff member. Normal shifts
-- get the new-chat alert and reminders, on-call (support) shifts the
-- escalation. A shift is weekly (minutes of the staff member's local week,
-- Monday 00:00 = 0, wrapping past Sunday as on-call slots do) or one-off
-- (two instants). Overlaps of one person's shifts are refused in core.
CREATE TABLE shifts (
    id           INTEGER PRIMARY KEY,
    agent_id     INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('normal', 'oncall')),
    time_zone    TEXT NOT NULL,                -- IANA name the shift's wall times are in
    start_minute INTEGER CHECK (start_minute BETWEEN 0 AND 10079),
    minutes      INTEGER CHECK (minutes BETWEEN 1 AND 10080),
    starts_at    INTEGER,
    ends_at      INTEGER,
    source       TEXT NOT NULL DEFAULT 'console' CHECK (source IN ('console', 'cli', 'ics')),
    ics_uid      TEXT,                         -- the calendar event it came from
    created_by   INTEGER REFERENCES agents(id),
    created_at   INTEGER NOT NULL,
    CHECK ((start_minute IS NULL) = (minutes IS NULL)),
    CHECK ((starts_at IS NULL) = (ends_at IS NULL)),
    CHECK ((start_minute IS NULL) != (starts_at IS NULL)),
    CHECK (ends_at IS NULL OR ends_at > starts_at)
);
CREATE INDEX shifts_agent ON shifts(agent_id, id);
CREATE INDEX shifts_one_off ON shifts(ends_at, starts_at) WHERE ends_at IS NOT NULL;

-- A3: a conversation's alert timeline, as due-time columns swept by one job.
-- alert_started_at: when the chat started (the new-chat alert's time);
-- alert_step: steps done (0 none, 1 the new-chat alert, k+1 reminder k...);
-- alert_due_at: when the next step falls due (NULL: no timeline running).
ALTER TABLE conversations ADD COLUMN alert_started_at INTEGER;
ALTER TABLE conversations ADD COLUMN alert_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN alert_due_at INTEGER;
CREATE INDEX conversations_alert_due ON conversations(alert_due_at)
    WHERE alert_due_at IS NOT NULL;

-- Each alert a timeline sent, to whom and at which step: the outbox row
-- (purpose 'alert') carries the text and its delivery.
CREATE TABLE staff_alerts (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    agent_id        INTEGER NOT NULL REFERENCES agents(id),
    kind            TEXT NOT NULL CHECK (kind IN ('new_chat', 'reminder', 'escalation')),
    step            INTEGER NOT NULL,
    started_at      INTEGER NOT NULL,          -- the timeline it belongs to
    message_id      INTEGER REFERENCES messages(id),
    created_at      INTEGER NOT NULL,
    -- One alert per person, step and timeline: a sweep run twice sends nothing twice.
    UNIQUE (conversation_id, started_at, step, kind, agent_id)
);
CREATE INDEX staff_alerts_message ON staff_alerts(message_id) WHERE message_id IS NOT NULL;

-- A4: segments sent per calendar month (UTC, 'YYYY-MM'), counted when the
-- provider accepts a message, for the monthly bundle.
CREATE TABLE bundle_usage (
    month    TEXT PRIMARY KEY,
    segments INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
