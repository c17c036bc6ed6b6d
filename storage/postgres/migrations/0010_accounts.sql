-- SQLite's migration 0013 on PostgreSQL: account leases and the channels' accounts.
CREATE TABLE account_leases (
    account    TEXT COLLATE "C" PRIMARY KEY,
    holder     TEXT,
    taken_at   BIGINT,
    renewed_at BIGINT,
    expires_at BIGINT,
    created_at BIGINT NOT NULL,
    failed     TEXT
);
CREATE TABLE source_accounts (
    source_id   BIGINT PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
    account     TEXT COLLATE "C",
    pinned      BIGINT NOT NULL DEFAULT 0,
    assigned_at BIGINT NOT NULL,
    reader      TEXT COLLATE "C",
    refused     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX source_accounts_by_account ON source_accounts (account);
