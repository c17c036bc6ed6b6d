-- wirewatch schema, version 1. Times are INTEGER unix seconds (UTC) so that range filters and
-- keyset paging compare numbers, not strings.

CREATE TABLE sources (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE COLLATE NOCASE,  -- without @, lower-case
    peer_id         INTEGER UNIQUE,                       -- Telegram channel id, once resolved
    access_hash     INTEGER,                              -- cached so a username is resolved once
    title           TEXT,
    person_uk       TEXT, person_en TEXT, person_ru TEXT,
    role_uk         TEXT, role_en   TEXT, role_ru   TEXT,
    gender          TEXT CHECK (gender IN ('m', 'f')),
    last_message_id INTEGER NOT NULL DEFAULT 0,           -- highest id stored: catch-up starts here
    last_post_at    INTEGER,
    reconcile_every INTEGER,                              -- seconds; NULL = the global default
    active          INTEGER NOT NULL DEFAULT 1,
    added_at        INTEGER NOT NULL,
    error           TEXT                                  -- last resolve/join error, for /status
);

CREATE TABLE posts (
    id           INTEGER PRIMARY KEY,
    source_id    INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    message_id   INTEGER NOT NULL,
    date         INTEGER NOT NULL,
    text         TEXT NOT NULL DEFAULT '',
    norm         TEXT NOT NULL DEFAULT '',   -- normalised text, indexed by FTS
    lemmas       TEXT NOT NULL DEFAULT '',   -- space-separated lemmas, indexed by FTS
    media        TEXT,
    grouped_id   INTEGER,
    forward_from TEXT,
    forward_link TEXT,
    reply_to     INTEGER,
    links        TEXT,                       -- JSON list of text_url targets
    edit_date    INTEGER,
    deleted_at   INTEGER,
    version      INTEGER NOT NULL DEFAULT 1, -- current version number (post_versions)
    stored_at    INTEGER NOT NULL,
    UNIQUE (source_id, message_id)
);
CREATE INDEX posts_by_date ON posts (date DESC, id DESC);
CREATE INDEX posts_by_source_date ON posts (source_id, date DESC, id DESC);
CREATE INDEX posts_by_album ON posts (source_id, grouped_id) WHERE grouped_id IS NOT NULL;

-- Every text a post has had, the first one included.
CREATE TABLE post_versions (
    post_id     INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    text        TEXT NOT NULL,
    edit_date   INTEGER,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (post_id, version)
);

-- The other messages of an album, folded into the album's post.
CREATE TABLE album_items (
    source_id  INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL,
    post_id    INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    PRIMARY KEY (source_id, message_id)
);

CREATE VIRTUAL TABLE posts_fts USING fts5(
    norm, lemmas,
    content = 'posts', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER posts_fts_ai AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, norm, lemmas) VALUES (new.id, new.norm, new.lemmas);
END;
CREATE TRIGGER posts_fts_ad AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, norm, lemmas) VALUES ('delete', old.id, old.norm, old.lemmas);
END;
CREATE TRIGGER posts_fts_au AFTER UPDATE OF norm, lemmas ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, norm, lemmas) VALUES ('delete', old.id, old.norm, old.lemmas);
    INSERT INTO posts_fts (rowid, norm, lemmas) VALUES (new.id, new.norm, new.lemmas);
END;

CREATE TABLE people (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER UNIQUE,              -- Telegram user id; NULL until a @username is seen
    username    TEXT COLLATE NOCASE,
    display     TEXT,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'journalist')),
    lang        TEXT NOT NULL DEFAULT 'uk' CHECK (lang IN ('uk', 'en', 'ru')),
    tz          TEXT NOT NULL DEFAULT 'Europe/Kyiv',
    quiet_from  TEXT,                        -- 'HH:MM' local, alerts held until quiet_to
    quiet_to    TEXT,
    digest_at   TEXT,                        -- 'HH:MM' local daily digest, NULL = none
    paused      INTEGER NOT NULL DEFAULT 0,
    reachable   INTEGER NOT NULL DEFAULT 1,  -- 0 after Telegram answered 403
    active      INTEGER NOT NULL DEFAULT 1,
    added_at    INTEGER NOT NULL,
    added_by    INTEGER
);
CREATE UNIQUE INDEX people_by_username ON people (username) WHERE username IS NOT NULL;

CREATE TABLE mutes (
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    until     INTEGER,                       -- NULL = until unmuted
    PRIMARY KEY (person_id, source_id)
);

CREATE TABLE rules (
    id         INTEGER PRIMARY KEY,
    owner_id   INTEGER REFERENCES people(id) ON DELETE CASCADE,  -- NULL = the desk (everyone)
    query      TEXT NOT NULL,
    compiled   TEXT NOT NULL,                -- the parsed rule as JSON; only valid rules get here
    source_id  INTEGER REFERENCES sources(id) ON DELETE CASCADE,
    priority   INTEGER NOT NULL DEFAULT 0,
    active     INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    created_by INTEGER
);

-- The outbox. One row per message a person is owed; the notifier is its only reader.
CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY,
    person_id       INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    post_id         INTEGER REFERENCES posts(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('new', 'edit', 'delete', 'digest')),
    version         INTEGER NOT NULL DEFAULT 1,   -- post version the alert is about
    rule_id         INTEGER REFERENCES rules(id) ON DELETE SET NULL,
    payload         TEXT NOT NULL,                -- JSON: rendered messages and buttons
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'held', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    reply_to_alert  INTEGER REFERENCES alerts(id) ON DELETE SET NULL,
    tg_message_id   INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    UNIQUE (person_id, post_id, kind, version)
);
CREATE INDEX alerts_pending ON alerts (status, next_attempt_at, id) WHERE status IN ('pending', 'held');
CREATE INDEX alerts_by_post ON alerts (post_id, person_id);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   INTEGER,                -- Telegram user id, NULL for the CLI
    action  TEXT NOT NULL,
    detail  TEXT
);

-- Small key/value facts the service reports: last error, FloodWait until, listener state.
CREATE TABLE state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    at    INTEGER NOT NULL
);
