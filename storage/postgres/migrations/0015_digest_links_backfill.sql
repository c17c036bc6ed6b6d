-- SQLite's migration 0019 on PostgreSQL: alerts folded into a digest before 0014 link to it
-- (and to its message, once sent), read from their last_error.
UPDATE alerts SET digest_alert = CAST(substr(last_error, 27) AS BIGINT)
WHERE digest_alert IS NULL AND kind <> 'digest'
  AND last_error ~ '^delivered in digest alert [0-9]{1,18}$';
UPDATE alerts a SET tg_message_id = d.tg_message_id FROM alerts d
WHERE d.id = a.digest_alert AND d.status = 'sent' AND a.tg_message_id IS NULL;
