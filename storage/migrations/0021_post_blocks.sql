-- Newest-first search reads a term's FTS5 hits block by block (32 ids), blocks newest first,
-- and stops at the first block whose newest post is older than the page's last. post_order
-- (migration 0006) kept, per block, the newest date of every post up to it: a bound that
-- holds only while ids follow dates. A channel followed live for weeks and then its history
-- imported puts old dates on the highest ids, and its bound stayed at the live posts' dates
-- over the whole import: pages of frequent words walked 4,000 hits, then handed over to the
-- plan by date (bench/import_search.py --backfill --quick: p50 338 ms a page against 5 ms
-- now). Each block's own oldest and newest dates instead, with an index that lists the blocks
-- newest first, hold whatever order posts are stored in. Dates never change; deleting a post
-- leaves its block's bounds as they are (still bounds).
DROP TRIGGER posts_order_ai;
DROP TABLE post_order;
CREATE TABLE post_blocks (
    block    INTEGER PRIMARY KEY,          -- id >> 5
    min_date INTEGER NOT NULL,             -- <= the date of every post in the block
    max_date INTEGER NOT NULL              -- >= the date of every post in the block
);
INSERT INTO post_blocks (block, min_date, max_date)
    SELECT id >> 5, min(date), max(date) FROM posts GROUP BY id >> 5;
CREATE INDEX post_blocks_newest ON post_blocks (max_date);
CREATE TRIGGER posts_blocks_ai AFTER INSERT ON posts BEGIN
    INSERT INTO post_blocks (block, min_date, max_date) VALUES (new.id >> 5, new.date, new.date)
    ON CONFLICT (block) DO UPDATE
        SET min_date = min(min_date, excluded.min_date), max_date = max(max_date, excluded.max_date)
        WHERE excluded.min_date < min_date OR excluded.max_date > max_date;
END;
