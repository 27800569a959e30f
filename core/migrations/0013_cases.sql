-- Schema 13: cases with customer contacts (C1-C4): locations, cases, the
-- contacts of a case, notes and quick actions with their recipients, signed
-- links to the mobile case page and their revocation.

-- C3: a location decides whether a contact's SMS reply becomes a case note
-- (direct_reply = 1) or gets one automatic SMS saying it does not. Its case
-- texts go from `sender`, one of our numbers.
CREATE TABLE locations (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    sender       TEXT NOT NULL,                -- one of our numbers, E.164
    direct_reply INTEGER NOT NULL DEFAULT 1 CHECK (direct_reply IN (0, 1)),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- A case: a repair, an order, a job. `code` is short and unique (printed in
-- every case SMS, so a reply that quotes it finds its case).
CREATE TABLE cases (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    title       TEXT NOT NULL,
    location_id INTEGER NOT NULL REFERENCES locations(id),
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    owner_id    INTEGER REFERENCES agents(id),
    created_by  INTEGER REFERENCES agents(id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    closed_at   INTEGER
);
CREATE INDEX cases_status ON cases(status, updated_at);

-- The customer's people on a case (existing contacts). sms_enabled: they are
-- texted (C1: enabling sends the invitation once, invited_at); `phone` is the
-- mobile they are texted on. no_reply_notice_at: when they were told, once,
-- that the location takes no direct replies (C3).
CREATE TABLE case_contacts (
    case_id             INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    contact_id          INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    sms_enabled         INTEGER NOT NULL DEFAULT 0 CHECK (sms_enabled IN (0, 1)),
    phone               TEXT,                  -- E.164 mobile; required while sms_enabled
    invited_at          INTEGER,
    no_reply_notice_at  INTEGER,
    added_by            INTEGER REFERENCES agents(id),
    added_at            INTEGER NOT NULL,
    PRIMARY KEY (case_id, contact_id),
    CHECK (sms_enabled = 0 OR phone IS NOT NULL)
) WITHOUT ROWID;
CREATE INDEX case_contacts_phone ON case_contacts(phone, case_id) WHERE phone IS NOT NULL;
CREATE INDEX case_contacts_contact ON case_contacts(contact_id, case_id);

-- C2: a note on a case. kind: a free note or one of the quick actions, or the
-- invitation. Written by staff (author_agent_id) or by a customer contact
-- (author_contact_id: by SMS reply, message_id the inbound message; or on the
-- mobile page). reply_to: the note it answers (the page's reply and reply all).
CREATE TABLE case_notes (
    id                INTEGER PRIMARY KEY,
    case_id           INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    kind              TEXT NOT NULL CHECK (kind IN ('note', 'checked_in', 'request_approval',
                          'asset_ready', 'asset_in_service', 'invitation')),
    source            TEXT NOT NULL CHECK (source IN ('console', 'cli', 'sms', 'page')),
    author_agent_id   INTEGER REFERENCES agents(id),
    author_contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    body              TEXT NOT NULL,
    reply_to          INTEGER REFERENCES case_notes(id) ON DELETE SET NULL,
    message_id        INTEGER REFERENCES messages(id),   -- the inbound SMS it came from
    created_at        INTEGER NOT NULL,
    CHECK (author_agent_id IS NULL OR author_contact_id IS NULL)
);
CREATE INDEX case_notes_case ON case_notes(case_id, id);

-- Who a note was sent to: customer contacts of its case, each texted (an
-- outbox row of purpose 'case', message_id) with a link (link_id) when SMS is
-- enabled for them. `skipped`: why they were not texted (opted out, SMS off).
CREATE TABLE case_note_recipients (
    note_id    INTEGER NOT NULL REFERENCES case_notes(id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    message_id INTEGER REFERENCES messages(id),
    link_id    INTEGER REFERENCES case_links(id),
    skipped    TEXT,
    PRIMARY KEY (note_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX case_note_recipients_contact ON case_note_recipients(contact_id, note_id);

-- C4: a link to the mobile case page, for one contact on one case (and the
-- note it was sent with). The URL carries this row's id signed with a purpose
-- salt and a time (itsdangerous); expires_at and revoked_at are checked too,
-- so a link can be withdrawn before it expires.
CREATE TABLE case_links (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    note_id    INTEGER REFERENCES case_notes(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    revoked_by INTEGER REFERENCES agents(id)
);
CREATE INDEX case_links_contact ON case_links(case_id, contact_id);

-- Keys the product signs with (the case links' key is made on first use and
-- shared by the console, the CLI and the worker through this database).
CREATE TABLE signing_keys (
    purpose    TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- C3: outbound case texts name their case, so a reply finds it (the most
-- recent case text to that number from that sender).
ALTER TABLE messages ADD COLUMN case_id INTEGER REFERENCES cases(id) ON DELETE SET NULL;
CREATE INDEX messages_case_recipient ON messages(recipient, sender, id)
    WHERE case_id IS NOT NULL;
