-- SQLite's migration 0023 on PostgreSQL: which of an album's messages the channel deleted (the
-- post is deleted only when none is left); no row means the message is up.
CREATE TABLE album_deleted (
    source_id  BIGINT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    message_id BIGINT NOT NULL,
    post_id    BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    deleted_at BIGINT NOT NULL,
    PRIMARY KEY (source_id, message_id)
);
CREATE INDEX album_deleted_by_post ON album_deleted (post_id);
