-- The shared outbox's claims: one row per chat (person) that has had alerts to deliver. A
-- notifier claims chats with `SELECT ... FOR UPDATE SKIP LOCKED` in a short transaction, sets
-- `claimed_by` and `claim_until`, commits, and sends outside any transaction; a chat is one
-- notifier's until it gives it back or its claim runs out (the notifier died), so its alerts
-- keep their order. Rows are added by the claim itself, not by enqueue: an enqueue runs inside
-- the pipeline's long batch transaction and would make the claim wait for it.
CREATE TABLE outbox_chats (
    person_id   BIGINT PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    claimed_by  TEXT,
    claim_until TIMESTAMPTZ
);
