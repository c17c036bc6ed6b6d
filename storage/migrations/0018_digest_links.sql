-- An alert folded into a quiet-hours digest remembers the digest (digest_alert), and takes the
-- digest's Telegram message id once it is sent: a later edit or deletion of that story replies
-- to the message the journalist got it in, as it replies to a story's own alert.
ALTER TABLE alerts ADD COLUMN digest_alert INTEGER;
CREATE INDEX alerts_in_digest ON alerts (digest_alert) WHERE digest_alert IS NOT NULL;
