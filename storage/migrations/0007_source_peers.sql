-- A channel's access hash belongs to the account that resolved it: with another listener account
-- (a ban, a lost number, a restored database, a second account) every request with it fails
-- (CHANNEL_INVALID) and the channel was never joined. Hashes are cached per account; those cached
-- before this migration belong to an account not recorded then (0), which the next listener
-- start claims.
CREATE TABLE source_peers (
    source_id   INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    account_id  INTEGER NOT NULL,  -- Telegram user id of the listener account; 0 = not recorded
    access_hash INTEGER NOT NULL,
    PRIMARY KEY (source_id, account_id)
) WITHOUT ROWID;
INSERT INTO source_peers (source_id, account_id, access_hash)
    SELECT id, 0, access_hash FROM sources WHERE access_hash IS NOT NULL;
