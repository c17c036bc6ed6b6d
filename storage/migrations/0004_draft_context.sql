-- What drafts need to tell the story.
--
-- A source's grammatical gender and number (m, f, n, pl): "Повітряні сили повідомили",
-- "Міноборони повідомило". The old `gender` column's CHECK allows m and f only, and SQLite
-- relaxes a CHECK only by rebuilding the table, which with foreign keys on would cascade-delete
-- every post. `grammar` takes over; `gender` is still written for m/f but no longer read.
ALTER TABLE sources ADD COLUMN grammar TEXT CHECK (grammar IN ('m', 'f', 'n', 'pl'));
UPDATE sources SET grammar = gender;
-- A short role for second references and background lines ("секретар РНБО", "NSDC secretary").
ALTER TABLE sources ADD COLUMN short_role_uk TEXT;
ALTER TABLE sources ADD COLUMN short_role_en TEXT;
ALTER TABLE sources ADD COLUMN short_role_ru TEXT;
-- Where the rule that fired matched (JSON [[start, end, term], ...] into the post's text at that
-- version): the alert, "Full text", /post and `wirewatch draft` all quote the same sentence.
ALTER TABLE alerts ADD COLUMN spans TEXT;
-- Threads: a person's latest alert for one rule, found per source through the post.
CREATE INDEX alerts_thread ON alerts (person_id, rule_id, kind);
