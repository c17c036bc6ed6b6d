-- A person's language (bot interface, drafts, digests) follows their Telegram app's language
-- until they choose one with /lang; `lang_chosen` says which of the two `lang` is. Someone whose
-- language differs from the old default 'uk' must have chosen it with /lang: kept as chosen.
ALTER TABLE people ADD COLUMN lang_chosen INTEGER NOT NULL DEFAULT 0;
UPDATE people SET lang_chosen = 1 WHERE lang != 'uk';
