-- Switchboard schema 2: what the console needs to stay fast and personal.

-- Unread marks: the newest message each agent has seen in each conversation.
CREATE TABLE conversation_reads (
    agent_id        INTEGER NOT NULL REFERENCES agents(id),
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    last_read_id    INTEGER NOT NULL,
    PRIMARY KEY (agent_id, conversation_id)
) WITHOUT ROWID;

-- The newest inbound message of each conversation, kept for unread marks.
ALTER TABLE conversations ADD COLUMN last_inbound_id INTEGER;

-- Contact search over 10^6 rows: an FTS5 index of name, job title, email and
-- the phone numbers in several spellings (E.164 digits, national digits, last
-- four), so a prefix query finds any of them. Kept current by triggers.
CREATE VIRTUAL TABLE contacts_fts USING fts5(
    name, job_title, email, phones,
    tokenize = "unicode61 remove_diacritics 2",
    prefix = '2 3'
);

-- A contact's phones may already be there (bulk imports insert them first).
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts (rowid, name, job_title, email, phones)
    VALUES (new.id, new.name, new.job_title, new.email, coalesce((
        SELECT group_concat(substr(e164, 2) || ' ' || substr(e164, -10) || ' '
            || substr(e164, -7) || ' ' || substr(e164, -4), ' ')
        FROM contact_phones WHERE contact_id = new.id), ''));
END;

CREATE TRIGGER contacts_fts_update AFTER UPDATE OF name, job_title, email ON contacts BEGIN
    UPDATE contacts_fts SET name = new.name, job_title = new.job_title, email = new.email
    WHERE rowid = new.id;
END;

CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM contacts_fts WHERE rowid = old.id;
END;

CREATE TRIGGER contact_phones_fts_insert AFTER INSERT ON contact_phones BEGIN
    UPDATE contacts_fts SET phones = trim(phones || ' ' || substr(new.e164, 2) || ' '
        || substr(new.e164, -10) || ' ' || substr(new.e164, -7) || ' ' || substr(new.e164, -4))
    WHERE rowid = new.contact_id;
END;

CREATE TRIGGER contact_phones_fts_delete AFTER DELETE ON contact_phones BEGIN
    UPDATE contacts_fts SET phones = (
        SELECT coalesce(group_concat(substr(e164, 2) || ' ' || substr(e164, -10) || ' '
            || substr(e164, -7) || ' ' || substr(e164, -4), ' '), '')
        FROM contact_phones WHERE contact_id = old.contact_id)
    WHERE rowid = old.contact_id;
END;

INSERT INTO contacts_fts (rowid, name, job_title, email, phones)
SELECT c.id, c.name, c.job_title, c.email, coalesce((
    SELECT group_concat(substr(e164, 2) || ' ' || substr(e164, -10) || ' ' || substr(e164, -7)
        || ' ' || substr(e164, -4), ' ')
    FROM contact_phones WHERE contact_id = c.id), '')
FROM contacts c;
