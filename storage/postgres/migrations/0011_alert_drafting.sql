-- SQLite's migration 0015 on PostgreSQL: alerts queued before their draft is written.
ALTER TABLE alerts DROP CONSTRAINT alerts_status_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_status_check
    CHECK (status IN ('drafting', 'pending', 'held', 'sending', 'sent', 'failed'));
CREATE INDEX alerts_drafting ON alerts (id) WHERE status = 'drafting';
