-- A prefix index for 4-character prefixes. A prefix query without one makes FTS5 merge the
-- doclist of every matching term over the whole archive (10-20 ms for `енерго*` on 1M posts,
-- whatever the page needs); with it the first four characters are one doclist that a newest-
-- first search can seek into (under 1 ms). Longer prefixes are narrowed to four characters
-- (a superset) and every hit is checked by the matcher; about 6% more disk.
DROP TRIGGER posts_fts_ai;
DROP TRIGGER posts_fts_ad;
DROP TRIGGER posts_fts_au;
DROP TABLE posts_fts;
CREATE VIRTUAL TABLE posts_fts USING fts5(
    norm, lemmas,
    content = 'posts', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '4'
);
INSERT INTO posts_fts (posts_fts) VALUES ('rebuild');
CREATE TRIGGER posts_fts_ai AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, norm, lemmas) VALUES (new.id, new.norm, new.lemmas);
END;
CREATE TRIGGER posts_fts_ad AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, norm, lemmas) VALUES ('delete', old.id, old.norm, old.lemmas);
END;
CREATE TRIGGER posts_fts_au AFTER UPDATE OF norm, lemmas ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, norm, lemmas) VALUES ('delete', old.id, old.norm, old.lemmas);
    INSERT INTO posts_fts (rowid, norm, lemmas) VALUES (new.id, new.norm, new.lemmas);
END;
