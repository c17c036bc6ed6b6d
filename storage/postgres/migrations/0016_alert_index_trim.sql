-- SQLite's migration 0020 on PostgreSQL: no per-alert thread index (THREAD_HEADS starts from
-- the source's posts), and replies indexed only where an alert is one.
DROP INDEX IF EXISTS alerts_thread;
DROP INDEX IF EXISTS alerts_replies;
CREATE INDEX alerts_replies ON alerts (reply_to_alert) WHERE reply_to_alert IS NOT NULL;
