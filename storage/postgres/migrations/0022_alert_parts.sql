-- SQLite's migration 0026 on PostgreSQL.
-- How many of a pending alert's messages (its payload's, in order) Telegram has confirmed, the
-- first of them in tg_message_id: a restart in the middle of a long alert sends the rest.
ALTER TABLE alerts ADD COLUMN parts_sent INTEGER NOT NULL DEFAULT 0;
