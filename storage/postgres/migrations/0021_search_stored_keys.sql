-- SQLite's migrations 0009 and 0012 on PostgreSQL: search decides a post from its stored keys
-- (stem marks kept, word by word with the sentence breaks) from the post id each mark names,
-- and re-reads the older posts' text. PostgreSQL had no marks, so search re-read every
-- candidate: a page whose hit was a 1 MB post took a second and a half there, 10 ms on SQLite.
-- Every post stored from here on has its keys in that form. The posts already stored may be
-- older than it, so they are re-read as before; a database without posts gets no mark (every
-- post is then trusted), and `wirewatch migrate-db` brings the SQLite archive's own marks
-- with its posts.
INSERT INTO state (key, value, at)
SELECT marks.key, CAST((SELECT max(id) + 1 FROM posts) AS TEXT),
       CAST(extract(epoch FROM now()) AS BIGINT)
FROM (VALUES ('exact_keys_from'), ('word_keys_from')) AS marks (key)
WHERE EXISTS (SELECT 1 FROM posts)
ON CONFLICT (key) DO NOTHING;
