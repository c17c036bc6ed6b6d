-- The FTS index keeps which column a term is in, not where in it (`detail = column`), and no
-- per-post column sizes (`columnsize = 0`: only bm25 reads them, and search orders by date).
-- Search never needed the positions: a rule's phrase is verified on the stored keys
-- (bot/matching/verdict.py), so FTS5 only pre-filters, and a phrase or a term of several
-- tokens is now asked as its tokens ANDed (storage/search.py `to_fts`), a superset.
-- Measured (scratch script, 3,000 posts one per commit, FTS5 alone): a post's insert and commit
-- p50 89-98 -> 82-84 us, p99 3.5-3.7 -> 1.8-1.9 ms (the merges that every 16th commit pays
-- move half the bytes). bench/import_search.py --quick, 100,000 posts: 392 -> 373 MB,
-- built at 6,284 -> 6,983 posts/s, search p95 1.16 -> 0.98 ms. The index is rebuilt here.
DROP TRIGGER posts_fts_ad;
DROP TRIGGER posts_fts_au;
DROP TABLE posts_fts;
CREATE VIRTUAL TABLE posts_fts USING fts5(
    norm, lemmas, ocr_norm, ocr_lemmas,
    content = 'posts', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '4',
    detail = column,
    columnsize = 0
);
INSERT INTO posts_fts (posts_fts) VALUES ('rebuild');
CREATE TRIGGER posts_fts_ad AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, norm, lemmas, ocr_norm, ocr_lemmas)
    VALUES ('delete', old.id, old.norm, old.lemmas, old.ocr_norm, old.ocr_lemmas);
END;
CREATE TRIGGER posts_fts_au AFTER UPDATE OF norm, lemmas, ocr_norm, ocr_lemmas ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, norm, lemmas, ocr_norm, ocr_lemmas)
    VALUES ('delete', old.id, old.norm, old.lemmas, old.ocr_norm, old.ocr_lemmas);
    INSERT INTO posts_fts (rowid, norm, lemmas, ocr_norm, ocr_lemmas)
    VALUES (new.id, new.norm, new.lemmas, new.ocr_norm, new.ocr_lemmas);
END;
