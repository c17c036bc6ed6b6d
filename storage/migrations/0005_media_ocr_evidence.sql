-- Issue 16: media kept content-addressed, OCR text as its own field, the evidence trail.

-- Files in the media folder, named by the SHA-256 of their bytes. A row outlives its file:
-- when the size cap or retention removes the file, `removed_at` says when, and the hash stays.
CREATE TABLE media_files (
    sha256     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    ext        TEXT NOT NULL,             -- '.jpg', '.png', '.pdf', ...
    kind       TEXT NOT NULL,             -- photo / document
    stored_at  INTEGER NOT NULL,
    removed_at INTEGER,
    ocr_text   TEXT,                      -- NULL: not read (yet); '' read, no text
    ocr_at     INTEGER
);
CREATE INDEX media_files_present ON media_files (stored_at, sha256) WHERE removed_at IS NULL;

-- Which post carries which file; `message_id` is the message that carried it (an album item).
CREATE TABLE post_media (
    post_id    INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL,
    sha256     TEXT NOT NULL REFERENCES media_files(sha256),
    added_at   INTEGER NOT NULL,
    PRIMARY KEY (post_id, message_id, sha256)
);
CREATE INDEX post_media_by_file ON post_media (sha256);

-- Text read from a post's images: its own field, never the post's words.
ALTER TABLE posts ADD COLUMN ocr_text TEXT NOT NULL DEFAULT '';
ALTER TABLE posts ADD COLUMN ocr_norm TEXT NOT NULL DEFAULT '';
ALTER TABLE posts ADD COLUMN ocr_lemmas TEXT NOT NULL DEFAULT '';
ALTER TABLE post_versions ADD COLUMN ocr_text TEXT NOT NULL DEFAULT '';

-- The FTS index gains the OCR columns; search asks `{norm ocr_norm}` / `{lemmas ocr_lemmas}`.
DROP TRIGGER posts_fts_ai;
DROP TRIGGER posts_fts_ad;
DROP TRIGGER posts_fts_au;
DROP TABLE posts_fts;
CREATE VIRTUAL TABLE posts_fts USING fts5(
    norm, lemmas, ocr_norm, ocr_lemmas,
    content = 'posts', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '4'
);
INSERT INTO posts_fts (posts_fts) VALUES ('rebuild');
CREATE TRIGGER posts_fts_ai AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, norm, lemmas, ocr_norm, ocr_lemmas)
    VALUES (new.id, new.norm, new.lemmas, new.ocr_norm, new.ocr_lemmas);
END;
CREATE TRIGGER posts_fts_ad AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, norm, lemmas, ocr_norm, ocr_lemmas)
    VALUES ('delete', old.id, old.norm, old.lemmas, old.ocr_norm, old.ocr_lemmas);
END;
CREATE TRIGGER posts_fts_au AFTER UPDATE OF norm, lemmas, ocr_norm, ocr_lemmas ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, norm, lemmas, ocr_norm, ocr_lemmas)
    VALUES ('delete', old.id, old.norm, old.lemmas, old.ocr_norm, old.ocr_lemmas);
    INSERT INTO posts_fts (rowid, norm, lemmas, ocr_norm, ocr_lemmas)
    VALUES (new.id, new.norm, new.lemmas, new.ocr_norm, new.ocr_lemmas);
END;

-- The evidence trail: every version of a post as its source gave it, hashed when captured.
-- No foreign key: retention may drop a post and a source may be removed, never their
-- evidence. Keyed as a permalink is (channel, message id), with the peer id for renames.
-- Append-only: the triggers refuse every UPDATE and DELETE; a new version is a new record.
CREATE TABLE evidence (
    id           INTEGER PRIMARY KEY,
    channel      TEXT NOT NULL,                 -- username at capture time, lower-case
    channel_id   INTEGER,                       -- Telegram peer id, when known
    message_id   INTEGER NOT NULL,              -- the post's id (an album's first message)
    kind         TEXT NOT NULL CHECK (kind IN ('version', 'deletion')),
    version      INTEGER,                       -- the post version this records
    origin       TEXT NOT NULL,                 -- telegram / export / feed / record
    raw          TEXT NOT NULL,                 -- the message as the source gave it (JSON)
    sha256       TEXT NOT NULL,                 -- of `raw` as UTF-8
    captured_at  INTEGER NOT NULL               -- when we stored it; for a deletion, noticed
);
CREATE INDEX evidence_by_message ON evidence (message_id, channel, id);
CREATE TRIGGER evidence_no_update BEFORE UPDATE ON evidence BEGIN
    SELECT RAISE(ABORT, 'the evidence trail is append-only');
END;
CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence BEGIN
    SELECT RAISE(ABORT, 'the evidence trail is append-only');
END;
