-- Schema 7: permission profiles (R1-R4). Called "permission profiles"
-- everywhere, never just "profiles": the notification profiles (P) are
-- another thing. The rules (limits, ranges, who may edit) are in core; the
-- CHECKs here are the last line, not the message a user sees.

CREATE TABLE activities (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    available  INTEGER NOT NULL DEFAULT 0,   -- 1: an agent in it may be offered conversations
    builtin    INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
INSERT INTO activities (name, available, builtin, created_at) VALUES
    ('Available', 1, 1, 0), ('Away', 0, 1, 0), ('Lunch', 0, 1, 0),
    ('Wrap-up', 0, 1, 0), ('Offline', 0, 1, 0);

CREATE TABLE permission_profiles (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    alias       TEXT NOT NULL DEFAULT '',    -- shown in statistics
    reference   TEXT NOT NULL DEFAULT '',    -- for search
    description TEXT NOT NULL DEFAULT '',
    -- R2 settings. NULL means "never" / "off" where a number is optional.
    interaction_timeout_seconds INTEGER NOT NULL DEFAULT 0 CHECK (interaction_timeout_seconds >= 0),
    max_missed_offers   INTEGER CHECK (max_missed_offers IS NULL OR max_missed_offers >= 1),
    missed_activity_id  INTEGER REFERENCES activities(id),
    pool_access         INTEGER NOT NULL DEFAULT 1,  -- the waiting pool (public conversations)
    max_simultaneous    INTEGER NOT NULL DEFAULT 5 CHECK (max_simultaneous >= 1),
    may_refuse          INTEGER NOT NULL DEFAULT 1,
    auto_accept_seconds INTEGER CHECK (auto_accept_seconds IS NULL OR auto_accept_seconds >= 0),
    transfer_to_queue   INTEGER NOT NULL DEFAULT 0,
    transfer_to_agent   INTEGER NOT NULL DEFAULT 0,
    supervision         INTEGER NOT NULL DEFAULT 0,  -- every conversation, read-only threads, take over
    campaigns           INTEGER NOT NULL DEFAULT 0,  -- SMS campaign access
    campaign_program    INTEGER NOT NULL DEFAULT 0,
    campaign_reprogram  INTEGER NOT NULL DEFAULT 0,
    campaign_remove     INTEGER NOT NULL DEFAULT 0,
    campaign_pool       INTEGER NOT NULL DEFAULT 0,
    statistics          INTEGER NOT NULL DEFAULT 0,
    -- What today's manager role also does (the administration of the centre).
    manage_contacts     INTEGER NOT NULL DEFAULT 0,  -- import and export
    manage_numbers      INTEGER NOT NULL DEFAULT 0,
    manage_users        INTEGER NOT NULL DEFAULT 0,  -- users and permission profiles
    manage_settings     INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- R3 users / R4: a user holds several profiles; one is active (agents.active_profile_id).
CREATE TABLE permission_profile_users (
    profile_id         INTEGER NOT NULL REFERENCES permission_profiles(id) ON DELETE CASCADE,
    agent_id           INTEGER NOT NULL REFERENCES agents(id),
    distribution_score INTEGER NOT NULL DEFAULT 50 CHECK (distribution_score BETWEEN 0 AND 100),
    PRIMARY KEY (profile_id, agent_id)
) WITHOUT ROWID;
CREATE INDEX permission_profile_users_agent ON permission_profile_users(agent_id);

ALTER TABLE agents ADD COLUMN active_profile_id INTEGER REFERENCES permission_profiles(id);

-- R3 activities: those a profile may use, one of them the default at login.
CREATE TABLE permission_profile_activities (
    profile_id  INTEGER NOT NULL REFERENCES permission_profiles(id) ON DELETE CASCADE,
    activity_id INTEGER NOT NULL REFERENCES activities(id),
    is_default  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (profile_id, activity_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX permission_profile_activities_default
    ON permission_profile_activities(profile_id) WHERE is_default = 1;

-- R3 queues: each of our numbers belongs to one; a profile takes a queue
-- with messaging on or off and a score (who is offered first).
CREATE TABLE queues (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    messaging  INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);
ALTER TABLE numbers ADD COLUMN queue_id INTEGER REFERENCES queues(id);
CREATE INDEX numbers_queue ON numbers(queue_id);

CREATE TABLE permission_profile_queues (
    profile_id INTEGER NOT NULL REFERENCES permission_profiles(id) ON DELETE CASCADE,
    queue_id   INTEGER NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
    messaging  INTEGER NOT NULL DEFAULT 1,
    score      INTEGER NOT NULL DEFAULT 50 CHECK (score BETWEEN 0 AND 100),
    PRIMARY KEY (profile_id, queue_id)
) WITHOUT ROWID;
CREATE INDEX permission_profile_queues_queue ON permission_profile_queues(queue_id);

-- R3 SMS numbers the profile may send from.
CREATE TABLE permission_profile_numbers (
    profile_id INTEGER NOT NULL REFERENCES permission_profiles(id) ON DELETE CASCADE,
    number_id  INTEGER NOT NULL REFERENCES numbers(id) ON DELETE CASCADE,
    PRIMARY KEY (profile_id, number_id)
) WITHOUT ROWID;

-- R3 SMS templates: canned replies with merge fields (core/templates.py renders them).
CREATE TABLE sms_templates (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE permission_profile_templates (
    profile_id  INTEGER NOT NULL REFERENCES permission_profiles(id) ON DELETE CASCADE,
    template_id INTEGER NOT NULL REFERENCES sms_templates(id) ON DELETE CASCADE,
    PRIMARY KEY (profile_id, template_id)
) WITHOUT ROWID;
-- R3 SMS campaigns a profile may use: added with the campaigns themselves (S1).

-- Today's two roles become two built-in profiles with the rights they had:
-- a manager did everything; an agent worked their own and public conversations.
INSERT INTO permission_profiles (name, alias, reference, description, pool_access,
    max_simultaneous, transfer_to_queue, transfer_to_agent, supervision, campaigns,
    campaign_program, campaign_reprogram, campaign_remove, campaign_pool, statistics,
    manage_contacts, manage_numbers, manage_users, manage_settings, created_at, updated_at)
VALUES
    ('Manager', 'Manager', 'builtin-manager', 'Everything: what the manager role could do.',
     1, 50, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0),
    ('Agent', 'Agent', 'builtin-agent', 'Own and public conversations, contacts.',
     1, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
INSERT INTO permission_profile_activities (profile_id, activity_id, is_default)
    SELECT p.id, a.id, a.name = 'Available' FROM permission_profiles p, activities a;
INSERT INTO permission_profile_users (profile_id, agent_id)
    SELECT p.id, g.id FROM agents g
    JOIN permission_profiles p ON p.name = CASE g.role WHEN 'manager' THEN 'Manager' ELSE 'Agent' END;
UPDATE agents SET active_profile_id = (
    SELECT profile_id FROM permission_profile_users u WHERE u.agent_id = agents.id);
-- What a user may do is now their active profile's: the role goes, so no
-- code can compare roles any more.
ALTER TABLE agents DROP COLUMN role;
