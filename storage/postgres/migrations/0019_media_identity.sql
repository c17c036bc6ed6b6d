-- SQLite's migration 0025 on PostgreSQL.
-- What a post's media is, not only its kind: a message whose photo or document is swapped for
-- another under the same caption is an edit (a version and its evidence), and the file Telegram
-- re-sends with a fresh file reference is not. NULL: not known (stored before this migration).
ALTER TABLE posts ADD COLUMN media_key TEXT;
ALTER TABLE album_items ADD COLUMN media_key TEXT;
-- An album's messages are looked up by their post (which file is whose, what each one is).
CREATE INDEX album_items_by_post ON album_items (post_id, message_id);
-- The media identity each kept file was downloaded for: a file no longer its message's is one
-- an edit replaced (kept as evidence, no longer the post's picture).
ALTER TABLE post_media ADD COLUMN media_key TEXT;
-- What a version changed against the one before: 'text', 'media', 'links', comma-joined.
-- NULL: its text (every version recorded before this migration), or nothing (a first one).
ALTER TABLE post_versions ADD COLUMN changed TEXT;
