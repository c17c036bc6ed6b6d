-- A tsvector holds at most 1 MB: a post of a few hundred kilobytes of distinct words (a law's
-- text in a feed) failed its own insert ('string is too long for tsvector'), so PostgreSQL
-- refused a post SQLite stores. Texts up to 128 kB are indexed as before, with the words'
-- positions (at most 5.5 bytes of vector per byte of text: 720 kB). A longer one is indexed
-- 64 kB at a time without positions, each piece's distinct words merged into the vector until
-- it is full, and marked `no_positions`: a phrase matches such a post by its words anywhere in
-- it (as FTS5 does everywhere, detail=column), which search's callers check against the text;
-- a GIN index of the marked rows alone keeps that branch of a phrase query from reading the
-- others. The words past a full vector (over 50,000 distinct ones) are not found by search;
-- the post is stored, matched and alerted whole.
ALTER TABLE post_search ADD COLUMN no_positions BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX post_search_norm_unplaced ON post_search USING gin (fts_norm) WHERE no_positions;
CREATE INDEX post_search_lemmas_unplaced ON post_search USING gin (fts_lemmas)
    WHERE no_positions;
CREATE FUNCTION post_search_text(a TEXT, b TEXT) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    words TEXT;
    piece TEXT;
    v tsvector := ''::tsvector;
    pos INT := 1;
    stop INT;
    total INT;
BEGIN
    IF octet_length(a) + octet_length(b) <= 131072 THEN
        RETURN post_search_words(a) || post_search_words(b);
    END IF;
    words := regexp_replace(a || ' ' || b, '[^[:alnum:]]+', ' ', 'g');
    total := length(words);
    WHILE pos <= total LOOP
        -- Cut at a space, so no word is split between two pieces.
        stop := pos + 32768;
        IF stop <= total THEN
            stop := stop + COALESCE(NULLIF(strpos(substr(words, stop, 4096), ' '), 0), 1) - 1;
        END IF;
        piece := substr(words, pos, stop - pos);
        pos := stop;
        BEGIN
            v := v || strip(to_tsvector('simple', piece));
        EXCEPTION WHEN program_limit_exceeded THEN
            EXIT;
        END;
    END LOOP;
    RETURN v;
END
$$;
CREATE OR REPLACE FUNCTION post_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO post_search (post_id, fts_norm, fts_lemmas, no_positions)
    VALUES (NEW.id,
            post_search_text(NEW.norm, NEW.ocr_norm),
            post_search_text(NEW.lemmas, NEW.ocr_lemmas),
            octet_length(NEW.norm) + octet_length(NEW.ocr_norm) > 131072
            OR octet_length(NEW.lemmas) + octet_length(NEW.ocr_lemmas) > 131072)
    ON CONFLICT (post_id) DO UPDATE
        SET fts_norm = EXCLUDED.fts_norm, fts_lemmas = EXCLUDED.fts_lemmas,
            no_positions = EXCLUDED.no_positions;
    RETURN NULL;
END
$$;
