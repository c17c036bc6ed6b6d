-- What a post's media is, not only its kind: a message whose photo or document is swapped for
-- another under the same caption is an edit (a version and its evidence), and the file Telegram
-- re-sends with a fresh file reference is not. The identity is the file's own id and data
-- centre ('photo:2:5000001'), never its access hash or file reference, which change.
-- NULL: not known (a post stored before this migration, a feed, an export): the first identity
-- seen for such a message is recorded, never taken for a change.
ALTER TABLE posts ADD COLUMN media_key TEXT;          -- the post's own message's media
ALTER TABLE album_items ADD COLUMN media_key TEXT;
-- An album's messages are looked up by their post (which file is whose, what each one is).
CREATE INDEX album_items_by_post ON album_items (post_id, message_id);    -- each other message of an album
-- Which media identity each kept file was downloaded for: a file whose identity is no longer
-- its message's was replaced by an edit. It stays linked (the evidence keeps it) but is no
-- longer the post's picture: not read into the post's OCR text, not sent with an alert.
ALTER TABLE post_media ADD COLUMN media_key TEXT;
-- What a version changed against the one before: 'text', 'media', 'links', comma-joined.
-- NULL: its text (every version recorded before this migration), or nothing (a first one).
ALTER TABLE post_versions ADD COLUMN changed TEXT;
