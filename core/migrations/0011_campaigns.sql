-- Schema 11: SMS campaigns (S1): campaigns, their targets and the waiting
-- pool, every move of a target, per-recipient merge values for provider
-- batches, replies marked with their campaign, contact tags for live filters.

-- Contacts' tags: a live filter may ask for them (and custom fields, Ready).
CREATE TABLE contact_tags (
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    tag        TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (contact_id, tag)
) WITHOUT ROWID;
CREATE INDEX contact_tags_tag ON contact_tags(tag);

CREATE TABLE campaigns (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    sender        TEXT NOT NULL,               -- one of our numbers, E.164
    template      TEXT NOT NULL,               -- merge fields {{field}}, the one renderer
    status        TEXT NOT NULL DEFAULT 'draft' CHECK (status IN
                      ('draft', 'scheduled', 'running', 'paused', 'finished', 'cancelled')),
    -- Targets: a live filter over contacts (JSON, evaluated again when each
    -- target is due) and/or rows added from contacts or a CSV.
    filter        TEXT,
    -- Throttle: segments per second for this campaign, inside the sender's
    -- own budget (send_budgets scope 'campaign', key the campaign's id).
    rate_segments_per_second REAL NOT NULL DEFAULT 1.0,
    -- Quiet hours in the recipient's local time: sending only when the time
    -- is inside [window_start, window_end) minutes of the day in every zone the
    -- number may be in; a number whose zone is unknown follows unknown_zone.
    window_start  INTEGER NOT NULL DEFAULT 480 CHECK (window_start BETWEEN 0 AND 1439),
    window_end    INTEGER NOT NULL DEFAULT 1260 CHECK (window_end BETWEEN 1 AND 1440),
    unknown_zone  TEXT NOT NULL DEFAULT 'account' CHECK (unknown_zone IN ('account', 'skip')),
    starts_at     INTEGER,                     -- programmed start (scheduled)
    started_at    INTEGER,
    finished_at   INTEGER,
    created_by    INTEGER REFERENCES agents(id),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- R3: the SMS campaigns a permission profile may see and work on.
CREATE TABLE permission_profile_campaigns (
    profile_id  INTEGER NOT NULL REFERENCES permission_profiles(id) ON DELETE CASCADE,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    PRIMARY KEY (profile_id, campaign_id)
) WITHOUT ROWID;

-- A target: one contact (its first mobile) or one CSV row, once per campaign.
-- state: waiting (in the pool), programmed (due_at set), queued (an outbox
-- row, message_id: from then on its delivery is the message's status),
-- skipped (reason), removed. A live filter's targets are made when the
-- campaign starts and checked again when due.
CREATE TABLE campaign_targets (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    contact_id   INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    phone        TEXT NOT NULL,                -- E.164
    merge_values TEXT NOT NULL DEFAULT '{}',   -- JSON: a CSV row's own values
    state        TEXT NOT NULL DEFAULT 'waiting' CHECK (state IN
                     ('waiting', 'programmed', 'queued', 'skipped', 'removed')),
    due_at       INTEGER,
    reason       TEXT,                         -- why skipped
    message_id   INTEGER REFERENCES messages(id),
    replied_at   INTEGER,
    opted_out_at INTEGER,                      -- a STOP answering this campaign
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    CHECK (state != 'programmed' OR due_at IS NOT NULL),
    CHECK (state != 'queued' OR message_id IS NOT NULL)
);
CREATE UNIQUE INDEX campaign_targets_phone ON campaign_targets(campaign_id, phone);
CREATE UNIQUE INDEX campaign_targets_contact ON campaign_targets(campaign_id, contact_id)
    WHERE contact_id IS NOT NULL;
CREATE INDEX campaign_targets_due ON campaign_targets(due_at, id) WHERE state = 'programmed';
CREATE INDEX campaign_targets_state ON campaign_targets(campaign_id, state);
CREATE INDEX campaign_targets_message ON campaign_targets(message_id) WHERE message_id IS NOT NULL;
CREATE INDEX campaign_targets_recipient ON campaign_targets(phone, campaign_id);

-- Every move of a target (the seed's rights: program, reprogram, remove,
-- back to the pool), with who and when.
CREATE TABLE campaign_moves (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    target_id   INTEGER NOT NULL REFERENCES campaign_targets(id) ON DELETE CASCADE,
    action      TEXT NOT NULL CHECK (action IN ('program', 'reprogram', 'remove', 'pool')),
    due_at      INTEGER,
    agent_id    INTEGER REFERENCES agents(id),
    at          INTEGER NOT NULL
);
CREATE INDEX campaign_moves_target ON campaign_moves(target_id, id);

-- Outbound rows of a campaign: which one, and, for provider batches with
-- per-recipient text, the template in the provider's placeholder form and
-- this recipient's values (JSON). body stays the rendered text.
ALTER TABLE messages ADD COLUMN campaign_id INTEGER REFERENCES campaigns(id);
ALTER TABLE messages ADD COLUMN batch_template TEXT;
ALTER TABLE messages ADD COLUMN batch_values TEXT;
CREATE INDEX messages_campaign ON messages(campaign_id, status) WHERE campaign_id IS NOT NULL;
