-- Drafting leaves the ingest transaction: a post's alerts are queued with the status 'drafting'
-- and a payload that says what to draft ({"draft": {...}}); the drafter (bot/ingest/drafter.py)
-- composes them after the commit and sets them 'pending' (or 'held'). Every reader of the outbox
-- already selects by status, so nobody sends, digests or counts a draft that is not written yet.
-- SQLite relaxes a CHECK only by rebuilding the table; as in 0008, only alerts.reply_to_alert
-- points at alerts, and the rename carries it over.
CREATE TABLE alerts_rebuilt (
    id              INTEGER PRIMARY KEY,
    person_id       INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    post_id         INTEGER REFERENCES posts(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL
                    CHECK (kind IN ('new', 'edit', 'delete', 'digest', 'translation')),
    version         INTEGER NOT NULL DEFAULT 1,   -- post version the alert is about
    rule_id         INTEGER REFERENCES rules(id) ON DELETE SET NULL,
    payload         TEXT NOT NULL,                -- JSON: rendered messages and buttons
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('drafting', 'pending', 'held', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    reply_to_alert  INTEGER REFERENCES alerts_rebuilt(id) ON DELETE SET NULL,
    tg_message_id   INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    spans           TEXT,
    UNIQUE (person_id, post_id, kind, version)
);
INSERT INTO alerts_rebuilt (id, person_id, post_id, kind, version, rule_id, payload, status, attempts,
                       next_attempt_at, reply_to_alert, tg_message_id, last_error, created_at,
                       sent_at, spans)
    SELECT id, person_id, post_id, kind, version, rule_id, payload, status, attempts,
           next_attempt_at, reply_to_alert, tg_message_id, last_error, created_at, sent_at, spans
    FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_rebuilt RENAME TO alerts;
CREATE INDEX alerts_pending ON alerts (status, next_attempt_at, id) WHERE status IN ('pending', 'held');
CREATE INDEX alerts_by_post ON alerts (post_id, person_id);
CREATE INDEX alerts_by_person_pending ON alerts (person_id, status, next_attempt_at, id);
CREATE INDEX alerts_thread ON alerts (person_id, rule_id, kind);
CREATE INDEX alerts_drafting ON alerts (id) WHERE status = 'drafting';
