-- SQLite's migration 0028 on PostgreSQL.
-- Which stored posts forward a given post: an original that arrives after a forward of it
-- must not alert again the people the forward alerted. Only forwards carry a link.
CREATE INDEX posts_by_forward_link ON posts (forward_link) WHERE forward_link IS NOT NULL;
