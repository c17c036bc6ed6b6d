-- SQLite's migration 0029 on PostgreSQL: a person's alerts still to go (drafting, pending,
-- held) instead of their whole history, so that the alerts a post queues for five people
-- touch a page or two of the index rather than one per person.
DROP INDEX IF EXISTS alerts_by_person_pending;
CREATE INDEX alerts_by_person_open ON alerts (person_id, status, next_attempt_at, id)
    WHERE status IN ('drafting', 'pending', 'held');
