-- Machine translation of quotes, for desks reading another language than the post's.
--
-- Translations are cached per post version, target language and quoted text, so an alert, its
-- "Full text" and a re-composition never ask the provider twice.
CREATE TABLE translations (
    post_id     INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    target      TEXT NOT NULL,           -- uk, en or ru
    source_hash TEXT NOT NULL,           -- SHA-256 of the quoted text that was translated
    provider    TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (post_id, version, target, source_hash)
);

-- A translation arrives as its own message replying to the alert (kind 'translation'), so the
-- alert itself never waits for a provider. SQLite relaxes a CHECK only by rebuilding the table;
-- alerts are referenced only by alerts.reply_to_alert, which the new table points at itself
-- (the rename carries the reference over), so dropping the old table cascades into nothing.
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
                    CHECK (status IN ('pending', 'held', 'sending', 'sent', 'failed')),
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
