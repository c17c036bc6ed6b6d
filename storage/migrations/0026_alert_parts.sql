-- How many of a pending alert's messages (its payload's, in order) Telegram has confirmed, the
-- first of them in tg_message_id: a restart in the middle of a long alert sends the rest,
-- replying to that first message, instead of the whole alert again. 0: none (a lead photo
-- alone, recorded in tg_message_id before this migration, counts none of them).
ALTER TABLE alerts ADD COLUMN parts_sent INTEGER NOT NULL DEFAULT 0;
