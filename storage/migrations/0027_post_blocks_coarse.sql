-- A block's date bounds (migration 0021) moved with nearly every post: a live post is the
-- newest, so its block's max_date rose, and the row and its post_blocks_newest entry were
-- written again, two of the ~20 pages a quiet post's commit writes to the log (each page one
-- frame: two write calls, ~5 µs here). Bounds rounded out to five minutes are still bounds
-- (the walk in storage/search.py reads them as nothing more), and they move only when a post
-- falls outside its block's five-minute windows: a channel posting every 20 s moves them one
-- post in fifteen. Measured (scratch script, 1,500 live posts one per commit, WAL size before
-- and after each): a quiet post's commit 20.0 -> 18.1 frames. The walk may now read the hits
-- of blocks up to five minutes older than a page's last post before it stops.
-- Existing rows keep their exact bounds, which are bounds too.
DROP TRIGGER posts_blocks_ai;
CREATE TRIGGER posts_blocks_ai AFTER INSERT ON posts BEGIN
    INSERT INTO post_blocks (block, min_date, max_date)
    VALUES (new.id >> 5, new.date - new.date % 300, new.date - new.date % 300 + 299)
    ON CONFLICT (block) DO UPDATE
        SET min_date = min(min_date, excluded.min_date), max_date = max(max_date, excluded.max_date)
        WHERE excluded.min_date < min_date OR excluded.max_date > max_date;
END;
