-- Newest-first search walks a term's FTS5 hits by descending id (what FTS5 does fastest) and
-- needs to know when no post with a lower id can be newer than the page it has: ids follow
-- dates only roughly (an archive imported late has high ids and old dates). This table keeps,
-- per block of 32 ids, an upper bound of the date of every post with an id in that block or any
-- block before it. Dates never change and ids only grow, so an insert touches the last row.
-- Deleting a post leaves the bound as it is: still an upper bound, just a looser one.
CREATE TABLE post_order (
    block    INTEGER PRIMARY KEY,          -- id >> 5
    max_date INTEGER NOT NULL              -- >= the date of every post with id < (block + 1) << 5
);
INSERT INTO post_order (block, max_date)
    SELECT block, max(newest) OVER (ORDER BY block)
    FROM (SELECT id >> 5 AS block, max(date) AS newest FROM posts GROUP BY id >> 5);
CREATE TRIGGER posts_order_ai AFTER INSERT ON posts BEGIN
    INSERT OR IGNORE INTO post_order (block, max_date) VALUES (
        new.id >> 5,
        coalesce(
            (SELECT max_date FROM post_order WHERE block < new.id >> 5
             ORDER BY block DESC LIMIT 1),
            new.date
        )
    );
    UPDATE post_order SET max_date = new.date
        WHERE block >= new.id >> 5 AND max_date < new.date;
END;
