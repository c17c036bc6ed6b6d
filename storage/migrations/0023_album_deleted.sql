-- An album is one post (its first message's id; the other messages in album_items). Deleting
-- one photo of it marked the whole post deleted, or, for a later photo, was not recorded at
-- all. Which of an album's messages the channel deleted, its first included: the post is
-- deleted only when none is left. A message without a row here is up, so every album stored
-- before this migration keeps all its messages up.
CREATE TABLE album_deleted (
    source_id  INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL,
    post_id    INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    deleted_at INTEGER NOT NULL,               -- when the deletion was noticed
    PRIMARY KEY (source_id, message_id)
);
CREATE INDEX album_deleted_by_post ON album_deleted (post_id);
