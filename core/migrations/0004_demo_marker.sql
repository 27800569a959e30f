-- Schema 4: a database made by `switchboard demo` carries a marker of its own.
-- It used to be the setting `demo`, which anyone could set; a marker only the
-- demo seed writes means no command turns a real database into a demo one
-- (where --as impersonates anyone and the sandbox replaces the real provider).

CREATE TABLE demo_marker (
    id         INTEGER PRIMARY KEY CHECK (id = 1),   -- at most one row
    created_at INTEGER NOT NULL
);

-- Databases already made by `switchboard demo` stay demo.
INSERT INTO demo_marker (id, created_at)
    SELECT 1, 0 FROM settings WHERE key = 'demo' AND value = 'true';
DELETE FROM settings WHERE key = 'demo';
