-- SQLite's migration 0018 on PostgreSQL: the digest an alert was folded into.
ALTER TABLE alerts ADD COLUMN digest_alert BIGINT;
CREATE INDEX alerts_in_digest ON alerts (digest_alert) WHERE digest_alert IS NOT NULL;
