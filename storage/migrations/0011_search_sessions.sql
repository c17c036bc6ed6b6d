-- A search's paging state, kept in the database so the Newer/Older buttons of a result still
-- work after the service restarts (a button's callback_data holds only the token).
CREATE TABLE search_sessions (
    token    TEXT PRIMARY KEY,
    user_id  INTEGER NOT NULL,
    query    TEXT NOT NULL,
    cursors  TEXT NOT NULL,  -- JSON: the `before` cursor of each page seen, [null, [date, id], …]
    used_at  INTEGER NOT NULL
);
CREATE INDEX search_sessions_used ON search_sessions (used_at);
