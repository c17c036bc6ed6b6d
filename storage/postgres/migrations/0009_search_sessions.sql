-- SQLite's migration 0011 on PostgreSQL: a search's paging state survives a restart.
CREATE TABLE search_sessions (
    token    TEXT PRIMARY KEY,
    user_id  BIGINT NOT NULL,
    query    TEXT NOT NULL,
    cursors  TEXT NOT NULL,
    used_at  BIGINT NOT NULL
);
CREATE INDEX search_sessions_used ON search_sessions (used_at);
