-- A person's alerts still to go, not their whole history: `NOT_GATED` (an alert waits behind
-- its person's earlier ones still drafting or retried) and the hold/release statements only
-- ever ask for alerts drafting, pending or held. Every alert a post queues entered the full
-- index in its person's own range, so a post alerting five journalists wrote about five leaf
-- pages of it (and as many again when the drafter moved the rows to 'pending'); alerts in
-- flight are few, so this one is a page or two. Alerts sent or failed leave it. A query uses
-- it on SQLite only when it repeats the index's condition (storage/alerts.py OPEN); the other
-- person lookups (a person's history, /alerts) take the unique key's (person_id, ...).
DROP INDEX IF EXISTS alerts_by_person_pending;
CREATE INDEX alerts_by_person_open ON alerts (person_id, status, next_attempt_at, id)
    WHERE status IN ('drafting', 'pending', 'held');
