-- Search without weights: a weighted tsquery (norm A, lemmas B in one vector) made the GIN
-- index recheck every candidate's vector in the heap, so a query of common words read
-- thousands of rows (bench/postgres.py: 3-word queries 31x SQLite at p95 on 100,000 posts).
-- One vector per kind of text instead, each with its own GIN index: the caption's words and
-- the words read from its pictures (norm, ocr_norm) in one, their lemmas in the other.
CREATE FUNCTION post_search_words(t TEXT) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_tsvector('simple', regexp_replace(t, '[^[:alnum:]]+', ' ', 'g'))
$$;
ALTER TABLE post_search ADD COLUMN fts_norm tsvector, ADD COLUMN fts_lemmas tsvector;
CREATE OR REPLACE FUNCTION post_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO post_search (post_id, fts, fts_norm, fts_lemmas)
    VALUES (NEW.id, '',
            post_search_words(NEW.norm) || post_search_words(NEW.ocr_norm),
            post_search_words(NEW.lemmas) || post_search_words(NEW.ocr_lemmas))
    ON CONFLICT (post_id) DO UPDATE
        SET fts_norm = EXCLUDED.fts_norm, fts_lemmas = EXCLUDED.fts_lemmas;
    RETURN NULL;
END
$$;
UPDATE post_search s
    SET fts_norm = post_search_words(p.norm) || post_search_words(p.ocr_norm),
        fts_lemmas = post_search_words(p.lemmas) || post_search_words(p.ocr_lemmas)
    FROM posts p WHERE p.id = s.post_id;
DROP INDEX post_search_fts;
ALTER TABLE post_search DROP COLUMN fts;
CREATE OR REPLACE FUNCTION post_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO post_search (post_id, fts_norm, fts_lemmas)
    VALUES (NEW.id,
            post_search_words(NEW.norm) || post_search_words(NEW.ocr_norm),
            post_search_words(NEW.lemmas) || post_search_words(NEW.ocr_lemmas))
    ON CONFLICT (post_id) DO UPDATE
        SET fts_norm = EXCLUDED.fts_norm, fts_lemmas = EXCLUDED.fts_lemmas;
    RETURN NULL;
END
$$;
ALTER TABLE post_search ALTER COLUMN fts_norm SET NOT NULL, ALTER COLUMN fts_lemmas SET NOT NULL;
CREATE INDEX post_search_norm ON post_search USING gin (fts_norm);
CREATE INDEX post_search_lemmas ON post_search USING gin (fts_lemmas);
