-- Fewer index entries for each alert a live post queues (five per post that alerts five
-- journalists): `alerts_thread` served the per-alert THREAD_HEAD lookup, which is gone (the
-- story heads of all a post's recipients are found from the source's posts, THREAD_HEADS, by
-- `alerts_by_post`); `alerts_replies` held every alert although only replies have a
-- reply_to_alert. A partial index still serves `reply_to_alert = ?`, the owed-translation
-- query and the ON DELETE SET NULL lookup.
DROP INDEX IF EXISTS alerts_thread;
DROP INDEX IF EXISTS alerts_replies;
CREATE INDEX alerts_replies ON alerts (reply_to_alert) WHERE reply_to_alert IS NOT NULL;
