-- Owed translations (AlertRepo.awaiting_translation): the translation worker looks for 'new'
-- alerts of the last day (WIREWATCH_TRANSLATION__MAX_AGE) that have no translation reply yet.
-- Without these indexes each look read the whole outbox once, and once more per alert to find
-- its reply; deleting an alert also scans for the replies whose reply_to_alert it nulls.
CREATE INDEX alerts_replies ON alerts (reply_to_alert);
CREATE INDEX alerts_new_by_time ON alerts (created_at) WHERE kind = 'new';
