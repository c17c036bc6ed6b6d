-- SQLite's migration 0010 on PostgreSQL: a person's language follows their Telegram app until
-- they choose one with /lang; someone whose language differs from the old default chose it.
ALTER TABLE people ADD COLUMN lang_chosen BIGINT NOT NULL DEFAULT 0;
UPDATE people SET lang_chosen = 1 WHERE lang != 'uk';
