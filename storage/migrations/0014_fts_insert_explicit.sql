-- New posts are indexed by the statement that stores them, not by a trigger. FTS5 keeps the
-- terms of a transaction's inserts in memory and writes them out as one segment at commit, but
-- a statement that opens a statement journal (an INSERT into `posts`, whose post_order trigger
-- makes it one) first flushes whatever FTS5 holds: with the index written by a trigger, every
-- post of a 500-post import transaction became its own segment, to be merged again later
-- (bench/import_search.py: a bare table + FTS5 went from ~27,000 to ~9,000 inserts/s with the
-- trigger alone). The repositories insert into posts_fts after the posts (storage/posts.py,
-- storage/ingest.py); edits, OCR text and deletions still follow `posts` through the triggers.
DROP TRIGGER posts_fts_ai;
