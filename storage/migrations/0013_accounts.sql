-- Several listener accounts. A lease per account says which process runs it and until when
-- (renewed while it runs; once expired the account counts as failed and its channels move).
-- Each channel is assigned to one account; `reader` is the account reading it now, so a moved
-- channel is read by its new account only after the old one let go.
CREATE TABLE account_leases (
    account    TEXT PRIMARY KEY,
    holder     TEXT,              -- "pid N on HOST" of the process holding it; NULL: never held
    taken_at   INTEGER,
    renewed_at INTEGER,
    expires_at INTEGER,
    created_at INTEGER NOT NULL,  -- first seen in the configuration
    failed     TEXT               -- why an operator or a listener marked it failed
);
CREATE TABLE source_accounts (
    source_id   INTEGER PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
    account     TEXT,                       -- NULL: no account has room
    pinned      INTEGER NOT NULL DEFAULT 0, -- 1: an editor chose the account
    assigned_at INTEGER NOT NULL,
    reader      TEXT,                       -- the account reading it now
    refused     TEXT NOT NULL DEFAULT ''    -- accounts that cannot read it, comma-separated
);
CREATE INDEX source_accounts_by_account ON source_accounts (account);
