-- SQLite's migration 0007 on PostgreSQL: a channel's access hash per listener account.
CREATE TABLE source_peers (
    source_id   BIGINT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    account_id  BIGINT NOT NULL,  -- Telegram user id of the listener account; 0 = not recorded
    access_hash BIGINT NOT NULL,
    PRIMARY KEY (source_id, account_id)
);
INSERT INTO source_peers (source_id, account_id, access_hash)
    SELECT id, 0, access_hash FROM sources WHERE access_hash IS NOT NULL;
