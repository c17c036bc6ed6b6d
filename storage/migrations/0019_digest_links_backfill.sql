-- Alerts folded into a digest before 0018 said so only in last_error ("delivered in digest
-- alert N"): link them to their digest, and to its message if it was sent. Without this a
-- story digested before the upgrade had no message for its updates to reply to, and an
-- update of a story in a digest still waiting to go out went out before the digest.
UPDATE alerts SET digest_alert = CAST(substr(last_error, 27) AS INTEGER)
WHERE digest_alert IS NULL AND kind <> 'digest'
  AND last_error GLOB 'delivered in digest alert [0-9]*'
  AND NOT substr(last_error, 27) GLOB '*[^0-9]*';
UPDATE alerts SET tg_message_id = (
    SELECT d.tg_message_id FROM alerts d WHERE d.id = alerts.digest_alert AND d.status = 'sent')
WHERE digest_alert IS NOT NULL AND tg_message_id IS NULL;
