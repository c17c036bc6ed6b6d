-- The outbox keeps each person's alerts in order: `due` skips an alert while an earlier one of
-- the same person waits for a retry. Without this index that check scanned the outbox once per
-- pending alert, which made every notifier wake-up quadratic in the outbox depth.
CREATE INDEX alerts_by_person_pending ON alerts (person_id, status, next_attempt_at, id);
