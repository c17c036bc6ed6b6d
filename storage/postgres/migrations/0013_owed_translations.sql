-- SQLite's migration 0017 on PostgreSQL: owed translations found by time, replies by the alert
-- they answer, without reading the whole outbox.
CREATE INDEX alerts_replies ON alerts (reply_to_alert);
CREATE INDEX alerts_new_by_time ON alerts (created_at) WHERE kind = 'new';
