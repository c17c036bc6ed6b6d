-- SQLite's migration 0008 on PostgreSQL: cached machine translations of quotes, and a
-- translation as an alert kind of its own. PostgreSQL changes a CHECK in place.
CREATE TABLE translations (
    post_id     BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    version     BIGINT NOT NULL,
    target      TEXT NOT NULL,
    source_hash TEXT NOT NULL,
    provider    TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (post_id, version, target, source_hash)
);
ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check
    CHECK (kind IN ('new', 'edit', 'delete', 'digest', 'translation'));
