-- Schema 8: routing (R: activities, offers, transfers). Each new inbound
-- conversation is offered to one agent at a time; an offer is a row with a
-- due time, swept by the worker, so a restart loses none.

-- Where each agent is: the activity, since when, offers missed in a row, and
-- when their last conversation ended (the interaction timeout runs from it).
ALTER TABLE agents ADD COLUMN activity_id INTEGER REFERENCES activities(id);
ALTER TABLE agents ADD COLUMN activity_since INTEGER;
ALTER TABLE agents ADD COLUMN missed_offers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN idle_since INTEGER;

-- A conversation waiting for an agent: its queue, and when routing next tries.
ALTER TABLE conversations ADD COLUMN queue_id INTEGER REFERENCES queues(id);
ALTER TABLE conversations ADD COLUMN route_due_at INTEGER;
CREATE INDEX conversations_route_due ON conversations(route_due_at) WHERE route_due_at IS NOT NULL;

CREATE TABLE offers (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    agent_id        INTEGER NOT NULL REFERENCES agents(id),
    queue_id        INTEGER REFERENCES queues(id),
    status          TEXT NOT NULL CHECK (status IN
                        ('pending', 'accepted', 'refused', 'expired', 'withdrawn')),
    offered_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    auto_accept_at  INTEGER,                 -- the profile accepts for the agent then
    answered_at     INTEGER
);
-- One offer at a time per conversation, and the worker's due times.
CREATE UNIQUE INDEX offers_one_pending ON offers(conversation_id) WHERE status = 'pending';
CREATE INDEX offers_due ON offers(expires_at) WHERE status = 'pending';
CREATE INDEX offers_auto_accept ON offers(auto_accept_at) WHERE status = 'pending' AND auto_accept_at IS NOT NULL;
CREATE INDEX offers_agent ON offers(agent_id, status);
-- A conversation's offers: who already missed it, and the cascade when it is deleted.
CREATE INDEX offers_conversation ON offers(conversation_id, status);

-- R: who handed a conversation to whom (a queue, or a named agent), and when.
CREATE TABLE transfers (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    by_agent_id     INTEGER REFERENCES agents(id),
    from_agent_id   INTEGER REFERENCES agents(id),
    to_agent_id     INTEGER REFERENCES agents(id),
    to_queue_id     INTEGER REFERENCES queues(id),
    at              INTEGER NOT NULL,
    CHECK ((to_agent_id IS NULL) != (to_queue_id IS NULL))
);
CREATE INDEX transfers_conversation ON transfers(conversation_id, id);

-- Statistics (core/statistics.py) over a period: each figure's rows found by
-- the period's column, not a scan of every message or offer. Partial indexes
-- with the same terms as the queries' WHERE, and the columns each reads, so
-- the rows' own pages are not visited:
-- handled and first responses: agents' conversation replies by created_at;
CREATE INDEX messages_agent_replies
    ON messages(created_at, author_id, conversation_id, direction, purpose)
    WHERE direction = 'out' AND purpose = 'conversation' AND author_id IS NOT NULL;
-- messages and segments sent: what agents wrote, by when the provider took it;
CREATE INDEX messages_agent_sent
    ON messages(sent_at, author_id, conversation_id, sender, segments, direction)
    WHERE direction = 'out' AND author_id IS NOT NULL;
-- offered, accepted, missed: offers by when they were made.
CREATE INDEX offers_offered ON offers(offered_at, agent_id, queue_id, status, conversation_id);
